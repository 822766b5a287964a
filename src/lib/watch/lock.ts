/**
 * One watcher per (SSH config, API origin), and a way for other `ona` commands to talk to it.
 *
 * Each install owns its part of the block, so two installs may each keep one file current: their writes
 * are serialised by the config's write lock (fs/safe-write.ts), and each rewrites only its own part. A
 * second watcher for the same file and origin is refused.
 *
 * Liveness comes from the kernel, not from timing. The running watcher listens on a local socket (a Unix
 * domain socket, a named pipe on Windows) under a name with a random part, opened before it takes the
 * lock; the lock file names that socket. A watcher whose socket accepts a connection is alive, however
 * slowly it answers (stopped with Ctrl-Z, a closed lid, busy writing a 12 MB config): its lock is never
 * taken over. Only a refused connection (ECONNREFUSED, ENOENT) or a holder process that no longer exists
 * (pid gone, or reused by a process started at another time) means dead. Since the socket exists before
 * the lock does, there is no start-up window to wait out.
 *
 * Sockets and locks live only in private per-user directories: the lock in the state dir (owned by the
 * user and writable by nobody else, or the watcher refuses to start), the socket in the state dir when it
 * is private (0700) and the path fits a socket address (about 104 bytes on macOS, 108 on Linux), else in
 * `$XDG_RUNTIME_DIR/ona`, else in a fresh 0700 directory of random name in the temp dir; owner and mode
 * are checked each time. Other commands find the socket through the lock file, never by guessing a name
 * in a shared directory, so another local user listening somewhere cannot pass for the watcher. On
 * Windows the pipe name carries 16 random hex digits and is found the same way (the lock lives in
 * %LOCALAPPDATA%, which only the user can read).
 *
 * After an upgrade, a watcher of an ona from before this scheme may still run (its lock names no socket;
 * it listened at a fixed name, in the state dir, the temp dir or a machine-wide pipe). It is judged by its
 * process, never by probing those names: while its pid runs `ssh-sync --watch` it holds the lock (a new
 * watcher is refused, saying so), `ssh-sync --remove` stops it (SIGTERM where its socket is not in the
 * state dir), and a lock it left behind is taken over once its pid is gone or runs something else.
 *
 * Messages are one JSON line each way: `{"action":"stop","reason":...}` (ssh-sync --remove: the watcher
 * stops writing at once, finishes a write in progress, answers, and exits) and `{"action":"resync"}` (a
 * setting changed: the watcher rewrites the block under the new setting). A small status file (running,
 * last sync, last error) is kept beside the lock for `ona service status`.
 */
import {createHash, randomBytes} from 'node:crypto'
import fs from 'node:fs/promises'
import net from 'node:net'
import os from 'node:os'
import path from 'node:path'

import type {Context} from '../context.js'
import {OnaError} from '../errors.js'
import {holderAlive, mkdirOwned, ownLikeDirectory, processStartTime, resolveTarget} from '../fs/safe-write.js'
import {readSmallFile} from '../fs/small-file.js'

export interface ControlMessage {
  action: 'stop' | 'resync' | 'ping'
  reason?: string
}

export interface WatcherStatus {
  pid?: number
  running?: boolean
  startedAt?: string
  stoppedAt?: string
  lastSync?: string
  lastError?: string
  lastErrorAt?: string
  environments?: number
  sshConfig?: string
  origin?: string
}

export interface WatchLock {
  /** Handlers for messages from other commands. */
  onControl(handler: (message: ControlMessage) => void): void
  /** True once a `stop` arrived: no write may start any more. */
  stopping(): boolean
  /** Merges into the status file (best effort). */
  status(patch: WatcherStatus): Promise<void>
  /** The socket (or pipe) this watcher listens on, as its lock file names it. */
  readonly socketPath: string
  release(): Promise<void>
}

export interface WatchPaths {
  stateDir: string
  lockPath: string
  /**
   * Where an ona from before issue 18 listened when its state dir could hold the socket (a fixed name in
   * the private state dir): used only to send a message to a watcher still running that code, whose lock
   * names no socket. Never on Windows (that ona's pipe had a fixed, machine-wide name anyone can take) and
   * never in the temp dir (that ona's fallback: a name anyone can compute): such a watcher is judged by its
   * process alone (see `legacyHolderRuns`).
   */
  legacySocketPath?: string
  statusPath: string
  /** Written by `ona ssh-sync --remove`: the user took the block out; a service must not put it back. */
  removedPath: string
  /** The OS whose rules judge an earlier ona's holder (ctx.platform: injected in tests). */
  platform: NodeJS.Platform
}

