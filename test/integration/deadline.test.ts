/**
 * The overall deadline of one-shot commands (`--timeout`, ONA_TIMEOUT, default 60 s) through the built
 * CLI against the simulator on 127.0.0.1. Regression: a stalled API used to hang a one-shot command for
 * about 123 s (4 attempts of 30 s and the backoff between them) without a word.
 */
import {spawn} from 'node:child_process'
import {readFile} from 'node:fs/promises'
import path from 'node:path'

import {beforeEach, describe, expect, it, onTestFinished} from 'vitest'

import {startSimulator, type Simulator} from '../../src/lib/simulator/server.js'
import {BEGIN_MARKER} from '../../src/lib/ssh-config/index.js'
import {baseEnv, binRun, runCli} from '../helpers/run-cli.js'
import {useFixture} from '../helpers/fixture.js'
import {waitFor} from '../helpers/wait-for.js'

const A = '0199ec15-59d3-7e92-8e22-8cb6c7ba4df7'
/** One attempt of the old policy alone was 30 s; a run cut at 2 s must end far below it, even on a loaded machine. */
const WELL_BEFORE_MS = 25_000

const fixture = useFixture({prefix: 'deadline', configText: '# mine\nHost github.com\n  User git\n'})
let home: string
let config: string
let sim: Simulator
let env: NodeJS.ProcessEnv
beforeEach(() => ({home, config, sim, env} = fixture))

const origin = () => new URL(sim.url).origin

describe('--timeout against a stalled management plane', () => {
  it('ends `ona ssh-sync --timeout 2s` with ERR_DEADLINE_EXCEEDED well before the old 123 s, the block byte for byte as it was', async () => {
    const first = await runCli(['ssh-sync'], {env})
    expect(first.code).toBe(0)
    const before = await readFile(config)
    expect(before.toString()).toContain(BEGIN_MARKER)

    sim.injectFault({type: 'stall'}, {times: Number.POSITIVE_INFINITY})
    const result = await runCli(['ssh-sync', '--timeout', '2s'], {env, timeoutMs: 60_000})
    expect(result.code).toBe(1)
    expect(result.ms).toBeLessThan(WELL_BEFORE_MS)
    expect(result.stdout).toBe('')
    // The first sync kept the token's subject id (subject-cache.ts): this one's first call is the listing.
    expect(result.stderr).toBe(
      `error: ListEnvironments on ${origin()} did not answer within 2s (--timeout)\n` +
        'hint: Raise --timeout (or ONA_TIMEOUT; 0 means no deadline), check the network and proxy with `ona preflight`, or try again later.\n',
    )
    expect(await readFile(config)).toEqual(before)
  })

  it('carries the error in --json, with the RPC, the API origin and the budget', async () => {
    sim.injectFault({type: 'stall'}, {times: Number.POSITIVE_INFINITY})
    const result = await runCli(['ssh-sync', '--timeout', '1500ms', '--json'], {env, timeoutMs: 60_000})
    expect(result.code).toBe(1)
    expect(JSON.parse(result.stdout)).toEqual({
      error: {
        code: 'ERR_DEADLINE_EXCEEDED',
        message: `GetAuthenticatedIdentity on ${origin()} did not answer within 1.5s (--timeout)`,
        hint: expect.stringContaining('--timeout'),
        details: {rpc: 'GetAuthenticatedIdentity', origin: origin(), attempt: 1, attempts: 4, timeoutMs: 1500},
      },
    })
    expect(result.stderr).toBe('')
  })

  it('cuts a stall on a later RPC too, and `--check` then fails with the deadline, not "out of date"', async () => {
    await runCli(['ssh-sync'], {env})
    const before = await readFile(config)
    sim.injectFault({type: 'stall'}, {rpc: 'ListEnvironments', times: Number.POSITIVE_INFINITY})
    const result = await runCli(['ssh-sync', '--check', '--timeout', '2'], {env, timeoutMs: 60_000})
    expect(result.code).toBe(1)
    expect(result.ms).toBeLessThan(WELL_BEFORE_MS)
    expect(result.stderr).toContain(`error: ListEnvironments on ${origin()} did not answer within 2s (--timeout)`)
    expect(result.stderr).not.toContain('out of date')
    expect(await readFile(config)).toEqual(before)
  })

  it('stops the whole sync when key registration runs out of time: nothing is written, not a warning and a new block', async () => {
    const before = await readFile(config)
    sim.injectFault({type: 'stall'}, {rpc: 'UpdateEnvironment', times: Number.POSITIVE_INFINITY})
    const result = await runCli(['ssh-sync', '--timeout', '2s'], {env, timeoutMs: 60_000})
    expect(result.code).toBe(1)
    expect(result.stderr).toContain(`error: UpdateEnvironment on ${origin()} did not answer within 2s (--timeout)`)
    expect(result.stdout).toBe('')
    expect(await readFile(config)).toEqual(before)
  })

  it('reads ONA_TIMEOUT when --timeout is not given', async () => {
    sim.injectFault({type: 'stall'}, {times: Number.POSITIVE_INFINITY})
    const result = await runCli(['environment', 'list', '--json'], {env: {...env, ONA_TIMEOUT: '1s'}, timeoutMs: 60_000})
    expect(result.code).toBe(1)
    expect(result.ms).toBeLessThan(WELL_BEFORE_MS)
    expect(JSON.parse(result.stdout).error).toMatchObject({code: 'ERR_DEADLINE_EXCEEDED', message: expect.stringContaining('within 1s (ONA_TIMEOUT)')})
  })

  it.each([
    ['whoami', ['whoami']],
    ['environment list', ['environment', 'list']],
    ['ssh', ['ssh', A, '--skip-preflight']],
  ])('bounds `ona %s` the same way', async (_name, args) => {
    sim.injectFault({type: 'stall'}, {times: Number.POSITIVE_INFINITY})
    const result = await runCli([...args, '--timeout', '1s'], {env, timeoutMs: 60_000})
    expect(result.code).toBe(1)
    expect(result.ms).toBeLessThan(WELL_BEFORE_MS)
    expect(result.stderr).toContain(`on ${origin()} did not answer within 1s (--timeout)`)
  })

  it('bounds `ona login` from the time the token is read', async () => {
    sim.injectFault({type: 'stall'}, {times: Number.POSITIVE_INFINITY})
    const {ONA_TOKEN: _unused, ...noToken} = env
    const result = await runCli(['login', '--token-stdin', '--timeout', '1s'], {env: noToken, input: `${sim.token}\n`, timeoutMs: 60_000})
    expect(result.code).toBe(1)
    expect(result.ms).toBeLessThan(WELL_BEFORE_MS)
    expect(result.stderr).toContain(`error: GetAuthenticatedIdentity on ${origin()} did not answer within 1s (--timeout)`)
  })
})

