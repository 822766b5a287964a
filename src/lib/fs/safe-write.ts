/**
 * Safe read-modify-write of a user's file (here: the SSH config).
 *
 * - Atomic: the new text goes to a temp file in the target's own directory, is fsynced, gets the old file's
 *   mode (0600 for a new file) and owner, and is renamed over the target; a crash at any moment leaves the
 *   old or the new file, never a torn one.
 * - Symlinks (dotfile managers): resolved as the kernel does (symlinked directories, relative targets
 *   relative to the link's real directory, chains, loops), and the final target is written, so the links stay
 *   and the file `ona` writes is the file ssh reads.
 * - Two writers: an exclusive lock file beside the target serialises `ona` processes; a dead holder's lock is
 *   taken over. Another program's edit between our read and our rename is detected by re-reading just before
 *   the rename, and the transform is run again on the new text (a few times, then a clear error).
 * - Before every write that changes the file, the version it replaces is kept beside it (one generation,
 *   mode 0600, the original's owner): a file the user rewrote since ona's last write is never lost.
 * - A write that would change nothing takes no lock and writes nothing, so a read-only config (Nix
 *   home-manager, a mounted dotfiles directory) that is already current stays usable.
 * - Everything written beside the target besides the target itself (lock, backup, temp files) is a dotfile:
 *   OpenSSH's `Include dir/*` globs skip names starting with '.', so an Included directory never reads them,
 *   not even when `ona` is killed mid-write (checked with `ssh -G`).
 * - Run as root on a home owned by someone else (`sudo -E ona ...`): what `ona` creates (directories, a new
 *   file, lock, backup) gets the owner of the directory it is created in, never root.
 *
 * Files are handled as latin1 strings: one char per byte, so every byte of the user's file round-trips.
 */
import {randomBytes} from 'node:crypto'
import {constants as fsConstants, readFileSync, type Stats} from 'node:fs'
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

/**
 * Resolves a path as the kernel would, but also through links whose target does not exist yet (the file or
 * directory is then created there): every symlinked directory on the way is followed, a relative link is
 * taken relative to the real directory that holds it, and more than MAX_LINK_HOPS links is a loop.
 */
async function realPathLoose(p: string, file: string, hops: {n: number}): Promise<string> {
  const parent = path.dirname(p)
  const realParent = parent === p ? p : await realPathLoose(parent, file, hops)
  const candidate = parent === p ? p : path.join(realParent, path.basename(p))
  for (let current = candidate; ; ) {
    let stat: Stats
    try {
      stat = await fs.lstat(current)
    } catch (error) {
      if (isCode(error, 'ENOENT') || isCode(error, 'ENOTDIR')) return current
      if (isCode(error, 'ELOOP')) throw loopError(file)
      throw readError(file, error)
    }
    if (!stat.isSymbolicLink()) return current
    if (++hops.n > MAX_LINK_HOPS) throw loopError(file)
    const link = await fs.readlink(current)
    // The link's target is relative to the real directory holding the link, which may itself be a link.
    current = await realPathLoose(path.resolve(path.dirname(current), link), file, hops)
  }
}

function loopError(file: string): OnaError {
  return new OnaError('ERR_SSH_CONFIG_SYMLINK_LOOP', `${file} is a symlink loop (more than ${MAX_LINK_HOPS} links)`, {details: {file}})
}

/** Follows every symlink on the way to the file that is really written, dangling links included (the file is created). */
export async function resolveTarget(file: string): Promise<Target> {
  const absolute = path.resolve(file)
  // A path that exists resolves in one call (the walk below costs an lstat per component, and a no-op sync
  // resolves the managed file several times); the walk is for what does not exist yet, a dangling link, a
  // loop or an error to name. Not on Windows, where the kernel's answer can differ in form (a subst or
  // mapped drive becomes its target) from the walk's.
  const direct = process.platform === 'win32' ? undefined : await fs.realpath(absolute).catch(() => undefined)
  const realPath = direct ?? (await realPathLoose(absolute, file, {n: 0}))
  let stat: Stats | undefined
  try {
    stat = await fs.stat(realPath)
  } catch (error) {
    if (!isCode(error, 'ENOENT') && !isCode(error, 'ENOTDIR')) throw readError(file, error)
  }
  if (stat && !stat.isFile()) {
    throw new OnaError('ERR_SSH_CONFIG_NOT_FILE', `${file} is not a regular file`, {details: {file}})
  }
  return {realPath, viaSymlink: realPath !== absolute, stat}
}

