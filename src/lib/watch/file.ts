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
 */
import {statSync} from 'node:fs'
import fs from 'node:fs/promises'
import path from 'node:path'

import type {ReplacedFile} from '../fs/safe-write.js'

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
  now?: () => number
}

/** Watches the directory (editors and `ona` itself replace the file by rename), filtered to the one file. */
export async function watchConfigFile(options: ConfigFileWatchOptions): Promise<ConfigFileWatcher> {
  const {realPath, quietMs} = options
  const now = options.now ?? Date.now
  const dir = path.dirname(realPath)
  const base = path.basename(realPath)
  await fs.mkdir(dir, {recursive: true, mode: 0o700})
  const {watch} = await import('chokidar')
  const watcher = watch(dir, {
    ignoreInitial: true,
    depth: 0,
    ignored: (p: string) => p !== dir && path.basename(p) !== base,
  })
  const ours: FileIdentity[] = []
  let lastForeignAt = 0
  let timer: NodeJS.Timeout | undefined
  let closed = false

  const isOurs = (stat: FileIdentity | undefined) => stat !== undefined && ours.some((o) => o.ino === stat.ino && o.size === stat.size && o.mtimeMs === stat.mtimeMs)
  const statNow = async (): Promise<FileIdentity | undefined> => {
    const stat = await fs.stat(realPath).catch(() => undefined)
    return stat ? {ino: stat.ino, size: stat.size, mtimeMs: stat.mtimeMs} : undefined
  }
  const leftFor = (stat: FileIdentity | undefined) => {
    if (isOurs(stat)) return 0
    const sinceEvent = now() - lastForeignAt
    const sinceWrite = stat ? now() - stat.mtimeMs : Number.POSITIVE_INFINITY
    return Math.max(0, Math.ceil(quietMs - Math.min(sinceEvent, sinceWrite)))
  }
  const msUntilQuiet = async () => leftFor(await statNow())
  const quietNow = () => {
    const stat = statSync(realPath, {throwIfNoEntry: false})
    return leftFor(stat ? {ino: stat.ino, size: stat.size, mtimeMs: stat.mtimeMs} : undefined) === 0
  }
  const schedule = (wait: number) => {
    if (timer) clearTimeout(timer)
    timer = setTimeout(() => {
      timer = undefined
      if (closed) return
      // Still not quiet (the writer went on): look again later rather than act in the middle of it.
      void msUntilQuiet().then((left) => (left > 0 ? schedule(left) : options.onChange()))
    }, wait)
  }
  const onEvent = () => {
    void statNow().then((stat) => {
      if (closed || isOurs(stat)) return
      lastForeignAt = now()
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
  now?: () => number
}

/** Watches the files our renames replaced; see the module comment. */
export class ReplacedFileGuard {
  private readonly guarded = new Set<{handle: ReplacedFile['handle']; timer?: NodeJS.Timeout}>()
  private closed = false
  private readonly now: () => number

  constructor(private readonly options: ReplacedFileGuardOptions) {
    this.now = options.now ?? Date.now
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
