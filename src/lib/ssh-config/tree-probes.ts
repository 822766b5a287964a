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
  /** A file ssh opens: `real` null when realpath failed, `id` null when it could not be stat'ed; 'text' when its text was given (the managed file). */
  | {kind: 'file'; path: string; real: string | null; id: string | null}
  /** A directory an Include glob listed. */
  | {kind: 'dir'; path: string; id: string | null}
  /** A path an Include glob tried. */
  | {kind: 'exists'; path: string; exists: boolean}
  /** A `~user` of an Include, and the home the password database gave (null: no such user). */
  | {kind: 'user'; name: string; home: string | null}

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
export function probesHold(probes: readonly TreeProbe[], userHome?: (name: string) => string | undefined): boolean {
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
      default:
        return false
    }
  }
  return true
}
