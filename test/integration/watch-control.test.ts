/**
 * The built CLI's watcher and the other commands: `--remove` stops it (and the block stays out), a sync
 * is followed, a refused second watcher prints only why, a lock naming a reused pid is taken over, SIGHUP
 * releases the lock, and `--watch --json` prints one JSON object per event (shape locked here).
 */
import type {ChildProcess} from 'node:child_process'
import {existsSync} from 'node:fs'
import {mkdir, mkdtemp, readFile, rm, utimes, writeFile} from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'

import {afterEach, beforeEach, describe, expect, it} from 'vitest'

import {createContext} from '../../src/lib/context.js'
import {startSimulator, type Simulator} from '../../src/lib/simulator/server.js'
import {BEGIN_MARKER} from '../../src/lib/ssh-config/index.js'
import {watchPaths} from '../../src/lib/watch/lock.js'
import {baseEnv, runCli} from '../helpers/run-cli.js'
import {waitFor, waitForQuiet} from '../helpers/wait-for.js'
import {spawnWatcher} from '../helpers/watch.js'

const A = '0199ec15-59d3-7e92-8e22-8cb6c7ba4df7'

let home: string
let config: string
let sim: Simulator
const children = new Set<ChildProcess>()

beforeEach(async () => {
  home = await mkdtemp(path.join(os.tmpdir(), 'ona-control-'))
  config = path.join(home, '.ssh', 'config')
  await mkdir(path.dirname(config), {mode: 0o700})
  await writeFile(config, 'Host mine\n  Port 2200\n', {mode: 0o600})
  sim = await startSimulator({seed: path.resolve('fixtures/environments.json')})
})
afterEach(async () => {
  for (const child of children) child.kill('SIGKILL')
  children.clear()
  await sim.close()
  await rm(home, {recursive: true, force: true})
})

const env = () => baseEnv(home, {ONA_API_URL: sim.url, ONA_TOKEN: sim.token, ONA_KEYRING: 'off'})
const has = (part: string) => async () => (await readFile(config, 'utf8')).includes(part)

const watcher = (args: string[] = [], childEnv: NodeJS.ProcessEnv = env()) => spawnWatcher(args, childEnv, children)

async function lockPaths() {
  return watchPaths(createContext({env: baseEnv(home)}), new URL(sim.url).origin)
}

describe('a running watcher and the other commands', () => {
  it('regression: `ona ssh-sync --remove` stops the watcher, says so, and the block stays out', async () => {
    const w = watcher()
    await waitFor(has(BEGIN_MARKER), 15_000, 'the first sync')
    const removed = await runCli(['ssh-sync', '--remove'], {env: env()})
    expect(removed.code).toBe(0)
    expect(removed.stdout).toMatch(/stopped the running `ona ssh-sync --watch` \(pid \d+\) so that it does not put the block back/)
    expect(await w.exited).toBe(0)
    expect(w.out.stdout).toContain('stopped: the block was removed by `ona ssh-sync --remove`')
    // Well past the quiet period in which the old watcher restored the block.
    await new Promise((resolve) => setTimeout(resolve, 3000))
    expect(await readFile(config, 'utf8')).toBe('Host mine\n  Port 2200\n')
  }, 40_000)

  it('`--remove --json` names the stopped watcher', async () => {
    const w = watcher()
    await waitFor(has(BEGIN_MARKER), 15_000, 'the first sync')
    const removed = await runCli(['ssh-sync', '--remove', '--json'], {env: env()})
    expect(JSON.parse(removed.stdout)).toMatchObject({removedBlock: true, watcher: {pid: w.child.pid, action: 'stopped'}})
    expect(await w.exited).toBe(0)
  }, 40_000)

  it('a sync while a watcher runs (new settings) is followed by the watcher, and the command says so', async () => {
    const w = watcher()
    await waitFor(has(BEGIN_MARKER), 15_000, 'the first sync')
    const synced = await runCli(['ssh-sync'], {env: env()})
    expect(synced.code).toBe(0)
    expect(synced.stdout).toContain(`the running \`ona ssh-sync --watch\` (pid ${w.child.pid}) follows`)
    w.child.kill('SIGTERM')
    expect(await w.exited).toBe(0)
  }, 40_000)

  it('regression: a refused second watcher prints only why, nothing like "watching ..."', async () => {
    const first = watcher()
    await waitFor(async () => first.out.stdout.includes('watching'), 15_000, 'the first watcher')
    const second = await runCli(['ssh-sync', '--watch'], {env: env(), timeoutMs: 20_000})
    expect(second.code).not.toBe(0)
    expect(second.stdout + second.stderr).not.toContain('watching')
    expect(second.stderr).toContain(`already keeps ${config} current`)
    expect(second.stderr).toContain(`pid ${first.child.pid}`)
    first.child.kill('SIGTERM')
    await first.exited
  }, 40_000)

  it('regression: a lock left naming a live, unrelated pid (pid reuse) does not refuse the next watcher', async () => {
    const {lockPath} = await lockPaths()
    await mkdir(path.dirname(lockPath), {recursive: true})
    // pid 1 is alive and is not a watcher: a bare pid check would refuse forever.
    await writeFile(lockPath, JSON.stringify({pid: 1, config}))
    const old = new Date(Date.now() - 3600_000)
    await utimes(lockPath, old, old)
    const w = watcher()
    await waitFor(has(BEGIN_MARKER), 15_000, 'the watcher taking over the stale lock')
    expect(JSON.parse(await readFile(lockPath, 'utf8')).pid).toBe(w.child.pid)
    w.child.kill('SIGTERM')
    expect(await w.exited).toBe(0)
  }, 40_000)

  it('regression: SIGHUP (terminal closed) ends the watcher cleanly and releases its lock', async () => {
    const w = watcher()
    await waitFor(has(BEGIN_MARKER), 15_000, 'the first sync')
    const {lockPath} = await lockPaths()
    const socketPath = (JSON.parse(await readFile(lockPath, 'utf8')) as {socket: string}).socket
    expect(existsSync(socketPath)).toBe(true)
    w.child.kill('SIGHUP')
    expect(await w.exited).toBe(0)
    expect(existsSync(lockPath)).toBe(false)
    expect(existsSync(socketPath)).toBe(false)
  }, 40_000)
})