/** What a lock file says about its holder. */
interface Holder {
  pid?: number
  /** The holder's process start time (Linux): a pid reused by another process is not the holder. */
  started?: string
  host?: string
  socket?: string
  origin?: unknown
}

const digest = (text: string, length: number) => createHash('sha256').update(text).digest('hex').slice(0, length)

/** The state files' common prefix for one SSH config: `watch-<hash of its real path>`. */
async function fileKey(ctx: Context): Promise<string> {
  const {realPath} = await resolveTarget(ctx.paths.sshConfig)
  return `watch-${digest(realPath, 16)}`
}

/** Where the watcher of this SSH config for this API origin keeps its lock and status. */
export async function watchPaths(ctx: Context, origin: string): Promise<WatchPaths> {
  return pathsFor(ctx, `${await fileKey(ctx)}-${digest(origin, 8)}`)
}

function pathsFor(ctx: Context, name: string): WatchPaths {
  const key = name.slice('watch-'.length)
  const dir = ctx.paths.stateDir
  const lockPath = path.join(dir, `watch-${key}.lock`)
  const statusPath = path.join(dir, `watch-${key}.status.json`)
  const removedPath = path.join(dir, `watch-${key}.removed.json`)
  const legacy = path.join(dir, `watch-${key}.sock`)
  const legacySocketPath = ctx.platform.name !== 'win32' && Buffer.byteLength(legacy) <= 100 ? legacy : undefined
  return {stateDir: dir, lockPath, statusPath, removedPath, platform: ctx.platform.name, ...(legacySocketPath ? {legacySocketPath} : {})}
}

/** The longest socket path the platform takes, in bytes without the final NUL (sun_path: 104 on macOS and the BSDs, 108 on Linux). */
export function socketPathLimit(platform: NodeJS.Platform): number {
  return platform === 'linux' ? 107 : 103
}

/** The socket a lock file names (or, for a lock written by an older ona, where that one listened). */
function socketOf(paths: WatchPaths, holder: Holder): string | undefined {
  return typeof holder.socket === 'string' && holder.socket !== '' ? holder.socket : paths.legacySocketPath
}

async function readHolder(paths: WatchPaths): Promise<{raw: string; holder: Holder} | undefined> {
  const raw = await readSmallFile(paths.lockPath, 'utf8').catch(() => undefined)
  return raw === undefined ? undefined : {raw, holder: parse(raw)}
}

/**
 * Whether something accepts connections at `socketPath`, asked of the kernel: a connection accepted is
 * alive, whether or not anyone answers on it (a stopped or busy process still has its socket accepted
 * into the backlog). Only ECONNREFUSED and ENOENT (and a path that is not a socket) mean nobody is there;
 * anything else, a connection that neither succeeds nor fails in `timeoutMs` included, is not proof of
 * death and counts as alive.
 */
export function probeSocket(socketPath: string, timeoutMs = 5000): Promise<'alive' | 'dead'> {
  return new Promise((resolve) => {
    const socket = net.connect(socketPath)
    const done = (state: 'alive' | 'dead') => {
      clearTimeout(timer)
      socket.destroy()
      resolve(state)
    }
    const timer = setTimeout(() => done('alive'), timeoutMs)
    socket.once('connect', () => done('alive'))
    socket.once('error', (error: NodeJS.ErrnoException) => done(DEAD_CODES.has(error.code ?? '') ? 'dead' : 'alive'))
  })
}

const DEAD_CODES = new Set(['ECONNREFUSED', 'ENOENT', 'ENOTSOCK', 'ENOTDIR'])

/** A lock written by an ona from before issue 18: it names no socket (and no process start time). */
const isLegacy = (holder: Holder) => typeof holder.socket !== 'string' || holder.socket === ''

/**
 * Whether the holder a lock names is alive: its process exists and its socket accepts connections.
 *
 * A lock from an ona before issue 18 (no socket named) is judged by its process: that watcher may listen
 * where this ona never looks (the temp dir, or a pipe name anyone can take), and judging it dead would let
 * two watchers write one file. It is alive while its pid runs `ssh-sync --watch` (see `legacyHolderRuns`),
 * so an unrelated process that got the pid after a crash does not hold the next watcher off.
 */
async function holderIsAlive(paths: WatchPaths, holder: Holder): Promise<boolean> {
  const local = holder.host === undefined || holder.host === os.hostname()
  if (typeof holder.pid === 'number' && local && !holderAlive(holder.pid, holder.started)) return false
  if (isLegacy(holder)) return typeof holder.pid === 'number' && local && (await legacyHolderRuns(holder.pid, paths.platform))
  const socketPath = socketOf(paths, holder)
  if (socketPath === undefined) return false
  return (await probeSocket(socketPath)) === 'alive'
}

