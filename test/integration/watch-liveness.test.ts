/**
 * Issue 18: liveness from the kernel, sockets only in private directories. Real watcher processes (the
 * built CLI), real SIGSTOP/SIGCONT, real sockets; no timing decides who is alive.
 *
 * - A stopped (or busy) watcher whose socket accepts connections is alive: a second watcher does not take
 *   over, and `--remove` sticks once it runs again.
 * - Nothing at a predictable name in the shared temp dir is consulted: a listener there (another user's,
 *   or any process's) does not pass for the watcher.
 * - The socket lives in the state dir when that is private and short enough, else in $XDG_RUNTIME_DIR/ona,
 *   else in a fresh 0700 directory; a state dir others may write in is refused.
 */
import {spawn, type ChildProcess} from 'node:child_process'
import {existsSync} from 'node:fs'
import {chmod, mkdir, mkdtemp, readFile, rename, rm, stat, writeFile} from 'node:fs/promises'
import net from 'node:net'
import os from 'node:os'
import path from 'node:path'
import {PassThrough} from 'node:stream'

import {afterEach, beforeEach, describe, expect, it} from 'vitest'

import {createApiClient} from '../../src/lib/api/client.js'
import {createContext} from '../../src/lib/context.js'
import {createIOStreams} from '../../src/lib/io.js'
import {startSimulator, type Simulator} from '../../src/lib/simulator/server.js'
import {BEGIN_MARKER} from '../../src/lib/ssh-config/index.js'
import {legacyHolderKind, legacyHolderRuns, probeSocket, runningWatcher, socketPathLimit, tellWatcher, watchPaths, windowsPipeName} from '../../src/lib/watch/lock.js'
import {watchSshConfig} from '../../src/lib/watch/watch.js'
import {baseEnv, runCli} from '../helpers/run-cli.js'
import {waitFor} from '../helpers/wait-for.js'
import {spawnWatcher} from '../helpers/watch.js'

const USER_TEXT = 'Host mine\n  Port 2200\n'

let home: string
let config: string
let sim: Simulator
const children = new Set<ChildProcess>()
const servers = new Set<net.Server>()

beforeEach(async () => {
  home = await mkdtemp(path.join(os.tmpdir(), 'ona-live-'))
  config = path.join(home, '.ssh', 'config')
  await mkdir(path.dirname(config), {mode: 0o700})
  await writeFile(config, USER_TEXT, {mode: 0o600})
  sim = await startSimulator({seed: path.resolve('fixtures/environments.json')})
})
afterEach(async () => {
  for (const child of children) {
    child.kill('SIGCONT')
    child.kill('SIGKILL')
  }
  children.clear()
  for (const server of servers) server.close()
  servers.clear()
  await sim.close()
  await rm(home, {recursive: true, force: true})
})

const env = (extra: Record<string, string> = {}) => baseEnv(home, {ONA_API_URL: sim.url, ONA_TOKEN: sim.token, ONA_KEYRING: 'off', ...extra})
const has = (part: string) => async () => (await readFile(config, 'utf8')).includes(part)

const watcher = (childEnv: NodeJS.ProcessEnv = env()) => spawnWatcher([], childEnv, children)

async function lockOf(childEnv: NodeJS.ProcessEnv = env()) {
  const paths = await watchPaths(createContext({env: childEnv}), new URL(sim.url).origin)
  const read = async () => JSON.parse(await readFile(paths.lockPath, 'utf8')) as {pid: number; socket: string}
  return {paths, read}
}

/** A listener that accepts and answers like a watcher would: it must never be taken for one. */
async function impostor(socketPath: string) {
  const seen = {connections: 0}
  const server = net.createServer((socket) => {
    seen.connections++
    socket.on('error', () => undefined)
    socket.end(`${JSON.stringify({ok: true, pid: 1, state: 'running'})}\n`)
  })
  servers.add(server)
  await rm(socketPath, {force: true})
  await new Promise<void>((resolve) => server.listen(socketPath, resolve))
  return seen
}