describe('two installs, each with its own watcher on one file', () => {
  const OTHER = '0299aa00-0000-7000-8000-00000000000b'
  let simB: Simulator
  beforeEach(async () => {
    simB = await startSimulator({seed: [{id: OTHER, phase: 'ENVIRONMENT_PHASE_RUNNING', ssh: {user: 'enterprise', host: '127.0.0.51', port: 22}}]})
  })
  afterEach(async () => {
    for (const child of children) child.kill('SIGKILL')
    await simB.close()
  })
  const envB = () => baseEnv(home, {ONA_API_URL: simB.url, ONA_TOKEN: simB.token, ONA_KEYRING: 'off'})
  const watching = (w: ReturnType<typeof watcher>) => async () => w.out.stdout.includes('watching')

  it('run side by side; --remove for A stops only A\'s watcher and B\'s keeps its part current', async () => {
    // Before: the lock was per file, so B's watcher was refused while A's ran.
    const a = watcher()
    await waitFor(has('HostName 127.0.0.11'), 15_000, 'A\'s first sync')
    const b = watcher([], envB())
    await waitFor(has('HostName 127.0.0.51'), 15_000, 'B\'s first sync')
    expect(b.out.stderr).toBe('')
    // The same (file, origin) twice is still refused, naming the holder.
    const second = await runCli(['ssh-sync', '--watch'], {env: envB(), timeoutMs: 20_000})
    expect(second.code).not.toBe(0)
    expect(second.stderr).toContain(`pid ${b.child.pid}`)
    expect(second.stderr).toContain(`already keeps ${config} current for ${new URL(simB.url).origin}`)
    // Each watcher writes its own part; the other's write does not make it fight back.
    await waitFor(async () => simB.openStreams() > 0 && sim.openStreams() > 0, 10_000, 'both event streams')
    simB.setSshAddress(OTHER, {host: '127.0.0.52', port: 22})
    await waitFor(has('HostName 127.0.0.52', 'HostName 127.0.0.11'), 10_000, 'B\'s new address beside A\'s part')
    sim.setSshAddress(A, {host: '127.0.0.71', port: 2222})
    await waitFor(has('HostName 127.0.0.52', 'HostName 127.0.0.71'), 10_000, 'A\'s new address beside B\'s part')

    const removeA = await runCli(['ssh-sync', '--remove'], {env: env()})
    expect(removeA.code).toBe(0)
    expect(removeA.stdout).toContain(`stopped the running \`ona ssh-sync --watch\` (pid ${a.child.pid})`)
    expect(removeA.stdout).not.toContain(`pid ${b.child.pid}`)
    expect(await a.exited).toBe(0)
    // B's watcher still runs and still writes its part; A's aliases stay out.
    simB.setSshAddress(OTHER, {host: '127.0.0.53', port: 22})
    await waitFor(has('HostName 127.0.0.53'), 10_000, 'B\'s watcher writing after A\'s --remove')
    expect(await readFile(config, 'utf8')).not.toContain('127.0.0.71')
    const [status] = JSON.parse((await runCli(['service', 'status', '--json', '--api-url', simB.url], {env: envB()})).stdout) as Array<{running: boolean; pid?: number; removedAt?: string}>
    expect(status).toMatchObject({running: true, pid: b.child.pid})
    expect(status!.removedAt).toBeUndefined()
    const [statusA] = JSON.parse((await runCli(['service', 'status', '--json'], {env: env()})).stdout) as Array<{running: boolean; removedAt?: string}>
    expect(statusA).toMatchObject({running: false, removedAt: expect.any(String)})
    b.child.kill('SIGTERM')
    expect(await b.exited).toBe(0)
  }, 90_000)

  it('--remove --all stops every watcher of the file, and neither install\'s service puts its part back', async () => {
    const a = watcher()
    const b = watcher([], envB())
    await waitFor(watching(a), 15_000, 'A\'s watcher')
    await waitFor(watching(b), 15_000, 'B\'s watcher')
    await waitFor(has('HostName 127.0.0.11', 'HostName 127.0.0.51'), 15_000, 'both parts')
    const removed = await runCli(['ssh-sync', '--remove', '--all', '--json'], {env: env()})
    expect(removed.code).toBe(0)
    const data = JSON.parse(removed.stdout) as {watchers?: Array<{pid: number; action: string}>}
    expect(data.watchers?.map((w) => w.pid).sort()).toEqual([a.child.pid, b.child.pid].sort())
    expect([await a.exited, await b.exited]).toEqual([0, 0])
    expect(await readFile(config, 'utf8')).toBe('Host mine\n  Port 2200\n')
    // B's service at the next login does not put B's part back; after a plain sync of A, A's would.
    expect((await runCli(['ssh-sync'], {env: env()})).code).toBe(0)
    const service = watcher(['--service'], envB())
    expect(await service.exited).toBe(0)
    expect(service.out.stdout).toContain('the service does not put it back')
    expect(await readFile(config, 'utf8')).not.toContain('127.0.0.51')
  }, 90_000)
})

