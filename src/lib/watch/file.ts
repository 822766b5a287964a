/**
 * Watch mode and the SSH config file: never lose a byte another program writes.
 *
 * - Quiet gate: a file that another program changed is not replaced until it has been quiet for a while
 *   (a generator redirected with `>` writes in pieces; a script truncates, then writes). Our own writes are
 *   recognised by inode, size and mtime and do not count.
 * - Replaced-file guard: a program that opened the file before our rename keeps writing into the old,
 *   now unlinked file, and everything it writes would be lost. After each of our renames the old file stays
 *   open here and is checked for a while; when it grows or changes, its content (once quiet) is given back
 *   to the watcher, which splices the block into it and writes that.
 *
 * Costs nothing when idle: chokidar (inotify, FSEvents, ReadDirectoryChangesW) for the path, and a poll of
 * an open handle only for `guardMs` after a write of ours.
 *
 * Time: "quiet" is measured on the monotonic clock from the last change ona itself saw (an event, or a
 * stat that differs from the previous one), never as the wall clock minus the file's mtime. An mtime is
 * only compared with other mtimes; the wall clock is consulted once, for a file never seen before, and
 * its answer is bounded by `quietMs`. So a config whose mtime lies in the future (dotfiles synced from a
 * machine whose clock is ahead, NFS, a clock set back) or a clock jump costs at most one quiet period,
 * and no computed wait is ever longer than `quietMs`.
 */
import {statSync} from 'node:fs'
import fs from 'node:fs/promises'
import path from 'node:path'

import {mkdirOwned, type ReplacedFile} from '../fs/safe-write.js'

export interface FileIdentity {
  ino: number
  size: number
  mtimeMs: number
}

export interface ConfigFileWatcher {
  /** How long to wait before the file has been quiet for `quietMs` (0: now). */
  msUntilQuiet(): Promise<number>
  /**
   * The same answer, synchronously, for the check under the write lock just before the splice: a program
   * may have started writing since msUntilQuiet() said yes (the write's own work takes a while).
   */
  quietNow(): boolean
  /** Records a write of ours, so its events and mtime do not count as another program's activity. */
  wrote(identity: FileIdentity | undefined): void
  close(): Promise<void>
}

export interface ConfigFileWatchOptions {
  realPath: string
  quietMs: number
  /** Called once the file changed (by someone else) and then stayed quiet for `quietMs`. */
  onChange: () => void
  /** Monotonic milliseconds (default performance.now): intervals, immune to clock jumps. */
  now?: () => number
  /** The wall clock (default Date.now), only to place the mtime of a file seen for the first time. */
  wallNow?: () => number
}

/** Monotonic milliseconds: does not jump when the wall clock is set, and pauses while the machine sleeps. */
export const monotonicNow = (): number => performance.now()

/**
 * How long to wait before a file last seen changing at `changedAt` (monotonic) is quiet: never negative,
 * never more than `quietMs`, whatever the clocks say.
 */
export function quietLeft(changedAt: number, now: number, quietMs: number): number {
  const since = now - changedAt
  if (!(since >= 0)) return quietMs
  return Math.min(quietMs, Math.max(0, Math.ceil(quietMs - since)))
}

/**
 * When (on the monotonic clock) a file seen for the first time last changed, from its mtime: at most
 * `quietMs` ago. An mtime in the future, or a wall clock that is wrong, gives "just now": one quiet
 * period, never a wait that grows with the clock difference.
 */
export function firstSeenChangedAt(mtimeMs: number, wallNow: number, now: number, quietMs: number): number {
  const age = wallNow - mtimeMs
  if (!(age >= 0)) return now
  return now - Math.min(age, quietMs)
}

/** Watches the directory (editors and `ona` itself replace the file by rename), filtered to the one file. */
export async function watchConfigFile(options: ConfigFileWatchOptions): Promise<ConfigFileWatcher> {
  const {realPath, quietMs} = options
  const now = options.now ?? monotonicNow
  const wallNow = options.wallNow ?? Date.now
  const dir = path.dirname(realPath)
  const base = path.basename(realPath)
  // Under sudo on someone's home, a ~/.ssh made here is that home owner's (ssh refuses others' otherwise).
  await mkdirOwned(dir)
  const {watch} = await import('chokidar')
  const watcher = watch(dir, {
    ignoreInitial: true,
    depth: 0,
    ignored: (p: string) => p !== dir && path.basename(p) !== base,
  })
  const ours: FileIdentity[] = []
  // The last foreign change seen, on the monotonic clock: an event, or a stat unlike the one before.
  let changedAt = Number.NEGATIVE_INFINITY
  // What the file looked like at the previous look (null: absent; undefined: never looked).
  let seen: FileIdentity | null | undefined
  let timer: NodeJS.Timeout | undefined
  let closed = false

  const same = (a: FileIdentity, b: FileIdentity) => a.ino === b.ino && a.size === b.size && a.mtimeMs === b.mtimeMs
  const isOurs = (stat: FileIdentity | undefined) => stat !== undefined && ours.some((o) => same(o, stat))
  const identity = (stat: {ino: number; size: number; mtimeMs: number} | undefined): FileIdentity | undefined =>
    stat ? {ino: stat.ino, size: stat.size, mtimeMs: stat.mtimeMs} : undefined
  const statNow = async (): Promise<FileIdentity | undefined> => identity(await fs.stat(realPath).catch(() => undefined))
  /** Records a look at the file: a change since the previous look (not one of ours) restarts the quiet period. */
  const observe = (stat: FileIdentity | undefined) => {
    const previous = seen
    seen = stat ?? null
    if (isOurs(stat)) return
    if (previous === undefined) {
      if (stat) changedAt = Math.max(changedAt, firstSeenChangedAt(stat.mtimeMs, wallNow(), now(), quietMs))
      return
    }
    const changed = previous === null || stat === undefined ? previous !== (stat ?? null) : !same(previous, stat)
    if (changed) changedAt = now()
  }
  const leftFor = (stat: FileIdentity | undefined) => {
    observe(stat)
    return isOurs(stat) ? 0 : quietLeft(changedAt, now(), quietMs)
  }
  const msUntilQuiet = async () => leftFor(await statNow())
  const quietNow = () => leftFor(identity(statSync(realPath, {throwIfNoEntry: false}))) === 0
  const schedule = (wait: number) => {
    if (timer) clearTimeout(timer)
    timer = setTimeout(() => {
      timer = undefined
      if (closed) return
      // Still not quiet (the writer went on): look again later rather than act in the middle of it.
      void msUntilQuiet().then((left) => (left > 0 ? schedule(left) : options.onChange()))
    }, Math.min(Math.max(0, wait), quietMs))
  }
  const onEvent = () => {
    void statNow().then((stat) => {
      if (closed) return
      seen = stat ?? null
      if (isOurs(stat)) return
      changedAt = now()
      schedule(quietMs)
    })
  }
  watcher.on('add', onEvent).on('change', onEvent).on('unlink', onEvent)
  await new Promise<void>((resolve) => watcher.once('ready', () => resolve()))
  return {
    msUntilQuiet,
    quietNow,
    wrote(identity) {
      if (!identity) return
      ours.push(identity)
      if (ours.length > 4) ours.shift()
    },
    async close() {
      closed = true
      if (timer) clearTimeout(timer)
      await watcher.close()
    },
  }
}

