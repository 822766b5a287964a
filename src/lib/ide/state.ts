/**
 * What ona added to each editor's settings file, kept in ona's state directory (`ide-settings.json`), so
 * `ona ide setup --remove` takes out exactly that and never a value the user set; and whether the one-time
 * "run `ona ide setup`" note was shown. Light on purpose (no jsonc-parser): `ona ssh-sync` reads it.
 *
 * ```json
 * {"version": 1, "hintShown": true,
 *  "files": {"/home/me/.config/Code/User/settings.json":
 *    {"remotePlatform": ["*.gitpod.environment", "*.gitpod.remote"], "remotePlatformCreated": true,
 *     "connectTimeout": {"value": 660, "previous": 15}}}}
 * ```
 */
import {readFile} from 'node:fs/promises'
import path from 'node:path'

import type {Context} from '../context.js'
import {OnaError} from '../errors.js'

/** What ona added to one settings file. */
export interface OnaAdditions {
  /** The `remote.SSH.remotePlatform` keys ona added (each set to "linux"). */
  remotePlatform: string[]
  /** Whether ona created the `remote.SSH.remotePlatform` object itself (then it goes when it is empty again). */
  remotePlatformCreated?: boolean
  /** The `remote.SSH.connectTimeout` ona wrote, and the user's value before it (absent: there was none). */
  connectTimeout?: {value: number; previous?: number}
}

export interface IdeState {
  hintShown?: boolean
  files: Record<string, OnaAdditions>
}

export function ideStatePath(ctx: Pick<Context, 'paths'>): string {
  return path.join(ctx.paths.stateDir, 'ide-settings.json')
}

/** The state; a missing or unreadable file is an empty state (it only ever narrows what --remove takes out). */
export async function readIdeState(ctx: Pick<Context, 'paths'>): Promise<IdeState> {
  try {
    return parseIdeState(await readFile(ideStatePath(ctx), 'utf8'))
  } catch {
    return {files: {}}
  }
}

/** Pure: the state in a file's text; anything unreadable is left out. */
export function parseIdeState(text: string): IdeState {
  let raw: unknown
  try {
    raw = JSON.parse(text)
  } catch {
    return {files: {}}
  }
  const state: IdeState = {files: {}}
  if (!raw || typeof raw !== 'object') return state
  const object = raw as {hintShown?: unknown; files?: unknown}
  if (object.hintShown === true) state.hintShown = true
  if (object.files && typeof object.files === 'object') {
    for (const [file, value] of Object.entries(object.files as Record<string, unknown>)) {
      const entry = (value ?? {}) as {remotePlatform?: unknown; remotePlatformCreated?: unknown; connectTimeout?: unknown}
      const additions: OnaAdditions = {remotePlatform: Array.isArray(entry.remotePlatform) ? entry.remotePlatform.filter((k): k is string => typeof k === 'string') : []}
      if (entry.remotePlatformCreated === true) additions.remotePlatformCreated = true
      const timeout = entry.connectTimeout as {value?: unknown; previous?: unknown} | undefined
      if (timeout && typeof timeout.value === 'number') {
        additions.connectTimeout = {value: timeout.value, ...(typeof timeout.previous === 'number' ? {previous: timeout.previous} : {})}
      }
      state.files[file] = additions
    }
  }
  return state
}

/**
 * Changes the state as it is on disk now, under safe-write's lock (atomic, mode 0600), so two `ona`
 * processes recording at once (two `ona ide setup`, or one and `ona ssh-sync`'s note) both keep theirs.
 */
export async function updateIdeState(ctx: Pick<Context, 'paths'>, change: (state: IdeState) => void): Promise<IdeState> {
  const file = ideStatePath(ctx)
  let result: IdeState = {files: {}}
  const {updateFile} = await import('../fs/safe-write.js')
  try {
    // safe-write hands text over as latin1 (one char per byte); the state is UTF-8 JSON (paths may be any script).
    await updateFile(file, {
      backup: false,
      transform: (text) => {
        result = parseIdeState(Buffer.from(text, 'latin1').toString('utf8'))
        change(result)
        return Buffer.from(`${JSON.stringify({version: 1, ...result}, null, 2)}\n`, 'utf8').toString('latin1')
      },
    })
  } catch (error) {
    throw new OnaError('ERR_IDE_STATE', `cannot write ${file}: ${(error as Error).message}`, {cause: error, details: {file}})
  }
  return result
}

/**
 * Records what ona added to `settingsFile` (merged with what another `ona` recorded meanwhile: the union of
 * the remotePlatform keys, the newer connectTimeout), or with `undefined` forgets it (after --remove).
 */
export function recordAdditions(ctx: Pick<Context, 'paths'>, settingsFile: string, additions: OnaAdditions | undefined): Promise<IdeState> {
  return updateIdeState(ctx, (state) => {
    if (additions === undefined) {
      delete state.files[settingsFile]
      return
    }
    const current = state.files[settingsFile]
    const merged: OnaAdditions = {remotePlatform: [...new Set([...(current?.remotePlatform ?? []), ...additions.remotePlatform])]}
    if (additions.remotePlatformCreated || current?.remotePlatformCreated) merged.remotePlatformCreated = true
    const timeout = additions.connectTimeout ?? current?.connectTimeout
    if (timeout) merged.connectTimeout = timeout
    if (merged.remotePlatform.length > 0 || merged.connectTimeout) state.files[settingsFile] = merged
    else delete state.files[settingsFile]
  })
}

/** Whether ona has set anything up in that settings file. */
export function isSetUp(state: IdeState, file: string): boolean {
  const entry = state.files[file]
  return entry !== undefined && (entry.remotePlatform.length > 0 || entry.connectTimeout !== undefined)
}
