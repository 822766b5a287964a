/**
 * Watch mode with real parts: the simulator's WatchEvents stream on 127.0.0.1, a real SSH config file
 * watched by chokidar, and the library's watchSshConfig (plus the built CLI for signals).
 */
import {spawn} from 'node:child_process'
import {mkdir, mkdtemp, readFile, rm, stat, utimes, writeFile} from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import {PassThrough} from 'node:stream'

import {afterEach, beforeEach, describe, expect, it} from 'vitest'

import {createApiClient, type ApiClient} from '../../src/lib/api/client.js'
import {createContext, type Clock, type Context} from '../../src/lib/context.js'
import {OnaError} from '../../src/lib/errors.js'
import {createIOStreams} from '../../src/lib/io.js'
import {startSimulator, type Simulator} from '../../src/lib/simulator/server.js'
import {BEGIN_MARKER, END_MARKER} from '../../src/lib/ssh-config/index.js'
import {watchSshConfig, type WatchOptions} from '../../src/lib/watch/watch.js'
import {baseEnv, binRun} from '../helpers/run-cli.js'
import {waitFor, waitForQuiet} from '../helpers/wait-for.js'
import {startLibraryWatch} from '../helpers/watch.js'

const A = '0199ec15-59d3-7e92-8e22-8cb6c7ba4df7'
const B = '0199ec15-8a41-7c10-9d3b-2f6e1b7a9c02'
const USER_PART = '# mine\nHost github.com\n  User git\n'

let home: string
let config: string
let sim: Simulator
let client: ApiClient
let stderr: string
let ctx: Context
let offset = 0
const clock: Clock = {now: () => Date.now() + offset}

function makeCtx(): Context {
  const err = new PassThrough()
  err.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk))
  // Watch lines go to stdout, warnings and errors elsewhere to stderr: both are captured in one string.
  const io = createIOStreams({out: err, err, isTTY: false, env: {NO_COLOR: '1'}})
  return createContext({env: baseEnv(home), io, clock})
}

beforeEach(async () => {
  home = await mkdtemp(path.join(os.tmpdir(), 'ona-watch-'))
  config = path.join(home, '.ssh', 'config')
  await mkdir(path.dirname(config), {mode: 0o700})
  await writeFile(config, USER_PART, {mode: 0o600})
  sim = await startSimulator({seed: path.resolve('fixtures/environments.json')})
  client = await createApiClient({baseUrl: sim.url, token: sim.token, env: {}, retries: 1, backoff: {baseMs: 20, maxMs: 100}})
  stderr = ''
  offset = 0
  ctx = makeCtx()
})
afterEach(async () => {
  await sim.close()
  await rm(home, {recursive: true, force: true})
})

/** Starts a watcher: its stop function (resolves when it has ended) and its completion promise. */
function startWatch(options: Partial<WatchOptions> = {}) {
  const stop = startLibraryWatch(ctx, {client, fileDebounceMs: 100, backoff: {baseMs: 50, maxMs: 200}, ...options})
  return {done: stop.done, stop}
}

const configHas = (text: string) => async () => (await readFile(config, 'utf8')).includes(text)