export interface ReplacedFileGuardOptions {
  /** How long a replaced file is watched after the last activity in it. Default 60 s. */
  guardMs?: number
  /** Poll period of the open handle. Default 250 ms. */
  pollMs?: number
  /** How long the replaced file must be quiet before its content is taken. */
  quietMs: number
  /** Given the whole content of a replaced file another program wrote into after our rename. */
  onWrittenAfterRename: (text: string) => Promise<void>
  /** Monotonic milliseconds (default performance.now). */
  now?: () => number
}

/** Watches the files our renames replaced; see the module comment. */
export class ReplacedFileGuard {
  private readonly guarded = new Set<{handle: ReplacedFile['handle']; timer?: NodeJS.Timeout}>()
  private closed = false
  private readonly now: () => number

  constructor(private readonly options: ReplacedFileGuardOptions) {
    this.now = options.now ?? monotonicNow
  }

  /** Takes ownership of the handle (it is closed when the guard period ends or on close()). */
  watch(replaced: ReplacedFile): void {
    if (this.closed) {
      void replaced.handle.close().catch(() => undefined)
      return
    }
    const entry: {handle: ReplacedFile['handle']; timer?: NodeJS.Timeout} = {handle: replaced.handle}
    this.guarded.add(entry)
    // A handful at most: a file replaced many times in a row only needs its most recent ones watched.
    if (this.guarded.size > 8) void this.release([...this.guarded][0]!)
    const guardMs = this.options.guardMs ?? 60_000
    const pollMs = this.options.pollMs ?? 250
    let size = replaced.size
    let mtimeMs = replaced.mtimeMs
    let lastActivity = this.now()
    let dirty = false
    const poll = async () => {
      entry.timer = undefined
      if (this.closed || !this.guarded.has(entry)) return
      const stat = await entry.handle.stat().catch(() => undefined)
      if (!stat) return this.release(entry)
      if (stat.size !== size || stat.mtimeMs !== mtimeMs) {
        size = stat.size
        mtimeMs = stat.mtimeMs
        lastActivity = this.now()
        dirty = true
      } else if (dirty && this.now() - lastActivity >= this.options.quietMs) {
        dirty = false
        const text = await readWhole(entry.handle, stat.size).catch(() => undefined)
        if (text !== undefined && !this.closed) await this.options.onWrittenAfterRename(text).catch(() => undefined)
        lastActivity = this.now()
      } else if (!dirty && this.now() - lastActivity >= guardMs) {
        return this.release(entry)
      }
      if (!this.closed && this.guarded.has(entry)) {
        entry.timer = setTimeout(() => void poll(), pollMs)
      }
    }
    entry.timer = setTimeout(() => void poll(), pollMs)
  }

  /** Number of replaced files still watched (tests, and the status file). */
  get size(): number {
    return this.guarded.size
  }

  async close(): Promise<void> {
    this.closed = true
    await Promise.all([...this.guarded].map((entry) => this.release(entry)))
  }

  private async release(entry: {handle: ReplacedFile['handle']; timer?: NodeJS.Timeout}): Promise<void> {
    if (!this.guarded.delete(entry)) return
    if (entry.timer) clearTimeout(entry.timer)
    await entry.handle.close().catch(() => undefined)
  }
}

/** Reads a file from offset 0 whatever the handle's position (readFile() would start where it is). */
async function readWhole(handle: ReplacedFile['handle'], size: number): Promise<string> {
  const buffer = Buffer.alloc(size)
  let offset = 0
  while (offset < size) {
    const {bytesRead} = await handle.read(buffer, offset, size - offset, offset)
    if (bytesRead === 0) break
    offset += bytesRead
  }
  return buffer.subarray(0, offset).toString('latin1')
}