/**
 * Whether the live process `pid` is an `ona ssh-sync --watch`, for deciding whether to start beside it.
 * Unknown counts as a watcher: never two writers (see legacyHolderKind).
 */
export async function legacyHolderRuns(pid: number, platform: NodeJS.Platform = process.platform): Promise<boolean> {
  return (await legacyHolderKind(pid, platform)) !== 'other'
}

/**
 * What the live process `pid` is, as the kernel tells its command line (Linux /proc, `ps` elsewhere;
 * Windows: the process's CommandLine through PowerShell's CIM, else `tasklist`, which says only whether
 * it is node at all). `watcher`: its command line runs `ssh-sync --watch`; `other`: it does not, or it is
 * not node; `unknown`: the command line could not be read. Only `watcher` may be sent a signal: on
 * Windows any node.exe (an editor's server, a build) may have taken an earlier watcher's pid.
 */
export async function legacyHolderKind(pid: number, platform: NodeJS.Platform = process.platform): Promise<'watcher' | 'other' | 'unknown'> {
  if (platform === 'win32') {
    const command = await windowsCommandLineOf(pid)
    if (command !== undefined) return isWatcherCommand(command.split(/\s+/).map((word) => word.replace(/^"|"$/g, ''))) ? 'watcher' : 'other'
    const listed = await run('tasklist', ['/FO', 'CSV', '/NH', '/FI', `PID eq ${pid}`])
    return listed === undefined || /^"?node(\.exe)?"?,/i.test(listed.trim()) ? 'unknown' : 'other'
  }
  const command = platform === 'linux' ? await fs.readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => undefined) : await run('ps', ['-o', 'command=', '-p', String(pid)])
  if (command === undefined) return 'unknown'
  return isWatcherCommand(command.split(platform === 'linux' ? '\0' : /\s+/)) ? 'watcher' : 'other'
}

/** How to stop an earlier ona's watcher that holds the lock. */
function legacyStopHint(platform: NodeJS.Platform, pid: number | undefined): string {
  // Windows: its command line may not be readable, and then ona sends it nothing (the pid may be any node.exe).
  const byHand = platform === 'win32' ? `if pid ${pid} is ona's watcher, end it by hand (\`taskkill /PID ${pid}\` or Task Manager)` : `\`ona ssh-sync --remove\` stops it; or \`kill ${pid}\``
  return `Stop it (${byHand}), or restart its service (\`ona service install\`), then start this one again.`
}

/** A command line (its words) that runs ona's watcher: `... ssh-sync ... --watch ...`. */
export function isWatcherCommand(words: string[]): boolean {
  const at = words.indexOf('ssh-sync')
  return at !== -1 && words.slice(at + 1).includes('--watch')
}

/** Windows: the command line of `pid` (Win32_Process.CommandLine); undefined when it cannot be read. */
function windowsCommandLineOf(pid: number): Promise<string | undefined> {
  const query = `(Get-CimInstance Win32_Process -Filter 'ProcessId=${Math.trunc(pid)}').CommandLine`
  return run('powershell.exe', ['-NoProfile', '-NonInteractive', '-Command', query])
}

/** A tool's standard output; undefined when it failed, is missing or printed nothing. */
async function run(file: string, args: string[]): Promise<string | undefined> {
  const {execFile} = await import('node:child_process')
  return new Promise((resolve) => {
    execFile(file, args, {timeout: 5000, windowsHide: true}, (error, stdout) => resolve(error || String(stdout).trim() === '' ? undefined : String(stdout)))
  })
}

/** Sends one message to the running watcher; undefined when none is there (no lock, or a dead holder). */
export async function sendToWatcher(paths: WatchPaths, message: ControlMessage, timeoutMs = 3000): Promise<{ok: boolean; pid?: number; state?: string} | undefined> {
  const lock = await readHolder(paths)
  const socketPath = lock ? socketOf(paths, lock.holder) : undefined
  if (socketPath === undefined) return undefined
  return sendOnce(socketPath, message, timeoutMs)
}

function sendOnce(socketPath: string, message: ControlMessage, timeoutMs: number): Promise<{ok: boolean; pid?: number; state?: string} | undefined> {
  return new Promise((resolve) => {
    let settled = false
    let buffer = ''
    const done = (value: {ok: boolean; pid?: number; state?: string} | undefined) => {
      if (settled) return
      settled = true
      clearTimeout(timer)
      socket.destroy()
      resolve(value)
    }
    const socket = net.connect(socketPath)
    let connected = false
    // Connected but no answer in time: the watcher got the message (a stop is in effect at once) but is slow.
    const timer = setTimeout(() => done(connected ? {ok: false, state: 'no-answer'} : undefined), timeoutMs)
    socket.setEncoding('utf8')
    socket.on('connect', () => {
      connected = true
      socket.write(`${JSON.stringify(message)}\n`)
    })
    socket.on('data', (chunk: string) => {
      buffer += chunk
      const newline = buffer.indexOf('\n')
      if (newline === -1) return
      try {
        done(JSON.parse(buffer.slice(0, newline)) as {ok: boolean; pid?: number; state?: string})
      } catch {
        done(undefined)
      }
    })
    socket.on('error', () => done(undefined))
    socket.on('close', () => done(undefined))
  })
}

