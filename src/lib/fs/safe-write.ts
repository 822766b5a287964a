/**
 * Safe read-modify-write of a user's file (here: the SSH config).
 *
 * - Atomic: the new text goes to a temp file in the target's own directory, is fsynced, gets the old file's
 *   mode (0600 for a new file) and owner, and is renamed over the target; a crash at any moment leaves the
 *   old or the new file, never a torn one.
 * - Symlinks (dotfile managers): the link chain is followed and the final target is written, so the link stays.
 * - Two writers: an exclusive lock file beside the target serialises `ona` processes; a dead holder's lock is
 *   taken over. Another program's edit between our read and our rename is detected by re-reading just before
 *   the rename, and the transform is run again on the new text (a few times, then a clear error).
 * - A one-time backup of the original file is kept beside it, mode 0600.
 *
 * Files are handled as latin1 strings: one char per byte, so every byte of the user's file round-trips.
 */
import {randomBytes} from 'node:crypto'
import {constants as fsConstants, type Stats} from 'node:fs'
import fs from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'

import {OnaError} from '../errors.js'
import {renameWithRetry} from '../platform/rename.js'

export interface Target {
  /** The path that is really written: the end of any symlink chain. */
  realPath: string
  /** Whether the path given was a symlink. */
  viaSymlink: boolean
  stat: Stats | undefined
}

const MAX_LINK_HOPS = 40

/** Follows a symlink chain to the file that is really written, dangling links included (the file is created). */
export async function resolveTarget(file: string): Promise<Target> {
  let current = path.resolve(file)
  let viaSymlink = false
  for (let hop = 0; hop <= MAX_LINK_HOPS; hop++) {
    let stat: Stats
    try {
      stat = await fs.lstat(current)
    } catch (error) {
      if (isCode(error, 'ENOENT') || isCode(error, 'ENOTDIR')) return {realPath: current, viaSymlink, stat: undefined}
      if (isCode(error, 'ELOOP')) break
      throw readError(file, error)
    }
    if (stat.isSymbolicLink()) {
      viaSymlink = true
      const link = await fs.readlink(current)
      current = path.resolve(path.dirname(current), link)
      continue
    }
    if (!stat.isFile()) {
      throw new OnaError('ERR_SSH_CONFIG_NOT_FILE', `${file} is not a regular file`, {details: {file}})
    }
    return {realPath: current, viaSymlink, stat}
  }
  throw new OnaError('ERR_SSH_CONFIG_SYMLINK_LOOP', `${file} is a symlink loop (more than ${MAX_LINK_HOPS} links)`, {details: {file}})
}

export interface UpdateOptions {
  /** Given the current text ('' when the file does not exist), returns the new text. May throw to abort. */
  transform: (current: string, exists: boolean) => string
  /** Compute only; write nothing. */
  dryRun?: boolean
  /** Keep a one-time backup of the original file (default true). */
  backup?: boolean
  /** How long to wait for another `ona` holding the lock (default 15 s). */
  lockTimeoutMs?: number
  /** How often to re-run the transform when another program changes the file under us (default 5). */
  maxAttempts?: number
  /** Test hook: called after the temp file is written and before the re-check and rename. */
  beforeRename?: () => Promise<void> | void
}

export interface UpdateResult {
  path: string
  realPath: string
  before: string
  after: string
  existed: boolean
  changed: boolean
  written: boolean
  backupPath?: string
}

