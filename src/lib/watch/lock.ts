/**
 * One watcher per (SSH config, API origin), and a way for other `ona` commands to talk to it.
 *
 * Each install owns its part of the block, so two installs may each keep one file current: their writes
 * are serialised by the config's write lock (fs/safe-write.ts), and each rewrites only its own part. A
 * second watcher for the same file and origin is refused.
 *
 * The running watcher listens on a local socket (a Unix domain socket in the state dir, a named pipe on
 * Windows) whose name is derived from the config's real path and the origin. Liveness is "does it answer", not "is the pid
 * alive": a pid reused by an unrelated process after a crash or a SIGKILL does not answer, so its lock is
 * taken over; a lock left by a watcher killed without a chance to clean up is taken over the same way.
 * The lock file beside the socket only names the holder (pid, start time) for messages and `ona service
 * status`.
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
import {resolveTarget} from '../fs/safe-write.js'

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
  release(): Promise<void>
}

export interface WatchPaths {
  lockPath: string
  socketPath: string
  /**
   * Used when the state dir cannot hold a socket (a network or FUSE home, WSL's /mnt/c): the temp dir.
   * Clients try both.
   */
  fallbackSocketPath?: string
  statusPath: string
  /** Written by `ona ssh-sync --remove`: the user took the block out; a service must not put it back. */
  removedPath: string
}

const digest = (text: string, length: number) => createHash('sha256').update(text).digest('hex').slice(0, length)

/** The state files' common prefix for one SSH config: `watch-<hash of its real path>`. */
async function fileKey(ctx: Context): Promise<string> {
  const {realPath} = await resolveTarget(ctx.paths.sshConfig)
  return `watch-${digest(realPath, 16)}`
}

/** Where the watcher of this SSH config for this API origin keeps its lock, socket and status. */
export async function watchPaths(ctx: Context, origin: string): Promise<WatchPaths> {
  return pathsFor(ctx, `${await fileKey(ctx)}-${digest(origin, 8)}`)
}

function pathsFor(ctx: Context, name: string): WatchPaths {
  const key = name.slice('watch-'.length)
  const lockPath = path.join(ctx.paths.stateDir, `watch-${key}.lock`)
  const statusPath = path.join(ctx.paths.stateDir, `watch-${key}.status.json`)
  let socketPath: string
  if (ctx.platform.name === 'win32') socketPath = `\\\\.\\pipe\\ona-watch-${key}`
  else {
    socketPath = path.join(ctx.paths.stateDir, `watch-${key}.sock`)
    // sun_path holds about 104 bytes (macOS) to 108 (Linux); a deep home falls back to the temp dir.
    if (Buffer.byteLength(socketPath) > 100) socketPath = path.join(os.tmpdir(), `ona-${process.getuid?.() ?? 'u'}-watch-${key}.sock`)
  }
  const removedPath = path.join(ctx.paths.stateDir, `watch-${key}.removed.json`)
  const tmpSocket = path.join(os.tmpdir(), `ona-${process.getuid?.() ?? 'u'}-watch-${key}.sock`)
  const fallbackSocketPath = ctx.platform.name === 'win32' || socketPath === tmpSocket ? undefined : tmpSocket
  return {lockPath, socketPath, statusPath, removedPath, ...(fallbackSocketPath ? {fallbackSocketPath} : {})}
}

/** Sends one message to the running watcher; undefined when none answers (no watcher, or a dead one). */
export async function sendToWatcher(paths: WatchPaths, message: ControlMessage, timeoutMs = 3000): Promise<{ok: boolean; pid?: number; state?: string} | undefined> {
  const answer = await sendOnce(paths.socketPath, message, timeoutMs)
  if (answer !== undefined || !paths.fallbackSocketPath) return answer
  return sendOnce(paths.fallbackSocketPath, message, timeoutMs)
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
  if (answer?.state !== 'no-answer') return undefined
  const holder = parse(await fs.readFile(paths.lockPath, 'utf8').catch(() => ''))
  return {pid: holder.pid ?? 0, state: 'no-answer'}
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

/** The watcher holding the lock for `origin`, if one answers. */
export async function runningWatcher(ctx: Context, origin: string): Promise<{pid: number; paths: WatchPaths} | undefined> {
  const paths = await watchPaths(ctx, origin)
  const answer = await sendToWatcher(paths, {action: 'ping'}, 1500)
  return answer?.ok && typeof answer.pid === 'number' ? {pid: answer.pid, paths} : undefined
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
  await fs.mkdir(path.dirname(removedPath), {recursive: true, mode: 0o700})
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
    const parsed = JSON.parse(await fs.readFile(file, 'utf8')) as {at?: unknown; except?: unknown}
    return {at: typeof parsed.at === 'string' ? parsed.at : 'an earlier time', except: Array.isArray(parsed.except) ? parsed.except.filter((e): e is string => typeof e === 'string') : []}
  } catch {
    return undefined
  }
}

