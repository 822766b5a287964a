/**
 * A small JSON file in the state dir that keeps one entry per scope (an API origin, a managed file), at most
 * `max`, the oldest going first. Everything ona keeps this way only saves time (a subject id, what `ssh -G`
 * answered, what a sync that changed nothing found), so a file that is missing, damaged or of another
 * version reads as empty, and a write that fails is dropped. A write is atomic (a temporary file renamed
 * over it, 0600) and, under `sudo -E`, owned by the home's owner like the state dir.
 */
import {rename, rm, writeFile} from 'node:fs/promises'
import path from 'node:path'
import {readSmallFile} from './small-file.js'

export interface ScopedStateFile {
  file: string
  version: number
  /** Scopes kept at once (default 16). */
  max?: number
}

/** An entry as stored: the caller's fields and when it was written. */
export type Stamped<E> = E & {at: number}

interface Stored<E> {
  version: number
  entries: Record<string, Stamped<E>>
}

/** Every entry of the file (none when it is missing, damaged or of another version). */
export async function readScopedState<E>(store: ScopedStateFile): Promise<Record<string, Stamped<E>>> {
  try {
    const data = JSON.parse(await readSmallFile(store.file, 'utf8')) as Stored<E>
    if (data && data.version === store.version && data.entries && typeof data.entries === 'object' && !Array.isArray(data.entries)) return data.entries
  } catch {
    // Missing or damaged: start over.
  }
  return {}
}

/** The entry of one scope, if any. */
export async function readScopedEntry<E>(store: ScopedStateFile, scope: string): Promise<Stamped<E> | undefined> {
  const entries = await readScopedState<E>(store)
  return Object.prototype.hasOwnProperty.call(entries, scope) ? entries[scope] : undefined
}

/**
 * Sets (an entry) or forgets (undefined) one scope, keeping the others as the file holds them now. `update`
 * gets the scope's current entry, so a caller can merge with it.
 */
export async function writeScopedEntry<E>(store: ScopedStateFile, scope: string, update: (current: Stamped<E> | undefined) => E | undefined): Promise<void> {
  const entries = await readScopedState<E>(store)
  const current = Object.prototype.hasOwnProperty.call(entries, scope) ? entries[scope] : undefined
  const next = update(current)
  if (next === undefined) {
    if (current === undefined) return
    delete entries[scope]
  } else entries[scope] = {...next, at: Date.now()}
  const kept = Object.entries(entries).sort(([, a], [, b]) => b.at - a.at).slice(0, store.max ?? 16)
  await writeStateFile(store.file, {version: store.version, entries: Object.fromEntries(kept)})
}

async function writeStateFile(file: string, data: unknown): Promise<void> {
  const temporary = `${file}.${process.pid}.tmp`
  try {
    // Under `sudo -E` the state dir is in a home root does not own: what it creates there is that home's owner's.
    const {mkdirOwned, ownLikeDirectory} = await import('./safe-write.js')
    await mkdirOwned(path.dirname(file))
    await writeFile(temporary, JSON.stringify(data), {mode: 0o600})
    await ownLikeDirectory(temporary)
    await rename(temporary, file)
  } catch {
    await rm(temporary, {force: true}).catch(() => {})
  }
}