describe('liveness from the kernel', () => {
  it('a socket that accepts is alive even when nobody answers; a refused or missing one is dead', async () => {
    const silent = net.createServer(() => undefined)
    servers.add(silent)
    const socketPath = path.join(home, 'silent.sock')
    await new Promise<void>((resolve) => silent.listen(socketPath, resolve))
    expect(await probeSocket(socketPath)).toBe('alive')
    expect(await probeSocket(path.join(home, 'nothing.sock'))).toBe('dead')
    // A socket file nobody listens on any more (a watcher killed with SIGKILL leaves one).
    await writeFile(path.join(home, 'plain-file'), '')
    expect(await probeSocket(path.join(home, 'plain-file'))).toBe('dead')
  })

  it.runIf(process.platform !== 'win32')('regression: a stopped watcher keeps its lock; a second one is refused, and --remove sticks once it runs again', async () => {
    const first = watcher()
    await waitFor(has(BEGIN_MARKER), 15_000, 'the first sync')
    await waitFor(async () => first.out.stdout.includes('watching'), 15_000, 'the first watcher')
    const {read} = await lockOf()
    const before = await read()
    expect(before.pid).toBe(first.child.pid)
    // Ctrl-Z, a closed lid, or a watcher busy writing a huge config: it cannot answer a ping in time.
    first.child.kill('SIGSTOP')
    let removing: ReturnType<typeof runCli> | undefined
    try {
      // Before: the ping went unanswered for 1.5 s, the lock was judged dead, deleted and taken over.
      const second = await runCli(['ssh-sync', '--watch'], {env: env(), timeoutMs: 20_000})
      expect(second.stderr).toContain(`already keeps ${config} current`)
      expect(second.stderr).toContain(`pid ${first.child.pid}`)
      expect(await read()).toEqual(before)
      expect(existsSync(before.socket)).toBe(true)
      // `ona service status` sees it running, too.
      const [status] = JSON.parse((await runCli(['service', 'status', '--json'], {env: env()})).stdout) as Array<{running: boolean; pid?: number}>
      expect(status).toMatchObject({running: true, pid: first.child.pid})
      // --remove while it is stopped: the stop waits in its socket until it runs again.
      removing = runCli(['ssh-sync', '--remove'], {env: env(), timeoutMs: 30_000})
      await new Promise((resolve) => setTimeout(resolve, 1000))
    } finally {
      first.child.kill('SIGCONT')
    }
    const removed = await removing!
    expect(removed.code).toBe(0)
    expect(removed.stdout).toContain(`pid ${first.child.pid}`)
    expect(await first.exited).toBe(0)
    // Well past a quiet period in which a second watcher used to put the block back.
    await new Promise((resolve) => setTimeout(resolve, 3000))
    expect(await readFile(config, 'utf8')).toBe(USER_TEXT)
  }, 90_000)

  it.runIf(process.platform !== 'win32')('regression: a listener at the old predictable temp-dir name does not pass for a crashed watcher', async () => {
    const {paths, read} = await lockOf()
    const key = path.basename(paths.lockPath, '.lock').slice('watch-'.length)
    // What clients used to try after a crash: /tmp/ona-<uid>-watch-<key>.sock, a name anyone can compute.
    const squatter = await impostor(path.join('/tmp', `ona-${process.getuid!()}-watch-${key}.sock`))
    // The crash: a lock naming a live pid (1), written by an ona whose socket is gone.
    await mkdir(path.dirname(paths.lockPath), {recursive: true, mode: 0o700})
    await writeFile(paths.lockPath, JSON.stringify({pid: 1, config}), {mode: 0o600})
    const w = watcher()
    await waitFor(has(BEGIN_MARKER), 15_000, 'the watcher taking over the crashed one\'s lock')
    expect((await read()).pid).toBe(w.child.pid)
    const [status] = JSON.parse((await runCli(['service', 'status', '--json'], {env: env()})).stdout) as Array<{pid?: number}>
    expect(status!.pid).toBe(w.child.pid)
    const removed = await runCli(['ssh-sync', '--remove'], {env: env()})
    expect(removed.stdout).toContain(`stopped the running \`ona ssh-sync --watch\` (pid ${w.child.pid})`)
    expect(await w.exited).toBe(0)
    expect(squatter.connections).toBe(0)
    await rm(path.join('/tmp', `ona-${process.getuid!()}-watch-${key}.sock`), {force: true})
  }, 60_000)
})