/** Reads, transforms and (when the text changes) atomically replaces a file. See the module comment. */
export async function updateFile(file: string, options: UpdateOptions): Promise<UpdateResult> {
  const target = await resolveTarget(file)
  if (options.dryRun) {
    const {text, exists} = await readText(target.realPath, file)
    const after = options.transform(text, exists)
    return {path: file, realPath: target.realPath, before: text, after, existed: exists, changed: after !== text, written: false}
  }
  const dir = path.dirname(target.realPath)
  await ensureDir(dir, file)
  const release = await acquireLock(target.realPath, options.lockTimeoutMs ?? 15_000)
  try {
    await removeStaleTemps(target.realPath)
    const attempts = options.maxAttempts ?? 5
    for (let attempt = 0; attempt < attempts; attempt++) {
      const {text, exists, stat} = await readText(target.realPath, file)
      const after = options.transform(text, exists)
      if (after === text) {
        return {path: file, realPath: target.realPath, before: text, after, existed: exists, changed: false, written: false}
      }
      const backupPath = options.backup === false || !exists ? undefined : await backupOnce(target.realPath, text)
      const temp = await writeTemp(target.realPath, after, stat)
      try {
        await options.beforeRename?.()
        const now = await readText(target.realPath, file)
        if (now.text !== text || now.exists !== exists) {
          // Someone else (an editor, another tool) changed the file since we read it: start again from theirs.
          await fs.rm(temp, {force: true})
          continue
        }
        await renameWithRetry(temp, target.realPath)
      } catch (error) {
        await fs.rm(temp, {force: true})
        throw writeError(file, error)
      }
      await fsyncDir(dir)
      return {path: file, realPath: target.realPath, before: text, after, existed: exists, changed: true, written: true, backupPath}
    }
    throw new OnaError('ERR_SSH_CONFIG_CONFLICT', `${file} changed ${attempts} times while ona was updating it; nothing was written`, {details: {file}})
  } finally {
    await release()
  }
}

async function readText(realPath: string, file: string): Promise<{text: string; exists: boolean; stat: Stats | undefined}> {
  try {
    const handle = await fs.open(realPath, 'r')
    try {
      const stat = await handle.stat()
      const buffer = await handle.readFile()
      return {text: buffer.toString('latin1'), exists: true, stat}
    } finally {
      await handle.close()
    }
  } catch (error) {
    if (isCode(error, 'ENOENT')) return {text: '', exists: false, stat: undefined}
    throw readError(file, error)
  }
}

async function ensureDir(dir: string, file: string): Promise<void> {
  try {
    // A new ~/.ssh must be private: ssh refuses keys in a group-writable directory.
    await fs.mkdir(dir, {recursive: true, mode: 0o700})
  } catch (error) {
    throw writeError(file, error)
  }
}

async function writeTemp(realPath: string, text: string, stat: Stats | undefined): Promise<string> {
  const temp = tempName(realPath)
  let handle: fs.FileHandle | undefined
  try {
    handle = await fs.open(temp, fsConstants.O_WRONLY | fsConstants.O_CREAT | fsConstants.O_EXCL, 0o600)
    await handle.writeFile(Buffer.from(text, 'latin1'))
    // Explicit chmod: the mode given to open() is filtered by the umask.
    await handle.chmod(stat ? stat.mode & 0o7777 : 0o600)
    if (stat && typeof process.getuid === 'function' && process.getuid() === 0 && (stat.uid !== 0 || stat.gid !== 0)) {
      await handle.chown(stat.uid, stat.gid).catch(() => undefined)
    }
    await handle.sync()
    await handle.close()
    handle = undefined
    return temp
  } catch (error) {
    await handle?.close().catch(() => undefined)
    await fs.rm(temp, {force: true})
    throw writeError(realPath, error)
  }
}

/** Temp names carry the pid, so those left by a killed process can be recognised and removed. */
function tempName(realPath: string, kind = 'new'): string {
  return path.join(path.dirname(realPath), `.${path.basename(realPath)}.ona-${process.pid}-${kind}-${randomBytes(4).toString('hex')}.tmp`)
}

/** Temp files left by a process that was killed mid-write (SIGKILL, power loss). */
async function removeStaleTemps(realPath: string): Promise<void> {
  const prefix = `.${path.basename(realPath)}.ona-`
  let names: string[]
  try {
    names = await fs.readdir(path.dirname(realPath))
  } catch {
    return
  }
  for (const name of names) {
    if (!name.startsWith(prefix) || !name.endsWith('.tmp')) continue
    const pid = Number(name.slice(prefix.length).split('-')[0])
    if (Number.isInteger(pid) && pid !== process.pid && !processAlive(pid)) {
      await fs.rm(path.join(path.dirname(realPath), name), {force: true})
    }
  }
}