/**
 * Tells the watcher of this config for `origin` (if one runs) to stop or to resync. For `stop`, waits until
 * it released its lock (it answers then), so the caller can change the file without the watcher undoing it.
 */
export async function tellWatcher(ctx: Context, origin: string, message: ControlMessage): Promise<{pid: number; state: string} | undefined> {
  return tellAt(await watchPaths(ctx, origin), message)
}

async function tellAt(paths: WatchPaths, message: ControlMessage): Promise<{pid: number; state: string} | undefined> {
  const answer = await sendToWatcher(paths, message, message.action === 'stop' ? 10_000 : 3000)
  if (answer?.ok && typeof answer.pid === 'number') return {pid: answer.pid, state: answer.state ?? 'running'}
  if (answer === undefined && message.action === 'stop') return stopLegacyHolder(paths)
  if (answer?.state !== 'no-answer') return undefined
  const holder = parse(await readSmallFile(paths.lockPath, 'utf8').catch(() => ''))
  return {pid: holder.pid ?? 0, state: 'no-answer'}
}

/**
 * A watcher of an ona from before issue 18 that this ona cannot reach (it listens in the temp dir or on a
 * fixed pipe name, where this ona does not look): stopped with SIGTERM, which it handles like a stop
 * (lock released, exit 0, and its service manager does not restart a clean exit), once the kernel says
 * its pid runs `ssh-sync --watch`. Waits up to 10 s for its lock to go. A holder still alive whose command
 * line could not be read is sent nothing (state `unconfirmed`: the user stops it by hand).
 */