describe.runIf(process.platform === 'linux')('an earlier ona\'s watcher still running after the upgrade', () => {
  /**
   * What an ona from before issue 18 left: a lock naming no socket (it listened at a fixed name, in the
   * state dir or, when that could not hold a socket, in the temp dir), and its process running
   * `ssh-sync --watch`, which releases its lock and exits 0 on SIGTERM.
   */
  async function oldWatcher(listenInTemp: boolean, lock?: Awaited<ReturnType<typeof lockOf>>) {
    const {paths, read} = lock ?? (await lockOf())
    await mkdir(path.dirname(paths.lockPath), {recursive: true, mode: 0o700})
    const script = `
      const fs = require('node:fs'); const net = require('node:net')
      const [lock, sock] = process.argv.slice(-2)
      net.createServer((s) => s.destroy()).listen(sock)
      process.on('SIGTERM', () => { fs.rmSync(lock, {force: true}); process.exit(0) })
      fs.writeFileSync(lock, JSON.stringify({pid: process.pid, token: 'old', startedAt: new Date().toISOString(), config: process.env.CONFIG, origin: process.env.ORIGIN, host: require('node:os').hostname()}))
      setInterval(() => undefined, 1000)`
    const key = path.basename(paths.lockPath, '.lock').slice('watch-'.length)
    const sock = listenInTemp ? path.join(home, `old-tmp-${key}.sock`) : path.join(path.dirname(paths.lockPath), `watch-${key}.sock`)
    const child = spawn(process.execPath, ['-e', script, 'ssh-sync', '--watch', paths.lockPath, sock], {env: {...process.env, CONFIG: config, ORIGIN: new URL(sim.url).origin}, stdio: 'ignore'})
    children.add(child)
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)))
    await waitFor(async () => existsSync(paths.lockPath), 10_000, 'the old watcher\'s lock')
    return {child, exited, paths, read}
  }

  it('regression: one listening where this ona does not look is not judged dead (never two writers); --remove stops it', async () => {
    const old = await oldWatcher(true)
    const before = await readFile(old.paths.lockPath, 'utf8')
    // Before: the lock named no socket and none was in the state dir, so it was taken over beside the old watcher.
    const second = await runCli(['ssh-sync', '--watch'], {env: env(), timeoutMs: 20_000})
    expect(second.code).not.toBe(0)
    expect(second.stderr).toContain(`(pid ${old.child.pid}), started by an earlier ona version, already keeps ${config} current`)
    expect(await readFile(old.paths.lockPath, 'utf8')).toBe(before)
    expect(await readFile(config, 'utf8')).toBe(USER_TEXT)
    const [status] = JSON.parse((await runCli(['service', 'status', '--json'], {env: env()})).stdout) as Array<{running: boolean; pid?: number}>
    expect(status).toMatchObject({running: true, pid: old.child.pid})
    const removed = await runCli(['ssh-sync', '--remove'], {env: env()})
    expect(removed.code, removed.stderr).toBe(0)
    expect(removed.stdout).toContain(`stopped the running \`ona ssh-sync --watch\` (pid ${old.child.pid})`)
    expect(await old.exited).toBe(0)
    // Now the new watcher takes the file (once the user syncs again).
    expect((await runCli(['ssh-sync'], {env: env()})).code).toBe(0)
    const w = watcher()
    await waitFor(async () => existsSync(old.paths.lockPath) && (await old.read()).pid === w.child.pid, 15_000, 'the new watcher\'s lock')
    w.child.kill('SIGTERM')
    expect(await w.exited).toBe(0)
  }, 60_000)

  it('regression: on Windows (platform injected) a holder whose command line cannot be read is sent nothing by a stop; it still holds the lock', async () => {
    // No PowerShell or tasklist here, as when Windows cannot tell: the pid may be any node.exe that took it.
    const ctx = createContext({env: env(), platform: 'win32', homedir: home})
    ctx.paths.stateDir = path.join(home, 'state')
    ctx.paths.sshConfig = config
    const paths = await watchPaths(ctx, new URL(sim.url).origin)
    const old = await oldWatcher(true, {paths, read: async () => JSON.parse(await readFile(paths.lockPath, 'utf8')) as {pid: number; socket: string}})
    const before = await readFile(paths.lockPath, 'utf8')
    expect(await legacyHolderKind(old.child.pid!, 'win32')).toBe('unknown')
    // Refusing to start beside it still counts unknown as alive (never two writers).
    expect(await legacyHolderRuns(old.child.pid!, 'win32')).toBe(true)
    expect(await runningWatcher(ctx, new URL(sim.url).origin)).toMatchObject({pid: old.child.pid})
    // Before: judged by this machine's /proc, it was sent SIGTERM.
    expect(await tellWatcher(ctx, new URL(sim.url).origin, {action: 'stop', reason: 'test'})).toEqual({pid: old.child.pid, state: 'unconfirmed'})
    expect(old.child.exitCode).toBeNull()
    expect(old.child.signalCode).toBeNull()
    expect(await readFile(paths.lockPath, 'utf8')).toBe(before)
    // The same process judged by Linux's rules is a confirmed watcher.
    expect(await legacyHolderKind(old.child.pid!, 'linux')).toBe('watcher')
  }, 60_000)

  it('one listening at its state-dir socket holds the lock as well; a crashed one\'s lock whose pid now runs something else is taken over', async () => {
    const old = await oldWatcher(false)
    expect((await runCli(['ssh-sync', '--watch'], {env: env(), timeoutMs: 20_000})).stderr).toContain('started by an earlier ona version')
    old.child.kill('SIGKILL')
    await old.exited
    // The crash left the lock; pid 1 (init, not a watcher) is alive.
    const raw = JSON.parse(await readFile(old.paths.lockPath, 'utf8')) as Record<string, unknown>
    await writeFile(old.paths.lockPath, JSON.stringify({...raw, pid: 1}))
    const w = watcher()
    await waitFor(has(BEGIN_MARKER), 15_000, 'the watcher taking over the crashed old one\'s lock')
    expect((await old.read()).pid).toBe(w.child.pid)
    w.child.kill('SIGTERM')
    expect(await w.exited).toBe(0)
  }, 60_000)
})