async function backupOnce(realPath: string, text: string): Promise<string | undefined> {
  const backupPath = `${realPath}.ona-backup`
  // Filled and synced under a temp name, then linked into place: never a partial backup, never overwritten.
  const temp = tempName(realPath, 'backup')
  try {
    const handle = await fs.open(temp, fsConstants.O_WRONLY | fsConstants.O_CREAT | fsConstants.O_EXCL, 0o600)
    try {
      await handle.writeFile(Buffer.from(text, 'latin1'))
      await handle.chmod(0o600)
      await handle.sync()
    } finally {
      await handle.close()
    }
    await fs.link(temp, backupPath)
    return backupPath
  } catch (error) {
    if (isCode(error, 'EEXIST')) return undefined
    throw writeError(realPath, error)
  } finally {
    await fs.rm(temp, {force: true})
  }
}

async function fsyncDir(dir: string): Promise<void> {
  try {
    const handle = await fs.open(dir, 'r')
    try {
      await handle.sync()
    } finally {
      await handle.close()
    }
  } catch {
    // Some file systems refuse fsync on a directory; the rename itself is still atomic.
  }
}

interface LockInfo {
  pid: number
  host: string
  token: string
}

/**
 * An exclusive lock file beside the target. A lock whose holder is dead (same host) or that is older than
 * two minutes is taken over; the check re-reads the lock just before removing it, so a fresh lock taken by a
 * third process in the meantime is not removed.
 */
export async function acquireLock(realPath: string, timeoutMs: number): Promise<() => Promise<void>> {
  const lockPath = `${realPath}.ona-lock`
  const info: LockInfo = {pid: process.pid, host: os.hostname(), token: randomBytes(8).toString('hex')}
  const deadline = Date.now() + timeoutMs
  let delay = 5
  for (;;) {
    // The lock appears with its content in one step (link of a filled temp file), so a holder killed at any
    // moment leaves either no lock or a lock that names it; an empty lock could not be judged stale.
    const temp = tempName(realPath, 'lock')
    try {
      await fs.writeFile(temp, JSON.stringify(info), {mode: 0o600})
      await fs.link(temp, lockPath)
      return async () => {
        const current = await fs.readFile(lockPath, 'utf8').catch(() => '')
        if (current.includes(info.token)) await fs.rm(lockPath, {force: true})
      }
    } catch (error) {
      if (!isCode(error, 'EEXIST')) throw writeError(realPath, error)
    } finally {
      await fs.rm(temp, {force: true})
    }
    await takeOverIfStale(lockPath)
    if (Date.now() > deadline) {
      throw new OnaError('ERR_SSH_CONFIG_LOCKED', `${realPath} is locked by another ona process (${lockPath})`, {details: {lockPath}})
    }
    await new Promise((resolve) => setTimeout(resolve, delay + Math.random() * delay))
    delay = Math.min(delay * 2, 100)
  }
}

async function takeOverIfStale(lockPath: string): Promise<void> {
  let raw: string
  let stat: Stats
  try {
    stat = await fs.stat(lockPath)
    raw = await fs.readFile(lockPath, 'utf8')
  } catch {
    return
  }
  let holder: Partial<LockInfo> = {}
  try {
    holder = JSON.parse(raw) as Partial<LockInfo>
  } catch {
    // Not ours to understand (garbage): judged by age alone.
  }
  const ageMs = Date.now() - stat.mtimeMs
  const dead = holder.host === os.hostname() && typeof holder.pid === 'number' && !processAlive(holder.pid)
  if (!dead && ageMs < 120_000) return
  const again = await fs.readFile(lockPath, 'utf8').catch(() => undefined)
  if (again === raw) await fs.rm(lockPath, {force: true})
}

/** Whether a process with this pid exists (EPERM: it exists but is another user's). */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (error) {
    return isCode(error, 'EPERM')
  }
}

function isCode(error: unknown, code: string): boolean {
  return typeof error === 'object' && error !== null && (error as {code?: unknown}).code === code
}

function readError(file: string, error: unknown): OnaError {
  if (error instanceof OnaError) return error
  const code = (error as {code?: string}).code ?? 'unknown'
  return new OnaError('ERR_SSH_CONFIG_UNREADABLE', `cannot read ${file} (${code})`, {cause: error, details: {file, code}})
}

function writeError(file: string, error: unknown): OnaError {
  if (error instanceof OnaError) return error
  const code = (error as {code?: string}).code ?? 'unknown'
  return new OnaError('ERR_SSH_CONFIG_WRITE', `cannot write ${file} (${code})`, {cause: error, details: {file, code}})
}
