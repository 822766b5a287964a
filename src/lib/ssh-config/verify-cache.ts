/**
 * What the last `ssh -G` verification found, kept in the state dir, so that a sync that changes nothing
 * starts no ssh process (issue 21: a no-op sync ran `ssh -G` twice per environment, 18x a bare node start).
 *
 * A result is reused for an alias only when everything ssh -G's answer depends on is as it was:
 * - every file of the config tree ssh reads (path, real path, device, inode, size, mtime; a file added to
 *   an Include glob changes the list), and the managed file's text outside ona's block;
 * - the alias's own entry in the block (so an address change re-verifies that environment only);
 * - the ssh binary (its real path, size and mtime), the home, the `-F` file and the local user;
 * - what the lines take from outside the files: each `${NAME}`'s value and each `~user/`'s home.
 * A tree with a `Match` that depends on the moment ssh runs beyond the local user (`localnetwork`, `exec`,
 * `tagged`) is never cached. A run that was cut short (no ssh, out of time) is not saved.
 */
import {createHash} from 'node:crypto'
import {statSync} from 'node:fs'
import {realpath, stat} from 'node:fs/promises'
import path from 'node:path'

import type {Warning} from '../errors.js'
import {readScopedEntry, writeScopedEntry, type Stamped} from '../fs/state-file.js'
import {findBlock} from './block.js'
import type {ConfigTree} from './tree.js'
import {outsideReferences} from './tree-probes.js'

const VERSION = 1

interface CacheEntry {
  key: string
  /** By alias: the hash of its entry, and what ssh -G found for it (no warnings: as ona wrote). */
  aliases: Record<string, {entry: string; warnings: Warning[]}>
}

export interface FingerprintInput {
  tree: ConfigTree
  managedRealPath: string
  /** The managed file's text as on disk (the block in it is taken out; each alias's entry is hashed on its own). */
  managedText: string
  ssh: string
  env: NodeJS.ProcessEnv
  home: string
  configFile?: string
  user: string
  /** The password database, for `~user/` in the lines' values. */
  userHome?: (name: string) => string | undefined
}

const sha = (text: string) => createHash('sha256').update(text).digest('hex').slice(0, 32)

function isFile(file: string): boolean {
  try {
    return statSync(file, {throwIfNoEntry: false})?.isFile() === true
  } catch {
    return false
  }
}

/** Where `command` is, as a spawn would find it on PATH; undefined when it is not there. */
function locate(command: string, env: NodeJS.ProcessEnv): string | undefined {
  const windows = process.platform === 'win32'
  const candidates = command.includes('/') || (windows && command.includes('\\'))
    ? [command]
    : (env.PATH ?? env.Path ?? '').split(path.delimiter).filter((d) => d !== '').flatMap((dir) => (windows ? ['.exe', ''].map((ext) => path.join(dir, command + ext)) : [path.join(dir, command)]))
  // One stat per PATH entry, synchronously: a promise each cost more than the stat (about 10 per sync).
  for (const candidate of candidates) {
    if (isFile(candidate)) return candidate
  }
  return undefined
}

/** The ssh a spawn of `command` runs, as [real path, size, mtime]; undefined when there is none. */
export async function sshIdentity(command: string, env: NodeJS.ProcessEnv): Promise<[string, string, number, number] | undefined> {
  const ssh = locate(command, env)
  if (!ssh) return undefined
  try {
    const real = await realpath(ssh)
    const s = await stat(real)
    return ['ssh', real, s.size, s.mtimeMs]
  } catch {
    return undefined
  }
}

/** Criteria of `Match` whose answer can change while no file does. */
export const VOLATILE_MATCH = /^!?(?:exec|localnetwork|tagged)$/i

/**
 * The key of everything but the aliases' own entries; undefined when the tree cannot be cached (a volatile
 * Match, no ssh found, a file that vanished meanwhile).
 */