async function stopLegacyHolder(paths: WatchPaths): Promise<{pid: number; state: string} | undefined> {
  const lock = await readHolder(paths)
  if (!lock || !isLegacy(lock.holder) || !(await holderIsAlive(paths, lock.holder))) return undefined
  const pid = lock.holder.pid!
  if ((await legacyHolderKind(pid, paths.platform)) !== 'watcher') return {pid, state: 'unconfirmed'}
  try {
    process.kill(pid, 'SIGTERM')
  } catch {
    return undefined
  }
  for (let waited = 0; waited < 10_000; waited += 100) {
    const now = await fs.readFile(paths.lockPath, 'utf8').catch(() => undefined)
    if (now !== lock.raw || !holderAlive(pid, undefined)) return {pid, state: 'stopped'}
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
  return {pid, state: 'no-answer'}
}

/**
 * Stops every watcher of this config, whatever origin it serves (`--remove --all`): each one found by its
 * lock file in the state dir, which names its origin. Answers in the order the watchers answered.
 */
export async function stopAllWatchers(ctx: Context, message: ControlMessage): Promise<Array<{pid: number; state: string; origin: string}>> {
  const prefix = `${await fileKey(ctx)}-`
  const names = await fs.readdir(ctx.paths.stateDir).catch(() => [] as string[])
  const origins = new Set<string>()
  for (const name of names) {
    if (!name.startsWith(prefix) || !name.endsWith('.lock')) continue
    const holder = parse(await fs.readFile(path.join(ctx.paths.stateDir, name), 'utf8').catch(() => ''))
    if (typeof holder.origin === 'string') origins.add(holder.origin)
  }
  const answers = await Promise.all([...origins].map(async (origin) => {
    const answer = await tellWatcher(ctx, origin, message)
    return answer ? {...answer, origin} : undefined
  }))
  return answers.filter((a) => a !== undefined)
}

/**
 * The watcher holding the lock for `origin`, if it is alive (its socket accepts a connection: a watcher
 * that is stopped or busy still counts as running).
 */
export async function runningWatcher(ctx: Context, origin: string): Promise<{pid: number; paths: WatchPaths} | undefined> {
  const paths = await watchPaths(ctx, origin)
  const lock = await readHolder(paths)
  if (!lock || typeof lock.holder.pid !== 'number' || !(await holderIsAlive(paths, lock.holder))) return undefined
  return {pid: lock.holder.pid, paths}
}

/**
 * `ona ssh-sync --remove` records that the user took the block out: for one origin, or (`all`, from
 * `--remove --all`) for every origin, in a file-level record. A plain sync of an origin forgets it for that
 * origin only: it is added to the file-level record's exceptions, so another install's service still does
 * not put its part back.
 */
export async function recordRemoved(ctx: Context, origin: string, removed: boolean, options: {all?: boolean} = {}): Promise<void> {
  const {removedPath} = await watchPaths(ctx, origin)
  const allPath = pathsFor(ctx, await fileKey(ctx)).removedPath
  if (!removed) {
    await fs.rm(removedPath, {force: true})
    const all = await readRemoved(allPath)
    if (all && !all.except.includes(origin)) await writeRemoved(allPath, {...all, except: [...all.except, origin]})
    return
  }
  await mkdirOwned(path.dirname(removedPath))
  await writeRemoved(options.all ? allPath : removedPath, {at: new Date().toISOString(), pid: process.pid, except: []})
}

interface RemovedRecord {
  at: string
  pid?: number
  /** File-level record only: origins synced again since (their service may write again). */
  except: string[]
}

async function readRemoved(file: string): Promise<RemovedRecord | undefined> {
  try {
    const parsed = JSON.parse(await readSmallFile(file, 'utf8')) as {at?: unknown; except?: unknown}
    return {at: typeof parsed.at === 'string' ? parsed.at : 'an earlier time', except: Array.isArray(parsed.except) ? parsed.except.filter((e): e is string => typeof e === 'string') : []}
  } catch {
    return undefined
  }
}

async function writeRemoved(file: string, record: RemovedRecord): Promise<void> {
  const temp = `${file}.${process.pid}.tmp`
  await writeOwned(temp, JSON.stringify(record))
  await fs.rename(temp, file)
}

/** When `origin`'s aliases were removed by `ona ssh-sync --remove` (and not brought back since), if they were. */
export async function removedAt(ctx: Context, origin: string): Promise<string | undefined> {
  const own = await readRemoved((await watchPaths(ctx, origin)).removedPath)
  if (own) return own.at
  const all = await readRemoved(pathsFor(ctx, await fileKey(ctx)).removedPath)
  return all && !all.except.includes(origin) ? all.at : undefined
}

export async function readWatcherStatus(ctx: Context, origin: string): Promise<WatcherStatus | undefined> {
  const {statusPath} = await watchPaths(ctx, origin)
  try {
    return JSON.parse(await fs.readFile(statusPath, 'utf8')) as WatcherStatus
  } catch {
    return undefined
  }
}

/**
 * Takes the lock or throws ERR_WATCH_RUNNING naming the live holder. The socket is opened first, in a
 * private directory, under a name of its own; the lock, linked in one step, names it. A holder whose
 * socket refuses connections (or whose process is gone) is dead: its lock and socket are removed and the
 * lock taken. A holder whose socket accepts is alive, however long it takes to answer.
 */
export interface WatchLockOptions {
  /**
   * How often the watcher checks that its lock is still its own and its socket still there. Default 60 s.
   * A socket deleted from under it (a cleaner of old files in the temp dir, a user tidying up) is opened
   * again and the lock updated to name it; a lock that is no longer its own makes it stop.
   */
  socketCheckMs?: number
}

export async function acquireWatchLock(ctx: Context, origin: string, options: WatchLockOptions = {}): Promise<WatchLock> {
  const paths = await watchPaths(ctx, origin)
  await privateStateDir(ctx)
  const token = randomBytes(8).toString('hex')
  const key = path.basename(paths.lockPath, '.lock').slice('watch-'.length)
  const control = controlServer()
  const endpoint = await listenPrivately(ctx, control.server, key, token)
  try {
    const mine = JSON.stringify({
      pid: process.pid,
      token,
      startedAt: new Date().toISOString(),
      ...(processStartTime(process.pid) ? {started: processStartTime(process.pid)} : {}),
      socket: endpoint.socketPath,
      config: ctx.paths.sshConfig,
      origin,
      host: os.hostname(),
    })
    for (let attempt = 0; attempt < 5; attempt++) {
      const temp = `${paths.lockPath}.${process.pid}.${token}.tmp`
      await writeOwned(temp, mine)
      let linked = false
      try {
        await fs.link(temp, paths.lockPath)
        linked = true
      } catch (error) {
        if ((error as {code?: string}).code !== 'EEXIST') throw error
      } finally {
        await fs.rm(temp, {force: true})
      }
      if (linked) return lockHandle(ctx, {paths, mine, origin, control, endpoint, key, options})
      const lock = await readHolder(paths)
      if (!lock) continue
      if (await holderIsAlive(paths, lock.holder)) {
        const pid = lock.holder.pid
        const legacy = isLegacy(lock.holder)
        throw new OnaError('ERR_WATCH_RUNNING', `another \`ona ssh-sync --watch\`${pid ? ` (pid ${pid})` : ''}${legacy ? ', started by an earlier ona version,' : ''} already keeps ${ctx.paths.sshConfig} current for ${origin}`, {
          ...(legacy ? {hint: legacyStopHint(paths.platform, pid)} : {}),
          details: {pid, lockPath: paths.lockPath, origin},
        })
      }
      // Remove only the lock that was judged (a third watcher may have taken a fresh one meanwhile).
      const again = await fs.readFile(paths.lockPath, 'utf8').catch(() => undefined)
      if (again === lock.raw) {
        await fs.rm(paths.lockPath, {force: true})
        await removeDeadSocket(ctx, paths, lock.holder)
      }
    }
    throw new OnaError('ERR_WATCH_RUNNING', `could not take the watch lock for ${ctx.paths.sshConfig} (${origin})`, {details: {lockPath: paths.lockPath, origin}})
  } catch (error) {
    await closeEndpoint(ctx, control.server, endpoint)
    throw error
  }
}

/**
 * A file of the watcher's own in the state dir (lock, status, removal record), written before it is linked
 * or renamed into place: private, and under sudo on someone's home that home owner's, like everything ona
 * creates there (fs/safe-write.ts), so the user's own ona can replace it later.
 */
async function writeOwned(temp: string, text: string): Promise<void> {
  await fs.writeFile(temp, text, {mode: 0o600})
  await ownLikeDirectory(temp)
}

function parse(raw: string): Holder {
  try {
    const value = JSON.parse(raw) as unknown
    return value && typeof value === 'object' ? (value as Holder) : {}
  } catch {
    return {}
  }
}

// ---- private directories ------------------------------------------------------------------------------

/** The effective uid on POSIX (undefined on Windows, where directories are protected by ACLs instead). */
function euid(): number | undefined {
  return typeof process.geteuid === 'function' ? process.geteuid() : undefined
}

/**
 * Whether `dir` belongs to this user (root: to anyone, as root may run on a user's home with `sudo -E`)
 * and nobody else may write in it (`strict`: nor read or enter it, as for a directory holding sockets).
 */
async function isPrivate(dir: string, strict: boolean): Promise<boolean> {
  const stat = await fs.stat(dir).catch(() => undefined)
  if (!stat?.isDirectory()) return false
  const uid = euid()
  if (uid !== undefined && uid !== 0 && stat.uid !== uid) return false
  return (stat.mode & (strict ? 0o077 : 0o022)) === 0
}

/**
 * Creates the state dir (0700) and checks it: owned by this user and writable by nobody else, or the
 * watcher refuses to start (anyone who can write there could plant a lock, or replace one).
 */
async function privateStateDir(ctx: Context): Promise<void> {
  const dir = ctx.paths.stateDir
  await mkdirOwned(dir)
  if (ctx.platform.name === 'win32' || euid() === undefined) return
  if (await isPrivate(dir, false)) return
  throw new OnaError('ERR_STATE_DIR_UNSAFE', `${dir} belongs to another user or others may write in it, so ona cannot keep the watcher's lock there`, {details: {dir}})
}

interface Endpoint {
  socketPath: string
  /** A directory created for this socket alone (removed with it). */
  ownDir?: string
}

/**
 * Listens on a socket of name `watch-<key>.<token>.sock` in the first private directory that can hold it:
 * the state dir, `$XDG_RUNTIME_DIR/ona`, a fresh 0700 directory in the temp dir (then `/tmp`, for a long
 * macOS $TMPDIR). A directory is used only if owned by this user and closed to everyone else, and only if
 * the socket path fits; a directory that cannot hold a socket (a network or FUSE file system) is skipped.
 * Windows: a named pipe whose name carries the random token.
 */
async function listenPrivately(ctx: Context, server: net.Server, key: string, token: string): Promise<Endpoint> {
  if (ctx.platform.name === 'win32') {
    const socketPath = windowsPipeName(key, token)
    await listenOn(server, socketPath)
    return {socketPath}
  }
  const limit = socketPathLimit(ctx.platform.name)
  const name = `watch-${key}.${token}.sock`
  const fits = (p: string) => Buffer.byteLength(p) <= limit
  const tried: string[] = []
  const attempt = async (dir: string, socketName: string, ownDir?: string): Promise<Endpoint | undefined> => {
    const socketPath = path.join(dir, socketName)
    tried.push(socketPath)
    if (!fits(socketPath) || !(await isPrivate(dir, true))) return undefined
    try {
      await listenOn(server, socketPath)
    } catch {
      return undefined
    }
    // Belt and braces: the directory already keeps others out. Under sudo, the home's owner can reach it.
    await fs.chmod(socketPath, 0o600).catch(() => undefined)
    await ownLikeDirectory(socketPath).catch(() => undefined)
    return {socketPath, ...(ownDir ? {ownDir} : {})}
  }
  const state = await attempt(ctx.paths.stateDir, name)
  if (state) return state
  const runtime = ctx.env.XDG_RUNTIME_DIR
  if (runtime && path.isAbsolute(runtime) && (await isPrivate(runtime, true))) {
    const dir = path.join(runtime, 'ona')
    await mkdirOwned(dir).catch(() => undefined)
    const found = await attempt(dir, name)
    if (found) return found
  }
  for (const base of new Set([os.tmpdir(), '/tmp'])) {
    // mkdtemp: a name nobody can guess beforehand, created 0700 by this call (checked all the same).
    const dir = await fs.mkdtemp(path.join(base, 'ona-')).catch(() => undefined)
    if (!dir) continue
    const found = await attempt(dir, 'w.sock', dir)
    if (found) return found
    await fs.rm(dir, {recursive: true, force: true})
  }
  throw new OnaError('ERR_WATCH_SOCKET', `could not open the watcher's socket in a private directory (tried ${tried.join(', ')})`, {details: {tried}})
}

/**
 * The named pipe of one Windows watcher: the random token makes the name impossible to take first (pipe
 * names are machine-wide); clients read it from the lock file in %LOCALAPPDATA%, which only the user can
 * read. The pipe itself gets libuv's default security (full access for the owner, SYSTEM and
 * administrators; read-only for others, which a client opening it to write is not).
 */
export function windowsPipeName(key: string, token: string): string {
  return `\\\\.\\pipe\\ona-watch-${key}-${token}`
}

function listenOn(server: net.Server, socketPath: string): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const onError = (error: Error) => reject(error)
    server.once('error', onError)
    server.listen(socketPath, () => {
      server.off('error', onError)
      resolve()
    })
  })
}