describe('ona ssh-sync --watch', () => {
  it('writes the block at start, and an IP change reaches the config within one second of the event', async () => {
    const watch = startWatch()
    try {
      await waitFor(configHas('HostName 127.0.0.11'), 5000, 'the first sync')
      await waitFor(async () => sim.openStreams() > 0, 5000, 'the event stream')
      sim.setSshAddress(A, {host: '127.0.0.77', port: 2222})
      // Latency is measured from the event to the file on disk (what ssh reads), not to the report line.
      const elapsed = await waitFor(configHas('HostName 127.0.0.77'), 3000, 'the new address')
      expect(elapsed).toBeLessThan(1000)
      expect(await readFile(config, 'utf8')).not.toContain('HostName 127.0.0.11')
      // The report line is printed after the rename, so it is waited for rather than read at once.
      const line = `updated  ${A}.gitpod.environment  gitpod_devcontainer@127.0.0.11:2222 -> gitpod_devcontainer@127.0.0.77:2222`
      await waitFor(async () => stderr.includes(line), 3000, 'the report line')
    } finally {
      await watch.stop()
    }
  })

  it("a colleague's environment changing (organisation-wide events) never enters the block", async () => {
    const COLLEAGUE = '0199ec15-e5fa-7c88-94b3-8a2f6b1c7d46'
    const watch = startWatch()
    try {
      await waitFor(configHas(BEGIN_MARKER), 5000, 'the first sync')
      await waitFor(async () => sim.openStreams() > 0, 5000, 'the event stream')
      sim.setSshAddress(COLLEAGUE, {host: '127.0.0.66', port: 2222})
      await waitFor(async () => sim.rpcCount('GetEnvironment') > 0, 3000, 'the event to be handled')
      sim.setSshAddress(A, {host: '127.0.0.67', port: 2222})
      await waitFor(configHas('HostName 127.0.0.67'), 3000, 'a later event of our own')
      expect(await readFile(config, 'utf8')).not.toContain(COLLEAGUE)
    } finally {
      await watch.stop()
    }
  })

  it('a stopped environment loses its alias, a deleted one too', async () => {
    const watch = startWatch()
    try {
      await waitFor(configHas(`Host ${B}.gitpod.environment`), 5000, 'the first sync')
      await waitFor(async () => sim.openStreams() > 0, 5000, 'the event stream')
      sim.stopEnvironment(B)
      await waitFor(async () => !(await configHas(`Host ${B}.gitpod.environment`)()), 3000, 'B removed')
      sim.deleteEnvironment(A)
      await waitFor(async () => !(await configHas(`Host ${A}.gitpod.environment`)()), 3000, 'A removed')
    } finally {
      await watch.stop()
    }
  })

  it('restores the block when someone removes it, keeps their edits elsewhere, and does not react to its own writes', async () => {
    const watch = startWatch()
    try {
      await waitFor(configHas(BEGIN_MARKER), 5000, 'the first sync')
      // The stream's opening lists once more; that is not a reaction to a write, so let it happen first.
      await waitFor(async () => sim.openStreams() > 0 && sim.rpcCount('ListEnvironments') >= 2, 5000, 'the listing on stream open')
      const withBlock = await readFile(config, 'utf8')
      const blockText = withBlock.slice(withBlock.indexOf(BEGIN_MARKER), withBlock.indexOf(END_MARKER) + END_MARKER.length + 1)
      // The user deletes the block and adds a host of their own.
      await writeFile(config, `${USER_PART}Host added-by-user\n  Port 2200\n`)
      await waitFor(configHas(BEGIN_MARKER), 3000, 'the block restored')
      const restored = await readFile(config, 'utf8')
      expect(restored).toContain('Host added-by-user\n  Port 2200\n')
      // The same entries; their freshness lines say what the API said when they were written again.
      const entries = (text: string) => text.replace(/^# ona env statusVersion .*\n/gm, '')
      expect(entries(restored)).toContain(entries(blockText))
      // The removal is a foreign change: the watcher asks the API again (issue 17). Once that is over,
      // it is quiet: our own write did not trigger another one.
      await waitFor(async () => sim.rpcCount('ListEnvironments') >= 3, 5000, 'the listing after the removal')
      await waitForQuiet(() => sim.requests.length, 500, 5000, 'the watcher to be done with the removal')
      const {mtimeMs} = await stat(config)
      const lists = sim.rpcCount('ListEnvironments')
      await new Promise((resolve) => setTimeout(resolve, 600))
      expect((await stat(config)).mtimeMs).toBe(mtimeMs)
      expect(sim.rpcCount('ListEnvironments')).toBe(lists)
    } finally {
      await watch.stop()
    }
  })

  it('keeps the last good block while the API is down, says so once, and recovers by itself', async () => {
    const watch = startWatch({intervalMs: 200, tickMs: 50})
    try {
      await waitFor(configHas('HostName 127.0.0.11'), 5000, 'the first sync')
      const good = await readFile(config, 'utf8')
      sim.injectFault({type: 'http', status: 503, code: 'unavailable'}, {times: Number.POSITIVE_INFINITY})
      sim.dropStreams()
      await new Promise((resolve) => setTimeout(resolve, 1200))
      expect(await readFile(config, 'utf8')).toBe(good)
      const outageLines = stderr.split('\n').filter((l) => l.includes('keeping the last good block'))
      expect(outageLines).toHaveLength(1)
      sim.clearFaults()
      sim.setSshAddress(A, {host: '127.0.0.88', port: 2222})
      await waitFor(configHas('HostName 127.0.0.88'), 5000, 'recovery')
      expect(stderr).toContain('the management plane answers again')
    } finally {
      await watch.stop()
    }
  })

  it('a large clock jump (the laptop slept) triggers a full listing', async () => {
    const watch = startWatch({tickMs: 50, clockJumpMs: 1000, intervalMs: 3_600_000})
    try {
      await waitFor(configHas(BEGIN_MARKER), 5000, 'the first sync')
      await new Promise((resolve) => setTimeout(resolve, 200))
      const lists = sim.rpcCount('ListEnvironments')
      offset += 30 * 60_000
      await waitFor(async () => sim.rpcCount('ListEnvironments') > lists, 2000, 'a listing after the jump')
    } finally {
      await watch.stop()
    }
  })

  it('regression: the clock set back triggers a full listing, and the periodic listing goes on', async () => {
    const watch = startWatch({tickMs: 50, clockJumpMs: 1000, intervalMs: 300})
    try {
      await waitFor(configHas(BEGIN_MARKER), 5000, 'the first sync')
      await waitFor(async () => sim.openStreams() > 0, 5000, 'the event stream')
      const lists = sim.rpcCount('ListEnvironments')
      offset -= 3_600_000
      // Before: "now - last listing" stayed negative for an hour, so nothing was listed until the clock caught up.
      await waitFor(async () => sim.rpcCount('ListEnvironments') >= lists + 3, 3000, 'listings after the clock was set back')
    } finally {
      await watch.stop()
    }
  })

  it.each([
    {name: 'an hour', aheadMs: 3_600_000},
    {name: '40 days (beyond what a Node timer holds)', aheadMs: 40 * 86_400_000},
  ])('regression: a config whose mtime lies $name in the future is written at once and later edits are followed, without TimeoutOverflowWarning', async ({aheadMs}) => {
    const future = new Date(Date.now() + aheadMs)
    await utimes(config, future, future)
    const warnings: string[] = []
    const onWarning = (w: Error) => void warnings.push(w.name)
    process.on('warning', onWarning)
    const watch = startWatch({fileDebounceMs: 200})
    try {
      await waitFor(configHas('HostName 127.0.0.11'), 5000, 'the first sync')
      await waitFor(async () => sim.openStreams() > 0, 5000, 'the event stream')
      // Another program takes the block out and stamps the file in the future again (a synced dotfile).
      await writeFile(config, `${USER_PART}Host synced\n`)
      await utimes(config, future, future)
      await waitFor(configHas(BEGIN_MARKER), 5000, 'the block restored')
      expect(await readFile(config, 'utf8')).toContain('Host synced\n')
      sim.setSshAddress(A, {host: '127.0.0.79', port: 2222})
      await waitFor(configHas('HostName 127.0.0.79'), 5000, 'the new address')
      expect(warnings).not.toContain('TimeoutOverflowWarning')
    } finally {
      process.off('warning', onWarning)
      await watch.stop()
    }
  })

  it('an expired token ends the watch with the login hint, leaving the block', async () => {
    const watch = startWatch()
    await waitFor(configHas(BEGIN_MARKER), 5000, 'the first sync')
    const good = await readFile(config, 'utf8')
    sim.injectFault({type: 'http', status: 401, code: 'unauthenticated'}, {times: Number.POSITIVE_INFINITY})
    sim.dropStreams()
    const error = await watch.done.then(() => undefined, (e: unknown) => e)
    expect(error).toBeInstanceOf(OnaError)
    expect((error as OnaError).code).toBe('ERR_AUTH_EXPIRED')
    expect((error as OnaError).hint).toContain('ona login')
    expect(await readFile(config, 'utf8')).toBe(good)
  })

  it('a second watcher on the same config is refused with a clear message', async () => {
    const first = startWatch()
    try {
      await waitFor(configHas(BEGIN_MARKER), 5000, 'the first sync')
      const second = watchSshConfig(ctx, {client, signal: new AbortController().signal})
      await expect(second).rejects.toMatchObject({code: 'ERR_WATCH_RUNNING', message: expect.stringContaining(`pid ${process.pid}`)})
    } finally {
      await first.stop()
    }
    // Once the first one stopped, a new watcher may start.
    const again = startWatch()
    await waitFor(async () => sim.openStreams() > 0, 5000, 'the new watcher')
    await again.stop()
  })
})

describe('the watch command', () => {
  it.each(['SIGINT', 'SIGTERM'] as const)('%s ends it cleanly within a second', async (signal) => {
    const child = spawn(process.execPath, [binRun, 'ssh-sync', '--watch'], {
      env: baseEnv(home, {ONA_API_URL: sim.url, ONA_TOKEN: sim.token, ONA_KEYRING: 'off'}),
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let out = ''
    child.stderr.setEncoding('utf8').on('data', (c: string) => (out += c))
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)))
    await waitFor(configHas(BEGIN_MARKER), 10_000, 'the first sync')
    await waitFor(async () => sim.openStreams() > 0, 5000, 'the event stream')
    const sent = Date.now()
    child.kill(signal)
    const code = await exited
    expect(Date.now() - sent).toBeLessThan(1000)
    expect(code).toBe(0)
    expect(out).not.toContain(sim.token)
    expect(await readFile(config, 'utf8')).toContain(BEGIN_MARKER)
  }, 30_000)
})