export async function treeFingerprint(input: FingerprintInput): Promise<string | undefined> {
  if (input.tree.lines.some((l) => l.directive?.keyword === 'match' && l.directive.args.some((a) => VOLATILE_MATCH.test(a)))) return undefined
  const ssh = await sshIdentity(input.ssh, input.env)
  if (!ssh) return undefined
  const parts: unknown[] = [VERSION, input.home, input.configFile ?? '', input.user]
  // What lines take from outside the files: `${NAME}` and `~user/` (ssh -G prints them expanded).
  const outside = new Set<string>()
  for (const line of input.tree.lines) {
    if (!line.directive) continue
    const {env, users} = outsideReferences(line.directive.args)
    for (const name of env) {
      if (outside.has(`env:${name}`)) continue
      outside.add(`env:${name}`)
      parts.push(['env', name, input.env[name] ?? null])
    }
    for (const name of users) {
      if (outside.has(`user:${name}`)) continue
      outside.add(`user:${name}`)
      parts.push(['user', name, input.userHome?.(name) ?? null])
    }
  }
  try {
    parts.push(ssh)
    for (const file of input.tree.files) {
      if (file.realPath === input.managedRealPath) {
        const location = findBlock(input.managedText)
        const outside = location ? input.managedText.slice(0, location.start) + input.managedText.slice(location.end) : input.managedText
        parts.push(['managed', file.path, sha(outside)])
        continue
      }
      const f = await stat(file.path)
      parts.push([file.path, file.realPath, f.dev, f.ino, f.size, f.mtimeMs])
    }
  } catch {
    return undefined
  }
  return sha(JSON.stringify(parts))
}

/** The hash of one alias's entry as written (its option lines, in order). */
export function entryHash(values: ReadonlyMap<string, readonly string[]> | undefined): string {
  return sha(JSON.stringify(values ? [...values] : null))
}

export interface VerifyCache {
  file: string
  scope: string
  entry?: Stamped<CacheEntry>
}

export function cacheFile(stateDir: string): string {
  return path.join(stateDir, 'verify-cache.json')
}

/** The cache entry of one managed file and origin (16 are kept, the oldest going first). */
export async function loadVerifyCache(stateDir: string, scope: string): Promise<VerifyCache> {
  const file = cacheFile(stateDir)
  return {file, scope, entry: await readScopedEntry<CacheEntry>({file, version: VERSION}, scope)}
}

/**
 * Which aliases need ssh -G now, and the warnings of the others as last found (reused as they are, so the
 * output is the same with or without the cache).
 */
export function plan(cache: VerifyCache, key: string | undefined, entries: ReadonlyMap<string, string>): {check: string[]; reused: Map<string, Warning[]>} {
  const reused = new Map<string, Warning[]>()
  const check: string[] = []
  const known = key !== undefined && cache.entry?.key === key ? cache.entry.aliases : {}
  for (const [alias, hash] of entries) {
    const hit = Object.prototype.hasOwnProperty.call(known, alias) ? known[alias] : undefined
    if (hit && hit.entry === hash) reused.set(alias, hit.warnings)
    else check.push(alias)
  }
  return {check, reused}
}

/**
 * Saves what was verified (every alias of `entries`, with its warnings); failures to save are ignored.
 * `keep`: the run checked only some of the block's aliases (watch mode verifies what a write changed); the
 * results saved before for the others of `keep` stay while the key is the same, and only those (an alias
 * gone from the block is forgotten, so the entry never grows past the block).
 */
export async function saveVerifyCache(cache: VerifyCache, key: string, entries: ReadonlyMap<string, string>, warnings: ReadonlyMap<string, Warning[]>, keep?: ReadonlySet<string>): Promise<void> {
  await writeScopedEntry<CacheEntry>({file: cache.file, version: VERSION}, cache.scope, (previous) => {
    const aliases: CacheEntry['aliases'] = {}
    if (keep && previous?.key === key) {
      for (const [alias, result] of Object.entries(previous.aliases)) if (keep.has(alias) && !entries.has(alias)) aliases[alias] = result
    }
    for (const [alias, hash] of entries) aliases[alias] = {entry: hash, warnings: warnings.get(alias) ?? []}
    return {key, aliases}
  })
}