describe('--timeout and retries', () => {
  it('stops retrying when the next backoff would pass the deadline, with the real failure', async () => {
    sim.injectFault({type: 'http', status: 503}, {times: Number.POSITIVE_INFINITY})
    const result = await runCli(['environment', 'list', '--timeout', '1s', '--json'], {env, timeoutMs: 60_000})
    expect(result.code).toBe(1)
    const error = JSON.parse(result.stdout).error
    // The deadline stopped it (the code --timeout promises), the real failure is in the message and details.
    expect(error.code).toBe('ERR_DEADLINE_EXCEEDED')
    expect(error.details).toMatchObject({previous: 'ERR_API_UNAVAILABLE'})
    // How many fit depends on the jitter (backoffs of 250-500 ms, then 500-1000 ms): 1 to 3, never all 4.
    expect(error.message).toMatch(/\(gave up after [123] attempts?: --timeout 1s leaves no time for another\)$/)
    // Fewer than the 4 attempts the policy allows: the deadline stopped it.
    expect(sim.rpcCount('GetAuthenticatedIdentity')).toBeLessThan(4)
  })

  it('waits as long as it takes with --timeout 0 (a reply later than a short deadline still arrives)', async () => {
    // ListEnvironments: every listing makes it (the second one names the subject id the first one kept).
    sim.injectFault({type: 'late', delayMs: 2500}, {rpc: 'ListEnvironments'})
    const result = await runCli(['environment', 'list', '--timeout', '0', '--json'], {env, timeoutMs: 60_000})
    expect(result.code).toBe(0)
    expect(JSON.parse(result.stdout).length).toBeGreaterThan(0)
    sim.injectFault({type: 'late', delayMs: 2500}, {rpc: 'ListEnvironments'})
    const cut = await runCli(['environment', 'list', '--timeout', '1s', '--json'], {env, timeoutMs: 60_000})
    expect(JSON.parse(cut.stdout).error.code).toBe('ERR_DEADLINE_EXCEEDED')
  })
})

