/**
 * What reading the config tree looked at (tree.ts records it when asked), so that a later run can tell,
 * without reading and parsing the tree again, that ssh would read exactly the same: every file read (its
 * real path and identity: device, inode, mode, size, mtime and ctime to the nanosecond), every directory
 * an Include glob listed (a file added to or taken from it changes the directory's mtime), every path a
 * glob tried (one that appears later is noticed) and every `~user` looked up.
 *
 * A probe is taken before the read it stands for: a file changed between the two gives a probe that no
 * longer matches, so the worst a race costs is one more full read, never a stale answer.
 */
import {lstatSync, realpathSync, statSync, type BigIntStats} from 'node:fs'

export type TreeProbe =
  /**
   * A file ssh opens: `real` null when realpath failed, `id` null when it could not be stat'ed; 'text' when
   * its text was given (the managed file). `racy`: changed so shortly before it was probed that a second
   * change could still keep the same identity (see RACY_MS).
   */
  | {kind: 'file'; path: string; real: string | null; id: string | null; racy?: true}
  /** A directory an Include glob listed. */
  | {kind: 'dir'; path: string; id: string | null; racy?: true}
  /** A path an Include glob tried. */
  | {kind: 'exists'; path: string; exists: boolean}
  /** A `~user` of an Include or of any other line's value, and the home the password database gave (null: no such user). */
  | {kind: 'user'; name: string; home: string | null}
  /** An environment variable a line names as `${NAME}` (ssh expands it in several keywords), and its value then. */
  | {kind: 'env'; name: string; value: string | null}

/**
 * A file system stamps a change with its clock's granularity: a few milliseconds on Linux, a second on
 * HFS+, two on FAT. A file changed within that long before it was probed could change again, at the same
 * size, and keep its identity ("racy", as git calls it). Such a probe is never kept for a later run; the
 * clock is read only for that, never to decide to wait.
 */
export const RACY_MS = 2000

export function isRacy(s: BigIntStats, now = Date.now()): boolean {
  // A change stamped later than now (a file server's clock ahead of ours) counts as recent too.
  return Number(s.ctimeNs / 1_000_000n) >= now - RACY_MS
}

/** Everything about a file or directory that changes when it is written, replaced, renamed or listed differently. */
export function identityOf(s: BigIntStats): string {
  return `${s.dev}:${s.ino}:${s.mode}:${s.size}:${s.mtimeNs}:${s.ctimeNs}`
}

function identityNow(file: string): string | null {
  try {
    const s = statSync(file, {bigint: true, throwIfNoEntry: false})
    return s ? identityOf(s) : null
  } catch {
    return null
  }
}

function realNow(file: string): string | null {
  try {
    return realpathSync.native(file)
  } catch {
    return null
  }
}

/**
 * Whether every probe still gives what it gave: then a tree read now would read the same files with the
 * same texts (up to a write that keeps size and both timestamps to the nanosecond).
 */
export function probesHold(probes: readonly TreeProbe[], userHome?: (name: string) => string | undefined, env: NodeJS.ProcessEnv = {}): boolean {
  for (const probe of probes) {
    switch (probe.kind) {
      case 'file':
        if (realNow(probe.path) !== probe.real) return false
        if (probe.id !== 'text' && identityNow(probe.path) !== probe.id) return false
        break
      case 'dir':
        if (identityNow(probe.path) !== probe.id) return false
        break
      case 'exists': {
        let exists: boolean
        try {
          exists = lstatSync(probe.path, {throwIfNoEntry: false}) !== undefined
        } catch {
          exists = false
        }
        if (exists !== probe.exists) return false
        break
      }
      case 'user':
        if ((userHome?.(probe.name) ?? null) !== probe.home) return false
        break
      case 'env':
        if ((env[probe.name] ?? null) !== probe.value) return false
        break
      default:
        return false
    }
  }
  return true
}

/**
 * What a line's values take from outside the files: `${NAME}` (OpenSSH expands environment variables in
 * IdentityFile, UserKnownHostsFile, ControlPath and others, and `ssh -G` prints the result) and `~user/`
 * (that user's home in the password database). Both decide what `ssh -G` answers as much as a file does.
 */
export function outsideReferences(args: readonly string[]): {env: string[]; users: string[]} {
  const env: string[] = []
  const users: string[] = []
  for (const arg of args) {
    for (const match of arg.matchAll(/\$\{([^}]*)\}/g)) env.push(match[1]!)
    const user = /^~([^/~\s]+)/.exec(arg)
    if (user) users.push(user[1]!)
  }
  return {env, users}
}