async function closeEndpoint(ctx: Context, server: net.Server, endpoint: Endpoint): Promise<void> {
  await new Promise<void>((resolve) => server.close(() => resolve()))
  if (ctx.platform.name === 'win32') return
  // server.close() unlinks the socket file; the directory made for it goes too.
  await fs.rm(endpoint.socketPath, {force: true}).catch(() => undefined)
  if (endpoint.ownDir) await fs.rm(endpoint.ownDir, {recursive: true, force: true}).catch(() => undefined)
}

/**
 * After taking over a dead holder's lock: its socket file is removed, with the directory made for it,
 * but only where ona puts sockets (a lock is ona's own file, yet nothing outside those places is touched).
 */
async function removeDeadSocket(ctx: Context, paths: WatchPaths, holder: Holder): Promise<void> {
  if (ctx.platform.name === 'win32') return
  const socketPath = socketOf(paths, holder)
  if (!socketPath || !path.isAbsolute(socketPath)) return
  const stat = await fs.lstat(socketPath).catch(() => undefined)
  if (!stat?.isSocket()) return
  const dir = path.dirname(socketPath)
  const runtime = ctx.env.XDG_RUNTIME_DIR ? path.join(ctx.env.XDG_RUNTIME_DIR, 'ona') : undefined
  const ownDir = /^ona-[A-Za-z0-9]{6}$/.test(path.basename(dir)) && (await isPrivate(dir, true))
  if (dir !== ctx.paths.stateDir && dir !== runtime && !ownDir) return
  await fs.rm(socketPath, {force: true}).catch(() => undefined)
  if (ownDir) await fs.rmdir(dir).catch(() => undefined)
}