describe('the service after `ona ssh-sync --remove`', () => {
  it('a service-run watcher (--service) starting after --remove ends without putting the block back; `ona ssh-sync` brings it back', async () => {
    expect((await runCli(['ssh-sync'], {env: env()})).code).toBe(0)
    expect((await runCli(['ssh-sync', '--remove'], {env: env()})).code).toBe(0)
    const service = watcher(['--service'])
    expect(await service.exited).toBe(0)
    expect(service.out.stdout).toContain('the service does not put it back')
    expect(await readFile(config, 'utf8')).toBe('Host mine\n  Port 2200\n')
    const [status] = JSON.parse((await runCli(['service', 'status', '--json'], {env: env()})).stdout) as Array<{removedAt?: string}>
    expect(status!.removedAt).toEqual(expect.any(String))
    // A plain sync is the user wanting the block again: the service keeps it from then on.
    expect((await runCli(['ssh-sync'], {env: env()})).code).toBe(0)
    const again = watcher(['--service'])
    await waitFor(async () => again.out.stdout.includes('watching'), 15_000, 'the service-run watcher to start')
    expect(await readFile(config, 'utf8')).toContain(BEGIN_MARKER)
    again.child.kill('SIGTERM')
    expect(await again.exited).toBe(0)
  }, 60_000)

  it('a watcher started by hand after --remove is a new explicit command: it writes the block', async () => {
    expect((await runCli(['ssh-sync', '--remove'], {env: env()})).code).toBe(0)
    const w = watcher()
    await waitFor(has(BEGIN_MARKER), 15_000, 'the block written')
    w.child.kill('SIGTERM')
    expect(await w.exited).toBe(0)
  }, 40_000)
})

describe('ona ssh-sync --watch --json', () => {
  it('prints one JSON object per line and event, in a fixed shape', async () => {
    const w = watcher(['--json'])
    await waitFor(has('HostName 127.0.0.11'), 15_000, 'the first sync')
    await waitFor(async () => sim.openStreams() > 0, 10_000, 'the event stream')
    // The stream's opening triggers a listing of its own: let it be answered, so the change below is heard
    // as an event (its reason is part of the shape) and not picked up by that listing.
    await waitFor(async () => sim.requests.filter((r) => r.rpc === 'ListEnvironments' && r.status === 200).length >= 2, 10_000, 'the listing on stream open')
    // The key registered by the first sync turns READY a moment later (an event per environment, each
    // fetched): a write for one of those would carry the change below under its own reason.
    await waitForQuiet(() => sim.requests.length, 500, 10_000, 'the key-ready events to be handled')
    sim.setSshAddress(A, {host: '127.0.0.99', port: 2222})
    await waitFor(async () => w.out.stdout.includes('127.0.0.99'), 10_000, 'the change event')
    w.child.kill('SIGTERM')
    expect(await w.exited).toBe(0)
    const events = w.out.stdout.trim().split('\n').map((line) => JSON.parse(line) as Record<string, unknown>)
    for (const e of events) expect(e.time).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/)
    expect(events[0]).toEqual({time: expect.any(String), type: 'started', message: 'watching your environments for ~/.ssh/config', sshConfig: config, pid: w.child.pid})
    const change = events.find((e) => e.type === 'change' && JSON.stringify(e.updated).includes('127.0.0.99'))
    expect(change).toEqual({
      time: expect.any(String),
      type: 'change',
      message: '~/.ssh/config updated (3 environments)',
      reason: `event for ${A}`,
      added: [],
      updated: [{alias: `${A}.gitpod.environment`, from: 'gitpod_devcontainer@127.0.0.11:2222', to: 'gitpod_devcontainer@127.0.0.99:2222'}],
      removed: [],
      environments: 3,
    })
    expect(events.at(-1)).toEqual({time: expect.any(String), type: 'stopped', message: 'stopped'})
    expect(w.out.stdout).not.toContain(sim.token)
  }, 40_000)
})