export interface UpdateOptions {
  /** Given the current text ('' when the file does not exist), returns the new text. May throw to abort. */
  transform: (current: string, exists: boolean) => string
  /** Compute only; write nothing. */
  dryRun?: boolean
  /** Keep the version each write replaces in the backup beside the file (default true). */
  backup?: boolean
  /** How long to wait for another `ona` holding the lock (default 15 s). */
  lockTimeoutMs?: number
  /** How often to re-run the transform when another program changes the file under us (default 5). */
  maxAttempts?: number
  /** Test hook: called after the temp file is written and before the re-check and rename. */
  beforeRename?: () => Promise<void> | void
  /**
   * Keep an open handle on the file that the rename replaced (returned as `replaced`; the caller closes
   * it). A program that still holds the old file open goes on writing into it after the rename; watch mode
   * watches this handle to notice that and re-apply the block on top of what it wrote.
   */
  keepReplaced?: boolean
}

/** The file a rename replaced, still open, with its size and mtime at the moment of the rename. */
export interface ReplacedFile {
  handle: fs.FileHandle
  size: number
  mtimeMs: number
}

export interface UpdateResult {
  path: string
  realPath: string
  before: string
  after: string
  existed: boolean
  changed: boolean
  written: boolean
  /** The backup, when this write created it (the first write to change the file). */
  backupPath?: string
  /** Where the version this write replaced is kept (every write that changed an existing file). */
  previousKept?: string
  replaced?: ReplacedFile
  /** Identity of the file written (to tell our own write from another program's later on). */
  writtenStat?: {ino: number; size: number; mtimeMs: number}
}