// ---- the running watcher's side ---------------------------------------------------------------------------

interface ControlServer {
  server: net.Server
  /** Another server with the same handling (the socket opened again after it was deleted). */
  newServer(): net.Server
  handlers: Array<(message: ControlMessage) => void>
  pendingStops: net.Socket[]
  stopping: () => boolean
  /** Stops the watcher from inside (its lock is no longer its own). */
  stop(reason: string): void
}

function controlServer(): ControlServer {
  const handlers: Array<(message: ControlMessage) => void> = []
  const pendingStops: net.Socket[] = []
  let stopping = false
  const stop = (message: ControlMessage) => {
    stopping = true
    for (const handler of handlers) handler(message)
  }
  const newServer = () => {
    const server = net.createServer((socket) => {
      socket.setEncoding('utf8')
      let buffer = ''
      socket.on('error', () => undefined)
      socket.on('data', (chunk: string) => {
        buffer += chunk
        if (buffer.length > 4096) return void socket.destroy()
        const newline = buffer.indexOf('\n')
        if (newline === -1) return
        let message: ControlMessage
        try {
          message = JSON.parse(buffer.slice(0, newline)) as ControlMessage
        } catch {
          return void socket.destroy()
        }
        if (message.action === 'stop') {
          stop(message)
          // Answered once the lock is released: the caller may then change the file without a race.
          pendingStops.push(socket)
          return
        }
        if (message.action === 'resync') for (const handler of handlers) handler(message)
        socket.end(`${JSON.stringify({ok: true, pid: process.pid, state: stopping ? 'stopping' : 'running'})}\n`)
      })
    })
    server.unref()
    return server
  }
  return {
    server: newServer(),
    newServer,
    handlers,
    pendingStops,
    stopping: () => stopping,
    stop: (reason) => {
      if (!stopping) stop({action: 'stop', reason})
    },
  }
}