describe('ona ssh: --timeout and --start-timeout', () => {
  it('does not count the start wait against --timeout: a start longer than it still connects', async () => {
    // A simulator of its own, whose start takes 5 s (the fixture's own is closed after the test).
    sim = await startSimulator({seed: path.resolve('fixtures/environments.json'), delays: {startMs: 5000}})
    onTestFinished(() => sim.close())
    env = baseEnv(home, {ONA_API_URL: sim.url, ONA_TOKEN: sim.token, ONA_KEYRING: 'off'})
    const stopped = '0199ec15-c3d8-7a66-b2f1-6e0d4f9a5b24'
    const result = await runCli(['ssh', stopped, '--skip-preflight', '--timeout', '4s', '--', '-G'], {env, timeoutMs: 60_000})
    expect(result.stderr).not.toContain('did not answer within')
    expect(result.code).toBe(0)
    expect(result.stdout).toContain(`hostkeyalias ${stopped}.gitpod.environment`)
    expect(sim.rpcCount('StartEnvironment')).toBe(1)
    // Sent after the wait under --timeout's clock: it reached the plane, so that clock had not run out.
    expect(sim.lastActivity(stopped)?.source).toBe('SSH')
  })

  it('bounds the start wait and its calls by --start-timeout, naming that flag', async () => {
    const stopped = '0199ec15-c3d8-7a66-b2f1-6e0d4f9a5b24'
    sim.injectFault({type: 'stall'}, {rpc: 'StartEnvironment', times: Number.POSITIVE_INFINITY})
    const result = await runCli(['ssh', stopped, '--skip-preflight', '--start-timeout', '2', '--json', '--', '-G'], {env, timeoutMs: 60_000})
    expect(result.code).toBe(1)
    expect(result.ms).toBeLessThan(WELL_BEFORE_MS)
    expect(JSON.parse(result.stdout).error).toMatchObject({
      code: 'ERR_DEADLINE_EXCEEDED',
      message: `StartEnvironment on ${origin()} did not answer within 2s (--start-timeout)`,
      hint: expect.stringMatching(/^Raise --start-timeout/),
    })
  })
})

describe('watch mode', () => {
  it('is not under ONA_TIMEOUT: a first reply later than it still makes the first sync', async () => {
    sim.injectFault({type: 'late', delayMs: 2500}, {rpc: 'GetAuthenticatedIdentity'})
    const child = spawn(process.execPath, [binRun, 'ssh-sync', '--watch'], {env: {...env, ONA_TIMEOUT: '1s'}, stdio: ['ignore', 'pipe', 'pipe']})
    let out = ''
    child.stdout.setEncoding('utf8').on('data', (c: string) => (out += c))
    child.stderr.setEncoding('utf8').on('data', (c: string) => (out += c))
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)))
    try {
      await waitFor(async () => (await readFile(config, 'utf8')).includes(BEGIN_MARKER), 20_000, 'the first sync')
      expect(out).not.toContain('ERR_DEADLINE_EXCEEDED')
      expect(out).not.toContain('did not answer within')
    } finally {
      child.kill('SIGTERM')
      await exited
    }
  }, 40_000)
})

describe('--timeout usage', () => {
  it.each([
    [['ssh-sync', '--timeout', 'soon'], /--timeout must be a duration such as 30s, 2m or 90 \(seconds\), got "soon"/],
    [['ssh-sync', '--timeout', '-5'], /--timeout must be a duration/],
    [['whoami', '--timeout', '10x'], /--timeout must be a duration/],
  ])('refuses %j as a usage error (exit 2)', async (args, message) => {
    const result = await runCli(args, {env})
    expect(result.code).toBe(2)
    expect(result.stderr).toMatch(message)
    expect(result.stderr).toContain('hint: Give a duration like 30s')
  })

  it('names ONA_TIMEOUT when the variable is what is wrong', async () => {
    const result = await runCli(['whoami'], {env: {...env, ONA_TIMEOUT: 'later'}})
    expect(result.code).toBe(2)
    expect(result.stderr).toContain('ONA_TIMEOUT must be a duration')
  })

  it('does not put watch mode under a deadline: --timeout with --watch is a usage error', async () => {
    const result = await runCli(['ssh-sync', '--watch', '--timeout', '5s'], {env})
    expect(result.code).toBe(2)
    expect(result.stderr).toMatch(/^error: .*--timeout.*--watch|^error: .*--watch.*--timeout/m)
  })
})