/** Reads, transforms and (when the text changes) atomically replaces a file. See the module comment. */
export async function updateFile(file: string, options: UpdateOptions): Promise<UpdateResult> {
  const target = await resolveTarget(file)
  if (options.dryRun) {
    const {text, exists} = await readText(target.realPath, file)
    const after = options.transform(text, exists)
    return {path: file, realPath: target.realPath, before: text, after, existed: exists, changed: after !== text, written: false}
  }
  // Nothing to change: no lock, no directory, no write. A read-only ~/.ssh that is current stays usable
  // (the transform runs again under the lock when there is something to write).
  const first = await readText(target.realPath, file)
  const wanted = options.transform(first.text, first.exists)
  if (wanted === first.text) {
    return {path: file, realPath: target.realPath, before: first.text, after: wanted, existed: first.exists, changed: false, written: false}
  }
  const dir = path.dirname(target.realPath)
  await ensureDir(dir, file)
  const release = await acquireLock(target.realPath, options.lockTimeoutMs ?? 15_000)
  try {
    await removeStaleTemps(target.realPath)
    await migrateOldNames(target.realPath)
    const attempts = options.maxAttempts ?? 5
    for (let attempt = 0; attempt < attempts; attempt++) {
      const {text, exists, stat} = await readText(target.realPath, file)
      const after = options.transform(text, exists)
      if (after === text) {
        return {path: file, realPath: target.realPath, before: text, after, existed: exists, changed: false, written: false}
      }
      const backup = options.backup === false || !exists ? undefined : await keepPrevious(target.realPath, text, stat)
      const temp = await writeTemp(target.realPath, after, stat)
      let replaced: ReplacedFile | undefined
      try {
        await options.beforeRename?.()
        const now = options.keepReplaced ? await readHeld(target.realPath, file) : {...(await readText(target.realPath, file)), handle: undefined}
        if (now.text !== text || now.exists !== exists) {
          // Someone else (an editor, another tool) changed the file since we read it: start again from theirs.
          await now.handle?.close()
          await fs.rm(temp, {force: true})
          continue
        }
        if (now.handle && now.stat) replaced = {handle: now.handle, size: now.stat.size, mtimeMs: now.stat.mtimeMs}
        await renameWithRetry(temp, target.realPath)
      } catch (error) {
        await replaced?.handle.close().catch(() => undefined)
        await fs.rm(temp, {force: true})
        throw writeError(file, error, exists)
      }
      await fsyncDir(dir)
      const written = await fs.stat(target.realPath).catch(() => undefined)
      const writtenStat = written ? {ino: written.ino, size: written.size, mtimeMs: written.mtimeMs} : undefined
      return {
        path: file,
        realPath: target.realPath,
        before: text,
        after,
        existed: exists,
        changed: true,
        written: true,
        ...(backup?.created ? {backupPath: backup.path} : {}),
        ...(backup ? {previousKept: backup.path} : {}),
        replaced,
        writtenStat,
      }
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

/** As readText, but the handle stays open (the caller closes it): the re-check and the held file are one inode. */
async function readHeld(realPath: string, file: string): Promise<{text: string; exists: boolean; stat: Stats | undefined; handle: fs.FileHandle | undefined}> {
  let handle: fs.FileHandle
  try {
    handle = await fs.open(realPath, 'r')
  } catch (error) {
    if (isCode(error, 'ENOENT')) return {text: '', exists: false, stat: undefined, handle: undefined}
    throw readError(file, error)
  }
  try {
    const stat = await handle.stat()
    const buffer = await handle.readFile()
    return {text: buffer.toString('latin1'), exists: true, stat, handle}
  } catch (error) {
    await handle.close().catch(() => undefined)
    throw readError(file, error)
  }
}

async function ensureDir(dir: string, file: string): Promise<void> {
  try {
    // A new ~/.ssh must be private: ssh refuses keys in a group-writable directory.
    await mkdirOwned(dir)
  } catch (error) {
    throw writeError(file, error)
  }
}

/**
 * `mkdir -p` for what ona keeps under a home (~/.ssh, its config, state and key directories), private
 * (0700 unless `mode` says otherwise). As root on someone else's home (`sudo -E ona ...`), each directory
 * made gets the owner of the directory it was made in, so the user can read and replace what ona wrote.
 */
export async function mkdirOwned(dir: string, mode = 0o700): Promise<void> {
  const first = await fs.mkdir(dir, {recursive: true, mode})
  if (first === undefined) return
  const owner = await ownerIn(path.dirname(first))
  if (!owner) return
  for (let d = dir; ; d = path.dirname(d)) {
    await fs.chown(d, owner.uid, owner.gid)
    if (d === first || path.dirname(d) === d) break
  }
}

/**
 * A file ona has just created (before it is linked or renamed into place): as root on someone else's home
 * it gets the owner of its directory (a key, a token file, settings, state), never root.
 */
export async function ownLikeDirectory(file: string): Promise<void> {
  const owner = await ownerIn(path.dirname(file))
  if (owner) await fs.chown(file, owner.uid, owner.gid)
}

/**
 * When running as root: the owner that something new in `dir` must get, which is the directory's owner when
 * that is not root (`sudo -E ona ssh-sync` on a user's home must not leave root-owned files the user cannot
 * edit, or that ssh refuses). Undefined when nothing is to be changed.
 */
export async function ownerIn(dir: string): Promise<{uid: number; gid: number} | undefined> {
  if (typeof process.getuid !== 'function' || process.getuid() !== 0) return undefined
  const stat = await fs.stat(dir).catch(() => undefined)
  if (!stat || stat.uid === 0) return undefined
  return {uid: stat.uid, gid: stat.gid}
}

/** The lock and backup beside the target: dotfiles, which OpenSSH's Include globs never read. */
export function lockPathFor(realPath: string): string {
  return path.join(path.dirname(realPath), `.${path.basename(realPath)}.ona-lock`)
}

export function backupPathFor(realPath: string): string {
  return path.join(path.dirname(realPath), `.${path.basename(realPath)}.ona-backup`)
}

/**
 * Earlier versions kept `<file>.ona-backup` and `<file>.ona-lock` beside the file, where `Include dir/*` reads
 * them and ssh fails ("Bad configuration option"). The backup is moved to its dotfile name (an existing
 * dotfile backup is the older one and is kept: the old one is then removed only if identical); a lock of the
 * old name whose holder is gone is removed.
 */
async function migrateOldNames(realPath: string): Promise<void> {
  const oldBackup = `${realPath}.ona-backup`
  const newBackup = backupPathFor(realPath)
  try {
    await fs.link(oldBackup, newBackup)
    await fs.rm(oldBackup, {force: true})
  } catch (error) {
    if (isCode(error, 'EEXIST')) {
      const [a, b] = await Promise.all([fs.readFile(oldBackup).catch(() => undefined), fs.readFile(newBackup).catch(() => undefined)])
      if (a && b && a.equals(b)) await fs.rm(oldBackup, {force: true})
    }
  }
  await takeOverIfStale(`${realPath}.ona-lock`)
}

async function writeTemp(realPath: string, text: string, stat: Stats | undefined): Promise<string> {
  const temp = tempName(realPath)
  let handle: fs.FileHandle | undefined
  try {
    handle = await fs.open(temp, fsConstants.O_WRONLY | fsConstants.O_CREAT | fsConstants.O_EXCL, 0o600)
    await handle.writeFile(Buffer.from(text, 'latin1'))
    // Explicit chmod: the mode given to open() is filtered by the umask.
    await handle.chmod(stat ? stat.mode & 0o7777 : 0o600)
    const owner = stat ? (isRoot() && (stat.uid !== 0 || stat.gid !== 0) ? {uid: stat.uid, gid: stat.gid} : undefined) : await ownerIn(path.dirname(realPath))
    if (owner) await handle.chown(owner.uid, owner.gid)
    await handle.sync()
    await handle.close()
    handle = undefined
    return temp
  } catch (error) {
    await handle?.close().catch(() => undefined)
    await fs.rm(temp, {force: true})
    throw writeError(realPath, error, stat !== undefined)
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

function isRoot(): boolean {
  return typeof process.getuid === 'function' && process.getuid() === 0
}

/**
 * Keeps `text`, the version about to be replaced, as the backup beside the file: one generation, replaced at
 * every write that changes the file, mode 0600, the original's owner. Filled and synced under a temp name,
 * then renamed into place: never a partial backup, and a symlink planted at the backup's name is replaced,
 * never followed. `created`: there was no backup before (the first write).
 */
async function keepPrevious(realPath: string, text: string, original: Stats | undefined): Promise<{path: string; created: boolean}> {
  const backupPath = backupPathFor(realPath)
  const created = !(await fs.lstat(backupPath).then(() => true, () => false))
  const temp = tempName(realPath, 'backup')
  try {
    const handle = await fs.open(temp, fsConstants.O_WRONLY | fsConstants.O_CREAT | fsConstants.O_EXCL, 0o600)
    try {
      await handle.writeFile(Buffer.from(text, 'latin1'))
      await handle.chmod(0o600)
      // The backup is the user's file: it keeps the original's owner, not root's.
      if (original && isRoot() && (original.uid !== 0 || original.gid !== 0)) await handle.chown(original.uid, original.gid)
      await handle.sync()
    } finally {
      await handle.close()
    }
    await renameWithRetry(temp, backupPath)
    return {path: backupPath, created}
  } catch (error) {
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
  /** The holder's process start time where the OS tells it (Linux): a reused pid has another one. */
  started?: string
}

/**
 * An exclusive lock file beside the target. A lock whose holder is dead (same host) or that is older than
 * two minutes is taken over; the check re-reads the lock just before removing it, so a fresh lock taken by a
 * third process in the meantime is not removed.
 */
export async function acquireLock(realPath: string, timeoutMs: number): Promise<() => Promise<void>> {
  const lockPath = lockPathFor(realPath)
  const owner = await ownerIn(path.dirname(realPath))
  const started = processStartTime(process.pid)
  const info: LockInfo = {pid: process.pid, host: os.hostname(), token: randomBytes(8).toString('hex'), ...(started ? {started} : {})}
  const deadline = Date.now() + timeoutMs
  let delay = 5
  for (;;) {
    // The lock appears with its content in one step (link of a filled temp file), so a holder killed at any
    // moment leaves either no lock or a lock that names it; an empty lock could not be judged stale.
    const temp = tempName(realPath, 'lock')
    try {
      await fs.writeFile(temp, JSON.stringify(info), {mode: 0o600})
      if (owner) await fs.chown(temp, owner.uid, owner.gid)
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
  const dead = holder.host === os.hostname() && typeof holder.pid === 'number' && !holderAlive(holder.pid, holder.started)
  if (!dead && ageMs < 120_000) return
  const again = await fs.readFile(lockPath, 'utf8').catch(() => undefined)
  if (again === raw) await fs.rm(lockPath, {force: true})
}

/**
 * Whether the process that wrote a lock still runs: its pid exists and, where the OS tells a process's
 * start time (Linux), it is the same process and not an unrelated one that got the pid later.
 */
export function holderAlive(pid: number, started: string | undefined): boolean {
  if (!processAlive(pid)) return false
  if (started === undefined) return true
  const now = processStartTime(pid)
  return now === undefined || now === started
}

/** Start time of a process in clock ticks since boot (Linux /proc/<pid>/stat field 22), with the boot id. */
export function processStartTime(pid: number): string | undefined {
  if (process.platform !== 'linux') return undefined
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    // The command name (field 2) may hold spaces and parentheses: count fields after its closing one.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    const ticks = fields[19]
    if (ticks === undefined) return undefined
    const boot = bootId ??= readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim()
    return `${boot}:${ticks}`
  } catch {
    return undefined
  }
}
let bootId: string | undefined

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

/**
 * The error for a failed write, with a hint for its cause: a full disk or a read-only file system is not a
 * permissions problem. `existed` says whether there was a file to leave alone (undefined: not known yet).
 */
export function writeError(file: string, error: unknown, existed?: boolean): OnaError {
  if (error instanceof OnaError) return error
  const code = (error as {code?: string}).code ?? 'unknown'
  const untouched = existed === true ? 'the original file was left as it was' : existed === false ? 'no file was created' : 'the SSH config was not changed'
  // A config ona may not write (read-only mount, generated by a dotfiles tool): ona's aliases can live in a file of their own.
  const elsewhere = `or keep ona's aliases in a file you can write: \`ona ssh-sync --ssh-config <writable file>\`, plus \`Include <writable file>\` at the top of ${file} (in its source, if a tool generates it)`
  const why: Record<string, string> = {
    ENOSPC: `The disk holding ${path.dirname(file)} is full: free some space and run the command again; ${untouched}.`,
    EDQUOT: `Your disk quota is used up: free some space and run the command again; ${untouched}.`,
    EROFS: `${path.dirname(file)} is on a read-only file system: make it writable, ${elsewhere}; ${untouched}.`,
    EACCES: `Check the permissions of the file and its directory, ${elsewhere}; ${untouched}.`,
    EPERM: `Check the permissions of the file and its directory (and that no program holds it open), ${elsewhere}; ${untouched}.`,
  }
  const hint = why[code] ?? `Writing failed (${code}); ${untouched}.`
  return new OnaError('ERR_SSH_CONFIG_WRITE', `cannot write ${file} (${code})`, {cause: error, hint, details: {file, code}})
}
