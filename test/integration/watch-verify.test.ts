/**
 * Watch mode checks what it wrote with the real `ssh -G`: a watcher against the simulator on 127.0.0.1, a
 * real config tree in a scratch HOME (`Include config.d/*` above the block), and the OpenSSH client.
 */
import {spawn} from 'node:child_process'
import {chmod, mkdir, mkdtemp, readFile, rm, writeFile} from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import {PassThrough} from 'node:stream'

import {afterEach, beforeEach, describe, expect, it} from 'vitest'

import {createApiClient, type ApiClient} from '../../src/lib/api/client.js'
import {createContext, type Context} from '../../src/lib/context.js'
import {createIOStreams} from '../../src/lib/io.js'
import {startSimulator, type Simulator} from '../../src/lib/simulator/server.js'
import type {DiskVerification} from '../../src/lib/sync/sync.js'
import type {WatchOptions} from '../../src/lib/watch/watch.js'
import {createWatchReporter, type WatchLogEvent} from '../../src/lib/watch/output.js'
import {baseEnv, binRun} from '../helpers/run-cli.js'
import {SSH_PATH} from '../helpers/ssh.js'
import {waitFor} from '../helpers/wait-for.js'
import {startLibraryWatch} from '../helpers/watch.js'

const A = '0199ec15-59d3-7e92-8e22-8cb6c7ba4df7'
const USER_PART = 'Include config.d/*\n\n# mine\nHost github.com\n  User git\n'

let home: string
let config: string
let users: string
let sim: Simulator
let client: ApiClient
let out: string
let verifications: Array<{result: DiskVerification; requested: string[] | undefined}>

function makeCtx(extra: Record<string, string> = {}): Context {
  const stream = new PassThrough()
  stream.setEncoding('utf8').on('data', (chunk: string) => (out += chunk))
  const io = createIOStreams({out: stream, err: stream, isTTY: false, env: {NO_COLOR: '1'}})
  return createContext({env: baseEnv(home, {ONA_SSH: SSH_PATH, ...extra}), io})
}

beforeEach(async () => {
  home = await mkdtemp(path.join(os.tmpdir(), 'ona-watch-verify-'))
  config = path.join(home, '.ssh', 'config')
  users = path.join(home, '.ssh', 'config.d', 'users')
  await mkdir(path.dirname(users), {recursive: true, mode: 0o700})
  await writeFile(config, USER_PART, {mode: 0o600})
  sim = await startSimulator({seed: path.resolve('fixtures/environments.json')})
  client = await createApiClient({baseUrl: sim.url, token: sim.token, env: {}, retries: 1, backoff: {baseMs: 20, maxMs: 100}})
  out = ''
  verifications = []
})
afterEach(async () => {
  await sim.close()
  await rm(home, {recursive: true, force: true})
})

function startWatch(ctx: Context, options: Partial<WatchOptions> = {}) {
  const stop = startLibraryWatch(ctx, {
    client,
    fileDebounceMs: 100,
    backoff: {baseMs: 50, maxMs: 200},
    onVerified: (result, requested) => verifications.push({result, requested}),
    ...options,
  })
  return {done: stop.done, stop}
}

const configHas = (text: string) => async () => (await readFile(config, 'utf8')).includes(text)
const jsonLines = () => out.trim().split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as WatchLogEvent)
const differs = () => jsonLines().filter((e) => e.code === 'W_SSH_DIFFERS')

