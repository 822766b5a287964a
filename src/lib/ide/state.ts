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
import {mkdir, readFile, rename, rm, writeFile} from 'node:fs/promises'
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
  let raw: unknown
  try {
    raw = JSON.parse(await readFile(ideStatePath(ctx), 'utf8'))
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

/** Writes the state atomically (mode 0600, in a 0700 directory). */
export async function writeIdeState(ctx: Pick<Context, 'paths'>, state: IdeState): Promise<void> {
  const file = ideStatePath(ctx)
  const temporary = `${file}.${process.pid}.tmp`
  try {
    await mkdir(path.dirname(file), {recursive: true, mode: 0o700})
    await writeFile(temporary, `${JSON.stringify({version: 1, ...state}, null, 2)}\n`, {mode: 0o600})
    await rename(temporary, file)
  } catch (error) {
    await rm(temporary, {force: true})
    throw new OnaError('ERR_IDE_STATE', `cannot write ${file}: ${(error as Error).message}`, {details: {file}})
  }
}

/** Whether ona has set anything up in that settings file. */
export function isSetUp(state: IdeState, file: string): boolean {
  const entry = state.files[file]
  return entry !== undefined && (entry.remotePlatform.length > 0 || entry.connectTimeout !== undefined)
}
