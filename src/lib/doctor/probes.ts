/**
 * What `ona doctor` looks at besides the other rooms' functions: host keys in known_hosts files (hashed
 * entries too), and which `ona` comes first on PATH.
 * Each reads and connects only; nothing here writes a file.
 */
import {createHmac} from 'node:crypto'
import {readFile, realpath} from 'node:fs/promises'

import {isWindows, pathFor, type Platform} from '../platform/platform.js'
import {findOnPath} from '../ide/launch.js'
import {matchPattern} from '../ssh-config/overrides.js'

/** Whether one host field of a known_hosts line (`name,name2`, `|1|salt|hash`, patterns, `!negation`) names `host`. */
export function hostFieldMatches(field: string, host: string): boolean {
  const name = host.toLowerCase()
  if (field.startsWith('|1|')) {
    const [, , salt, hash] = field.split('|')
    if (!salt || !hash) return false
    return createHmac('sha1', Buffer.from(salt, 'base64')).update(name).digest('base64') === hash
  }
  let matched = false
  for (const pattern of field.split(',')) {
    if (pattern.startsWith('!')) {
      if (matchPattern(name, pattern.slice(1).toLowerCase())) return false
    } else if (matchPattern(name, pattern.toLowerCase())) matched = true
  }
  return matched
}

/** What a known_hosts text says about `host`: a key is known for it, one is revoked, or none. */
export function knownHostsLookup(text: string, host: string): 'known' | 'revoked' | 'unknown' {
  let known = false
  for (const raw of text.split('\n')) {
    const line = raw.trim()
    if (line === '' || line.startsWith('#')) continue
    const fields = line.split(/\s+/)
    const marker = fields[0]!.startsWith('@') ? fields.shift()! : undefined
    if (fields.length < 2 || !hostFieldMatches(fields[0]!, host)) continue
    if (marker === '@revoked') return 'revoked'
    known = true
  }
  return known ? 'known' : 'unknown'
}

/** The file names ssh -G prints for UserKnownHostsFile / GlobalKnownHostsFile, with `~` expanded. */
export function knownHostsFiles(values: readonly string[], home: string, p: Platform): string[] {
  const sep = pathFor(p)
  return values
    .flatMap((v) => v.split(/\s+/))
    .filter((v) => v !== '')
    .map((v) => v.replace(/^"|"$/g, ''))
    .map((v) => (v === '~' ? home : v.startsWith('~/') || (isWindows(p) && v.startsWith('~\\')) ? sep.join(home, v.slice(2)) : v))
}

/** A known_hosts file that turns host key checking off by being empty forever. */
export function isNullDevice(file: string): boolean {
  return file === '/dev/null' || file.toUpperCase() === 'NUL'
}

export interface OnaOnPath {
  /** The first `ona` on PATH, if any. */
  found?: string
  /** this: it runs this launcher; other-copy: another install of ona-ssh; other: a different program. */
  kind: 'this' | 'other-copy' | 'other' | 'none'
}

/**
 * Which program a user typing `name` gets, compared with this launcher: the first match on PATH (PATHEXT on
 * Windows), followed through symlinks; an npm `.cmd` shim on Windows is read for the script it starts.
 */
export async function commandOnPath(p: Platform, name: string, launcher: string): Promise<OnaOnPath> {
  const found = findOnPath(p, name)
  if (!found) return {kind: 'none'}
  const sep = pathFor(p)
  const same = (a: string, b: string) => (isWindows(p) ? a.toLowerCase() === b.toLowerCase() : a === b)
  let target = found
  if (isWindows(p) && /\.(cmd|ps1)$/i.test(found)) {
    // npm's shim: `"%dp0%\node_modules\ona-ssh\bin\run.js"` (or `$basedir/...` in the .ps1).
    const text = await readFile(found, 'utf8').catch(() => '')
    const script = /(?:%dp0%|\$basedir)[\\/]([^"\s]*?run\.js)/i.exec(text)?.[1]
    if (!script) return {found, kind: 'other'}
    target = sep.resolve(sep.dirname(found), script)
  } else {
    target = await realpath(found).catch(() => found)
  }
  const mine = await realpath(launcher).catch(() => launcher)
  if (same(target, mine)) return {found, kind: 'this'}
  // Another ona-ssh (an older global install, another Node's prefix): its package.json says so.
  const pkg = await readFile(sep.join(sep.dirname(sep.dirname(target)), 'package.json'), 'utf8').then((t) => JSON.parse(t) as {name?: unknown}, () => undefined)
  return {found, kind: pkg?.name === 'ona-ssh' && sep.basename(target) === 'run.js' ? 'other-copy' : 'other'}
}