describe('watch mode checks its writes with the real ssh -G', () => {
  it('an IP change under a `Host *` Included above the block: one structured warning (--json), not one per write', async () => {
    const ctx = makeCtx()
    const watch = startWatch(ctx, {reporter: createWatchReporter(ctx, {json: true})})
    try {
      await waitFor(configHas('HostName 127.0.0.11'), 5000, 'the first sync')
      // The first check covers every alias of the block, and finds nothing wrong yet.
      await waitFor(async () => verifications.length > 0, 15_000, 'the first ssh -G check')
      expect(verifications[0]!.requested).toBeUndefined()
      expect(verifications[0]!.result.checked).toBe(6)
      expect(differs()).toEqual([])
      await waitFor(async () => sim.openStreams() > 0, 5000, 'the event stream')

      await writeFile(users, 'Host *\n  User someone\n')
      sim.setSshAddress(A, {host: '127.0.0.77', port: 2222})
      await waitFor(configHas('HostName 127.0.0.77'), 5000, 'the new address')
      await waitFor(async () => differs().length > 0, 15_000, 'the ssh -G warning')
      // Only the environment that moved was checked, both of its aliases.
      expect(verifications.at(-1)!.requested).toEqual([`${A}.gitpod.environment`])
      expect(verifications.at(-1)!.result.aliases).toEqual([`${A}.gitpod.environment`, `${A}.gitpod.remote`])
      const [warning] = differs()
      expect(warning).toMatchObject({
        type: 'warning',
        code: 'W_SSH_DIFFERS',
        option: 'User',
        alias: expect.stringMatching(new RegExp(`^${A}\\.gitpod\\.(environment|remote)$`)),
        expected: 'gitpod_devcontainer',
        actual: 'someone',
        file: users,
        line: 2,
      })
      expect(warning!.message).toMatch(new RegExp(`^ssh will use User someone for ${A}\\.gitpod\\.(environment|remote), not gitpod_devcontainer as ona wrote \\(set by ${users.replaceAll('.', '\\.')}:2\\)$`))

      // Another write of the same alias: checked again, the same problem is not reported again.
      const before = verifications.length
      sim.setSshAddress(A, {host: '127.0.0.78', port: 2222})
      await waitFor(configHas('HostName 127.0.0.78'), 5000, 'the second address')
      await waitFor(async () => verifications.length > before, 15_000, 'the second check')
      expect(verifications.at(-1)!.result.warnings.map((w) => w.option)).toEqual(['User', 'User'])
      expect(differs()).toHaveLength(1)
    } finally {
      await watch.stop()
    }
  })

  it('human lines: the warning names the option, the value ssh uses and file:line', async () => {
    await writeFile(users, 'Host *\n  User someone\n')
    const ctx = makeCtx()
    const watch = startWatch(ctx)
    try {
      await waitFor(async () => /warning: ssh will use User someone for /.test(out), 15_000, 'the ssh -G warning')
      expect(out).toMatch(new RegExp(`^\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\dZ warning: ssh will use User someone for [0-9a-f-]+\\.gitpod\\.(environment|remote), not gitpod_devcontainer as ona wrote \\(set by ${users.replaceAll('.', '\\.')}:2\\)$`, 'm'))
      // One line for the one line that causes it, however many aliases it affects.
      expect(out.match(/ssh will use User someone/g)).toHaveLength(1)
    } finally {
      await watch.stop()
    }
  })

  it('no ssh installed: one note, however many writes', async () => {
    const ctx = makeCtx({ONA_SSH: path.join(home, 'no-such-ssh')})
    const watch = startWatch(ctx)
    try {
      await waitFor(async () => verifications.length > 0, 15_000, 'the first check')
      await waitFor(async () => sim.openStreams() > 0, 5000, 'the event stream')
      sim.setSshAddress(A, {host: '127.0.0.79', port: 2222})
      await waitFor(async () => verifications.length > 1, 15_000, 'the second check')
      expect(out.match(/not checked with ssh -G: no `.*no-such-ssh` found on PATH/g)).toHaveLength(1)
    } finally {
      await watch.stop()
    }
  })

  it('a hung ssh never holds up the next write, and stopping the watcher kills it', async () => {
    // `exec`: the process verify.ts kills is the sleep itself, nothing is left behind.
    const slow = path.join(home, 'slow-ssh')
    const pids = path.join(home, 'slow-ssh.pids')
    await writeFile(slow, `#!/bin/sh\necho $$ >> '${pids}'\nexec sleep 30\n`)
    await chmod(slow, 0o755)
    const ctx = makeCtx({ONA_SSH: slow})
    const watch = startWatch(ctx)
    try {
      await waitFor(configHas('HostName 127.0.0.11'), 5000, 'the first sync')
      await waitFor(async () => sim.openStreams() > 0, 5000, 'the event stream')
      sim.setSshAddress(A, {host: '127.0.0.80', port: 2222})
      await waitFor(configHas('HostName 127.0.0.80'), 5000, 'the new address while ssh -G hangs')
      // Each process is killed after 5 s: the first check (6 aliases, 4 at a time) cannot be done yet.
      expect(verifications).toEqual([])
    } finally {
      const started = Date.now()
      await watch.stop()
      expect(Date.now() - started).toBeLessThan(4000)
    }
    // Every ssh -G it started is gone (a kill that only resolved the promise would leave `sleep 30` running).
    const started = (await readFile(pids, 'utf8')).trim().split('\n').map(Number)
    expect(started.length).toBeGreaterThan(0)
    const alive = (pid: number) => {
      try {
        process.kill(pid, 0)
        return true
      } catch {
        return false
      }
    }
    await waitFor(async () => started.every((pid) => !alive(pid)), 3000, 'every ssh -G process to be gone')
  })

  it('reuses the ssh -G answers of an unchanged tree and block (issue 21): a restart runs none, a change only its aliases', async () => {
    // The real ssh behind a wrapper that logs each process it starts.
    const log = path.join(home, 'ssh.log')
    const wrapper = path.join(home, 'ssh-wrapper')
    await writeFile(wrapper, `#!/bin/sh\necho "$*" >> '${log}'\nexec ${SSH_PATH} "$@"\n`)
    await chmod(wrapper, 0o755)
    const runs = async () => (await readFile(log, 'utf8').catch(() => '')).split('\n').filter((l) => l !== '')
    const ctx = () => makeCtx({ONA_SSH: wrapper})

    // A watcher started and stopped once it checked the block: what its first check found.
    const firstCheck = async (what: string) => {
      verifications = []
      const watch = startWatch(ctx())
      try {
        await waitFor(async () => verifications.length > 0, 15_000, what)
        return verifications[0]!.result
      } finally {
        await watch.stop()
      }
    }

    // A first watcher checks every alias: 3 environments, 2 aliases each.
    expect(await firstCheck('the first check')).toMatchObject({checked: 6, cached: 0})
    expect(await runs()).toHaveLength(6)

    // Started again on the same tree and block: every answer is reused, no ssh runs.
    verifications = []
    const watch = startWatch(ctx())
    try {
      await waitFor(async () => verifications.length > 0, 15_000, 'the check after a restart')
      expect(verifications[0]!.result).toMatchObject({checked: 6, cached: 6})
      expect(await runs()).toHaveLength(6)
      // One environment moves: only its two aliases are run.
      await waitFor(async () => sim.openStreams() > 0, 5000, 'the event stream')
      sim.setSshAddress(A, {host: '127.0.0.81', port: 2222})
      await waitFor(configHas('HostName 127.0.0.81'), 5000, 'the new address')
      await waitFor(async () => verifications.length > 1, 15_000, 'the check of the change')
      expect(verifications.at(-1)!.result).toMatchObject({checked: 2, cached: 0})
      expect((await runs()).slice(6).sort()).toEqual([expect.stringContaining(`${A}.gitpod.environment`), expect.stringContaining(`${A}.gitpod.remote`)])
    } finally {
      await watch.stop()
    }

    // The partial check kept the others' answers: a third start runs nothing either.
    expect(await firstCheck('the check after the second restart')).toMatchObject({checked: 6, cached: 6})
    expect(await runs()).toHaveLength(8)

    // The tree changed (a file ssh reads): everything is checked again.
    await writeFile(users, '# nothing for ona\n')
    expect(await firstCheck('the check after the tree changed')).toMatchObject({checked: 6, cached: 0})
    expect(await runs()).toHaveLength(14)
  }, 60_000)

  it('the built CLI: `ona ssh-sync --watch --json` prints the ssh -G warning as one structured line', async () => {
    await writeFile(users, 'Host *\n  User someone\n')
    const env = baseEnv(home, {ONA_API_URL: sim.url, ONA_TOKEN: sim.token, ONA_KEYRING: 'off', ONA_SSH: SSH_PATH})
    const child = spawn(process.execPath, [binRun, 'ssh-sync', '--watch', '--json'], {env, stdio: ['ignore', 'pipe', 'pipe']})
    const exited = new Promise<number | null>((resolve) => child.once('exit', resolve))
    child.stdout.setEncoding('utf8').on('data', (c: string) => (out += c))
    child.stderr.setEncoding('utf8').on('data', () => undefined)
    try {
      await waitFor(async () => differs().length > 0, 20_000, 'the ssh -G warning line')
      expect(differs()[0]).toMatchObject({type: 'warning', code: 'W_SSH_DIFFERS', option: 'User', actual: 'someone', expected: 'gitpod_devcontainer', file: users, line: 2})
    } finally {
      child.kill('SIGTERM')
      expect(await exited).toBe(0)
    }
    expect(differs()).toHaveLength(1)
  }, 40_000)
})