async function writeRemoved(file: string, record: RemovedRecord): Promise<void> {
  const temp = `${file}.${process.pid}.tmp`
  await fs.writeFile(temp, JSON.stringify(record), {mode: 0o600})
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
 * Takes the lock or throws ERR_WATCH_RUNNING naming the live holder. A holder that does not answer on its
 * socket is dead (or a reused pid): its lock and socket are removed and taken over.
 */
export async function acquireWatchLock(ctx: Context, origin: string): Promise<WatchLock> {
  const paths = await watchPaths(ctx, origin)
  await fs.mkdir(ctx.paths.stateDir, {recursive: true, mode: 0o700})
  const token = randomBytes(8).toString('hex')
  const mine = JSON.stringify({pid: process.pid, token, startedAt: new Date().toISOString(), config: ctx.paths.sshConfig, origin, host: os.hostname()})
  for (let attempt = 0; attempt < 5; attempt++) {
    const temp = `${paths.lockPath}.${process.pid}.${token}.tmp`
    await fs.writeFile(temp, mine, {mode: 0o600})
    let linked = false
    try {
      await fs.link(temp, paths.lockPath)
      linked = true
    } catch (error) {
      if ((error as {code?: string}).code !== 'EEXIST') throw error
    } finally {
      await fs.rm(temp, {force: true})
    }
    if (linked) return listen(ctx, paths, mine, origin)
    const raw = await fs.readFile(paths.lockPath, 'utf8').catch(() => '')
    const holder = parse(raw)
    const answer = await sendToWatcher(paths, {action: 'ping'}, 1500)
    if (answer?.ok) {
      const pid = answer.pid ?? holder.pid
      throw new OnaError('ERR_WATCH_RUNNING', `another \`ona ssh-sync --watch\`${pid ? ` (pid ${pid})` : ''} already keeps ${ctx.paths.sshConfig} current for ${origin}`, {
        details: {pid, lockPath: paths.lockPath, origin},
      })
    }
    // A fresh lock whose holder has not opened its socket yet is given a moment before it is judged dead.
    const age = await fs.stat(paths.lockPath).then((s) => Date.now() - s.mtimeMs, () => Number.POSITIVE_INFINITY)
    if (age < 2000 && attempt < 4) {
      await new Promise((resolve) => setTimeout(resolve, 500))
      continue
    }
    // Remove only the lock that was judged (a third watcher may have taken a fresh one meanwhile).
    const again = await fs.readFile(paths.lockPath, 'utf8').catch(() => undefined)
    if (again === raw) await fs.rm(paths.lockPath, {force: true})
  }
  throw new OnaError('ERR_WATCH_RUNNING', `could not take the watch lock for ${ctx.paths.sshConfig} (${origin})`, {details: {lockPath: paths.lockPath, origin}})
}

function parse(raw: string): {pid?: number; origin?: unknown} {
  try {
    return JSON.parse(raw) as {pid?: number; origin?: unknown}
  } catch {
    return {}
  }
}

async function listen(ctx: Context, paths: WatchPaths, mine: string, origin: string): Promise<WatchLock> {
  const handlers: Array<(message: ControlMessage) => void> = []
  let stopping = false
  let releasing: Promise<void> | undefined
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
        stopping = true
        for (const handler of handlers) handler(message)
        // Answered once the lock is released: the caller may then change the file without a race.
        pendingStops.push(socket)
        return
      }
      if (message.action === 'resync') for (const handler of handlers) handler(message)
      socket.end(`${JSON.stringify({ok: true, pid: process.pid, state: stopping ? 'stopping' : 'running'})}\n`)
    })
  })
  const pendingStops: net.Socket[] = []
  // A socket file left by a dead holder would make listen() fail with EADDRINUSE.
  const listenOn = async (socketPath: string) => {
    if (ctx.platform.name !== 'win32') await fs.rm(socketPath, {force: true})
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject)
      server.listen(socketPath, () => {
        server.off('error', reject)
        resolve()
      })
    })
  }
  try {
    await listenOn(paths.socketPath)
  } catch (error) {
    if (!paths.fallbackSocketPath) throw error
    await listenOn(paths.fallbackSocketPath)
  }
  server.unref()
  let status: WatcherStatus = {pid: process.pid, sshConfig: ctx.paths.sshConfig, origin}
  let statusWrite: Promise<void> = Promise.resolve()
  return {
    onControl: (handler) => void handlers.push(handler),
    stopping: () => stopping,
    status(patch) {
      status = {...status, ...patch}
      const text = JSON.stringify(status, null, 2)
      statusWrite = statusWrite.then(async () => {
        const temp = `${paths.statusPath}.${process.pid}.tmp`
        await fs.writeFile(temp, text, {mode: 0o600})
        await fs.rename(temp, paths.statusPath)
      }).catch(() => undefined)
      return statusWrite
    },
    release() {
      releasing ??= (async () => {
        await statusWrite
        const current = await fs.readFile(paths.lockPath, 'utf8').catch(() => '')
        if (current === mine) await fs.rm(paths.lockPath, {force: true})
        for (const socket of pendingStops) socket.end(`${JSON.stringify({ok: true, pid: process.pid, state: 'stopped'})}\n`)
        await new Promise<void>((resolve) => server.close(() => resolve()))
      })()
      return releasing
    },
  }
}