describe.runIf(process.platform !== 'win32')('the running watcher keeps its lock and socket', () => {
  async function start() {
    let out = ''
    const sink = new PassThrough()
    sink.setEncoding('utf8').on('data', (chunk: string) => (out += chunk))
    const ctx = createContext({env: baseEnv(home), io: createIOStreams({out: sink, err: sink, isTTY: false, env: {NO_COLOR: '1'}})})
    const client = await createApiClient({baseUrl: sim.url, token: sim.token, env: {}, retries: 1, backoff: {baseMs: 20, maxMs: 100}})
    const abort = new AbortController()
    const done = watchSshConfig(ctx, {client, signal: abort.signal, fileDebounceMs: 100, socketCheckMs: 50})
    done.catch(() => undefined)
    await waitFor(has(BEGIN_MARKER), 10_000, 'the first sync')
    const {read} = await lockOf(baseEnv(home))
    return {ctx, client, done, read, output: () => out, stop: async () => (abort.abort(), await done.catch(() => undefined))}
  }

  it('regression: a socket deleted from under it (a temp-dir cleaner) is opened again, so a second watcher is still refused', async () => {
    const w = await start()
    try {
      const {socket} = await w.read()
      await rm(socket)
      // Before: nothing put it back, and the next watcher judged this live one dead and took over.
      await waitFor(async () => {
        const now = (await w.read()).socket
        return now !== socket && existsSync(now) && (await probeSocket(now)) === 'alive'
      }, 5000, 'a new socket named by the lock')
      const second = watchSshConfig(w.ctx, {client: w.client, signal: new AbortController().signal})
      await expect(second).rejects.toMatchObject({code: 'ERR_WATCH_RUNNING', message: expect.stringContaining(`pid ${process.pid}`)})
      const stopped = await runCli(['ssh-sync', '--remove'], {env: env()})
      expect(stopped.stdout).toContain(`pid ${process.pid}`)
      await w.done
      expect(w.output()).toContain('stopped: the block was removed by `ona ssh-sync --remove`')
    } finally {
      await w.stop()
    }
  }, 30_000)

  it('regression: a watcher whose lock another one now holds stops instead of writing beside it', async () => {
    const w = await start()
    try {
      const {paths} = await lockOf(baseEnv(home))
      // In one step, as ona writes a lock (a plain writeFile would be read half-written, with no pid yet).
      await writeFile(`${paths.lockPath}.test.tmp`, JSON.stringify({pid: 424242, socket: path.join(paths.stateDir, 'other.sock')}))
      await rename(`${paths.lockPath}.test.tmp`, paths.lockPath)
      await w.done
      expect(w.output()).toContain('stopped: its lock is now held by another ona (pid 424242); it stops so that two watchers never write one file')
      // The other holder's lock is left alone.
      expect(JSON.parse(await readFile(paths.lockPath, 'utf8'))).toMatchObject({pid: 424242})
    } finally {
      await w.stop()
    }
  }, 30_000)
})