/** The socket is touched every this many checks (about an hour), so cleaners of old temp files leave it. */
const TOUCH_EVERY = 60

interface HandleParts {
  paths: WatchPaths
  mine: string
  origin: string
  control: ControlServer
  endpoint: Endpoint
  key: string
  options: WatchLockOptions
}

function lockHandle(ctx: Context, parts: HandleParts): WatchLock {
  const {paths, origin, control, key} = parts
  let {mine, endpoint} = parts
  let server = control.server
  let releasing: Promise<void> | undefined
  let status: WatcherStatus = {pid: process.pid, sshConfig: ctx.paths.sshConfig, origin}
  let statusWrite: Promise<void> = Promise.resolve()
  let checks = 0
  let checking = false
  const check = async () => {
    if (releasing || checking || control.stopping()) return
    checking = true
    try {
      const onDisk = await fs.readFile(paths.lockPath, 'utf8').catch(() => undefined)
      if (releasing) return
      if (onDisk !== mine) {
        // Never two watchers on one file: whoever holds the lock now keeps it; this one goes.
        const other = onDisk === undefined ? undefined : parse(onDisk).pid
        control.stop(`its lock ${onDisk === undefined ? 'was removed' : `is now held by another ona${other ? ` (pid ${other})` : ''}`}; it stops so that two watchers never write one file`)
        return
      }
      if (ctx.platform.name === 'win32') return
      const stat = await fs.lstat(endpoint.socketPath).catch(() => undefined)
      if (stat?.isSocket()) {
        if (++checks % TOUCH_EVERY === 0) {
          const now = new Date()
          await fs.utimes(endpoint.socketPath, now, now).catch(() => undefined)
          if (endpoint.ownDir) await fs.utimes(endpoint.ownDir, now, now).catch(() => undefined)
        }
        return
      }
      // Deleted from under it: a new socket (a new name: closing the old server unlinks its path), then the
      // lock names it. Until then other commands find no watcher; a second watcher could start, and the
      // check above stops whichever of the two no longer holds the lock.
      const fresh = control.newServer()
      const next = await listenPrivately(ctx, fresh, key, randomBytes(8).toString('hex'))
      const text = JSON.stringify({...(JSON.parse(mine) as object), socket: next.socketPath})
      const temp = `${paths.lockPath}.${process.pid}.tmp`
      await writeOwned(temp, text)
      await fs.rename(temp, paths.lockPath)
      const old = {server, endpoint}
      server = fresh
      endpoint = next
      mine = text
      // Not waited for: the old server's close ends only when its connections do (a stop waiting for its answer).
      void closeEndpoint(ctx, old.server, old.endpoint)
    } catch {
      // Tried again at the next check.
    } finally {
      checking = false
    }
  }
  const timer = setInterval(() => void check(), parts.options.socketCheckMs ?? 60_000)
  timer.unref()
  return {
    onControl: (handler) => void control.handlers.push(handler),
    stopping: control.stopping,
    get socketPath() {
      return endpoint.socketPath
    },
    status(patch) {
      status = {...status, ...patch}
      const text = JSON.stringify(status, null, 2)
      statusWrite = statusWrite.then(async () => {
        const temp = `${paths.statusPath}.${process.pid}.tmp`
        await writeOwned(temp, text)
        await fs.rename(temp, paths.statusPath)
      }).catch(() => undefined)
      return statusWrite
    },
    release() {
      releasing ??= (async () => {
        clearInterval(timer)
        while (checking) await new Promise((resolve) => setImmediate(resolve))
        await statusWrite
        const current = await fs.readFile(paths.lockPath, 'utf8').catch(() => '')
        if (current === mine) await fs.rm(paths.lockPath, {force: true})
        for (const socket of control.pendingStops) socket.end(`${JSON.stringify({ok: true, pid: process.pid, state: 'stopped'})}\n`)
        await closeEndpoint(ctx, server, endpoint)
      })()
      return releasing
    },
  }
}
