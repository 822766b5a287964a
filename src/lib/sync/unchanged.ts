/**
 * A sync that changes nothing, answered from what the last such sync found (issue 21: a no-op
 * `ona ssh-sync` within 3x a bare node start, on the `~/.ssh/config` that ssh reads).
 *
 * After the listing, a sync's outcome (the block, the config tree's findings, what `ssh -G` answered)
 * depends only on:
 * - the listing, the settings (as the entry options they give), ona's build and the paths and platform;
 * - the managed file's text, read once before the listing; it is used only while the file's identity is
 *   what it was at that read;
 * - the rest of the config tree ssh reads, as the probes of the last full read describe it (tree-probes.ts:
 *   every file, every directory an Include glob listed, every path a glob tried, each `${NAME}` value and
 *   `~user` home the lines use);
 * - the ssh binary, the home and the local user (as for verify-cache.ts).
 * When all of these are what they were at the last sync that wrote nothing, verified every alias and read
 * no file changed just before (tree-probes.ts, RACY_MS), the outcome is that sync's, and nothing is parsed,
 * rendered, read again or run. Anything else takes the full way. Key registration runs either way (it
 * depends on the API, not on these).
 */
import {createHash} from 'node:crypto'
import {readFileSync, statSync} from 'node:fs'
import {open} from 'node:fs/promises'
import path from 'node:path'
import {fileURLToPath} from 'node:url'

import type {Warning} from '../errors.js'
import {readScopedEntry, writeScopedEntry} from '../fs/state-file.js'
import {identityOf, probesHold, type TreeProbe} from '../ssh-config/tree-probes.js'
import type {SyncResult} from './sync.js'

const VERSION = 1

/** The managed file as a sync starts from it. */
export interface ManagedRead {
  /** Its real path (symlinks resolved, as the writer resolves them). */
  realPath: string
  /** latin1, as the writer handles it; '' when the file does not exist. */
  text: string
  /** Its identity (tree-probes.ts) at the read; null when it does not exist or could not be read. */
  id: string | null
}

/** Reads the managed file once, with the identity of what was read (fstat of the same handle). */
export async function readManaged(realPath: string): Promise<ManagedRead> {
  let handle: Awaited<ReturnType<typeof open>> | undefined
  try {
    handle = await open(realPath, 'r')
    const id = identityOf(await handle.stat({bigint: true}))
    return {realPath, text: (await handle.readFile()).toString('latin1'), id}
  } catch {
    return {realPath, text: '', id: null}
  } finally {
    await handle?.close().catch(() => {})
  }
}

/**
 * What a sync found after its key registrations: everything of its result that the inputs above decide.
 * `warnings` are the block's, the tree's and ssh -G's, in the result's order; the plan's come apart (they
 * come before the key registrations' in the result).
 */
export type Outcome = Pick<
  SyncResult,
  'realPath' | 'changed' | 'written' | 'environments' | 'added' | 'updated' | 'removed' | 'unchanged' | 'aliased' | 'kept' | 'pending' | 'warnings' | 'verified' | 'verifiedFromCache' | 'readBySsh' | 'readByHomeConfig' | 'sshUserConfig' | 'includeLine' | 'includeAdded' | 'staleBlocks' | 'foreignBlocks' | 'backup'
> & {planWarnings: Warning[]; unsure: string[]}

interface Entry {
  key: string
  probes: TreeProbe[]
  outcome: Outcome
}

const sha = (text: string) => createHash('sha256').update(text).digest('hex')

/**
 * This build of ona: a rebuilt or upgraded ona never reuses an older one's outcome. scripts/bundle.mjs
 * writes dist/build-id, a hash of every bundle it made (npm gives every installed file the same mtime,
 * so a file's identity would not tell two versions apart); without it (running from the sources), the
 * identity of this file.
 */
function buildIdentity(): string {
  try {
    return `build ${readFileSync(new URL('../../build-id', import.meta.url), 'utf8').trim()}`
  } catch {
    try {
      const file = fileURLToPath(import.meta.url)
      const s = statSync(file, {bigint: true})
      return `${file}:${s.size}:${s.mtimeNs}`
    } catch {
      return ''
    }
  }
}

export function stateFile(stateDir: string): string {
  return path.join(stateDir, 'sync-unchanged.json')
}

/** One entry per managed file and origin (16 kept). */
export const scopeOf = (realPath: string, origin: string | undefined) => `${realPath}\u0000${origin ?? ''}`

/** The key of every input but the tree (which the probes stand for); `parts` are the caller's, JSON-able. */
export function unchangedKey(before: ManagedRead, listing: unknown, parts: Record<string, unknown>): string {
  // Versions are BigInts (statusVersion): written as text with a suffix no number has.
  const listed = sha(JSON.stringify(listing, (_key, value: unknown) => (typeof value === 'bigint' ? `${value}n` : value)))
  return sha(JSON.stringify([VERSION, buildIdentity(), process.execPath, before.realPath, sha(before.text), listed, parts]))
}

/**
 * The outcome of the last sync with this key, when the managed file is still as `before` read it and every
 * probe of the tree holds; undefined otherwise (then the sync takes the full way).
 */
export async function recallUnchanged(
  stateDir: string,
  scope: string,
  key: string,
  options: {managedFile: string; before: ManagedRead; userHome?: (name: string) => string | undefined; env?: NodeJS.ProcessEnv},
): Promise<Outcome | undefined> {
  if (options.before.id === null) return undefined
  const entry = await readScopedEntry<Entry>({file: stateFile(stateDir), version: VERSION}, scope)
  if (!entry || entry.key !== key || !Array.isArray(entry.probes) || typeof entry.outcome !== 'object' || entry.outcome === null) return undefined
  try {
    // The file the block is in: the same real file, resolved as the writer resolves it, not written since it
    // was read (its text is in the key).
    const {resolveTarget} = await import('../fs/safe-write.js')
    if ((await resolveTarget(options.managedFile)).realPath !== options.before.realPath) return undefined
    if (identityOf(statSync(options.before.realPath, {bigint: true})) !== options.before.id) return undefined
  } catch {
    return undefined
  }
  if (!probesHold(entry.probes, options.userHome, options.env)) return undefined
  return entry.outcome
}

/** Keeps a sync's outcome for the next one; only a sync that wrote nothing and verified all it had to calls it. */
export async function rememberUnchanged(stateDir: string, scope: string, key: string, probes: TreeProbe[], outcome: Outcome): Promise<void> {
  await writeScopedEntry<Entry>({file: stateFile(stateDir), version: VERSION}, scope, () => ({key, probes, outcome}))
}