describe.runIf(process.platform !== 'win32')('sockets only in private directories', () => {
  const modeOf = async (p: string) => (await stat(p)).mode & 0o777

  it('the socket is in the private state dir, under a name with a random part', async () => {
    const w = watcher()
    await waitFor(has(BEGIN_MARKER), 15_000, 'the first sync')
    const {paths, read} = await lockOf()
    const {socket} = await read()
    expect(path.dirname(socket)).toBe(paths.stateDir)
    expect(await modeOf(paths.stateDir)).toBe(0o700)
    expect(path.basename(socket)).toMatch(/^watch-[0-9a-f]{16}-[0-9a-f]{8}\.[0-9a-f]{16}\.sock$/)
    w.child.kill('SIGTERM')
    expect(await w.exited).toBe(0)
    expect(existsSync(socket)).toBe(false)
  }, 40_000)

  it('a state dir too deep for a socket address: $XDG_RUNTIME_DIR/ona when set, else a fresh 0700 directory', async () => {
    const deep = path.join(home, 'x'.repeat(60), 'y'.repeat(60), 'state')
    const runtime = path.join(home, 'run')
    await mkdir(runtime, {mode: 0o700})
    const withRuntime = env({ONA_STATE_DIR: deep, XDG_RUNTIME_DIR: runtime})
    const a = watcher(withRuntime)
    await waitFor(has(BEGIN_MARKER), 15_000, 'the first sync')
    const {read} = await lockOf(withRuntime)
    const first = await read()
    expect(path.dirname(first.socket)).toBe(path.join(runtime, 'ona'))
    expect(await modeOf(path.join(runtime, 'ona'))).toBe(0o700)
    expect((await runCli(['ssh-sync', '--remove'], {env: withRuntime})).stdout).toContain(`pid ${a.child.pid}`)
    expect(await a.exited).toBe(0)

    // Without XDG_RUNTIME_DIR: a directory made for this socket alone, 0700, of a name nobody could guess.
    const plain = env({ONA_STATE_DIR: deep})
    const b = watcher(plain)
    await waitFor(has(BEGIN_MARKER), 15_000, 'the second watcher\'s sync')
    const second = await read()
    expect(Buffer.byteLength(second.socket)).toBeLessThanOrEqual(socketPathLimit('darwin'))
    const dir = path.dirname(second.socket)
    expect(path.basename(dir)).toMatch(/^ona-[A-Za-z0-9]{6}$/)
    expect(await modeOf(dir)).toBe(0o700)
    expect((await stat(dir)).uid).toBe(process.getuid!())
    const refused = await runCli(['ssh-sync', '--watch'], {env: plain, timeoutMs: 20_000})
    expect(refused.stderr).toContain(`pid ${b.child.pid}`)
    expect((await runCli(['ssh-sync', '--remove'], {env: plain})).stdout).toContain(`pid ${b.child.pid}`)
    expect(await b.exited).toBe(0)
    expect(existsSync(dir)).toBe(false)
  }, 60_000)

  it('a state dir others can read keeps the lock but not the socket; one others can write in is refused', async () => {
    const open = path.join(home, 'open-state')
    await mkdir(open, {mode: 0o700})
    await chmod(open, 0o755)
    const readable = env({ONA_STATE_DIR: open})
    const w = watcher(readable)
    await waitFor(has(BEGIN_MARKER), 15_000, 'the first sync')
    const {read} = await lockOf(readable)
    expect(path.dirname((await read()).socket)).not.toBe(open)
    w.child.kill('SIGTERM')
    expect(await w.exited).toBe(0)

    await chmod(open, 0o777)
    const refused = await runCli(['ssh-sync', '--watch'], {env: readable, timeoutMs: 20_000})
    expect(refused.code).toBe(1)
    expect(refused.stderr).toContain(`${open} belongs to another user or others may write in it`)
    expect(refused.stderr).toContain('chmod 700')
  }, 40_000)
})

describe('socket names for each platform', () => {
  it('Windows: the pipe name carries a random part, so another user cannot take it first', () => {
    const a = windowsPipeName('0123456789abcdef-01234567', '00112233445566aa')
    const b = windowsPipeName('0123456789abcdef-01234567', 'ffeeddccbbaa9988')
    expect(a).toBe('\\\\.\\pipe\\ona-watch-0123456789abcdef-01234567-00112233445566aa')
    expect(a).not.toBe(b)
  })

  it.each([
    {platform: 'linux' as const, limit: 107},
    {platform: 'darwin' as const, limit: 103},
    {platform: 'freebsd' as const, limit: 103},
  ])('$platform: a socket path holds at most $limit bytes', ({platform, limit}) => {
    expect(socketPathLimit(platform)).toBe(limit)
  })
})
