/**
 * Issue 17, proved beyond examples: the four writers of the block (the watcher, `ona ssh-sync`, `ona ssh`'s
 * resolution and sync, the ProxyCommand's entry update) interleaved at random against the simulator, with
 * random address changes, lost events, dropped streams, duplicate pages, null fields, and slow, late,
 * failing and dropped replies. Invariants, checked on the real file all along:
 *
 * 1. the block never holds an address older than one already written for that environment;
 * 2. it never loses a running environment's alias (every environment here runs throughout);
 * 3. a few seconds after the last change it equals the API's state.
 *
 * Each writer's own failure under an injected fault is fine; an error that is not the API failing (an
 * ambiguous name, an alias missing after `ona ssh`'s sync, a broken block) is not.
 *
 * CI runs a fixed seed and two random ones, bounded to about a minute; a failure prints its seed and the
 * steps. ONA_WRITERS_SEEDS=1,2,3 and ONA_WRITERS_RUNS=5 run more (see the before-stop check).
 */
import {mkdir, mkdtemp, readFile, rm, writeFile} from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import {PassThrough} from 'node:stream'

import fc from 'fast-check'
import {describe, it} from 'vitest'

import {createApiClient} from '../../src/lib/api/client.js'
import {createContext, type Context} from '../../src/lib/context.js'
import {isOnaError} from '../../src/lib/errors.js'
import {createIOStreams} from '../../src/lib/io.js'
import {resolveProxyTarget} from '../../src/lib/proxy/proxy.js'
import {startSimulator, type Fault, type FaultOptions, type Simulator} from '../../src/lib/simulator/server.js'
import {readBlockEnvironments} from '../../src/lib/ssh-config/index.js'
import {sshConnect} from '../../src/lib/ssh/connect.js'
import {syncSshConfig} from '../../src/lib/sync/sync.js'
import {watchSshConfig} from '../../src/lib/watch/watch.js'
import {baseEnv} from '../helpers/run-cli.js'
import {waitFor} from '../helpers/wait-for.js'

const ENVIRONMENTS = [
  {id: '0199ec15-59d3-7e92-8e22-8cb6c7ba4df7', name: 'api-backend'},
  {id: '0199ec15-8a41-7c10-9d3b-2f6e1b7a9c02', name: 'web-frontend'},
  {id: '0199ec15-b2c7-7f55-a1e0-5d9c3e8f4a13', name: 'docs-site'},
]
const FIXED_SEED = 1717
/** API failures a writer may meet under the injected faults; anything else is a defect. */
const API_FAILURES = new Set(['ERR_API_UNAVAILABLE', 'ERR_API_TIMEOUT', 'ERR_API_RATE_LIMITED', 'ERR_API_REQUEST', 'ERR_DEADLINE_EXCEEDED'])

type FaultKind = 'duplicate' | 'stale-duplicate' | 'nulls' | 'slow' | 'late' | 'fail' | 'drop'
type Step = {waitMs: number} & (
  | {kind: 'move'; env: number}
  | {kind: 'sync'}
  | {kind: 'ssh'; env: number}
  | {kind: 'proxy'; env: number}
  | {kind: 'lose-events'; count: number}
  | {kind: 'drop-streams'}
  | {kind: 'fault'; fault: FaultKind; rpc: 'ListEnvironments' | 'GetEnvironment'; times: number}
)

const env = fc.integer({min: 0, max: ENVIRONMENTS.length - 1})
const step: fc.Arbitrary<Step> = fc
  .tuple(
    fc.integer({min: 0, max: 350}),
    fc.oneof(
      {weight: 5, arbitrary: fc.record({kind: fc.constant('move' as const), env})},
      {weight: 2, arbitrary: fc.record({kind: fc.constant('sync' as const)})},
      {weight: 2, arbitrary: fc.record({kind: fc.constant('ssh' as const), env})},
      {weight: 2, arbitrary: fc.record({kind: fc.constant('proxy' as const), env})},
      {weight: 2, arbitrary: fc.record({kind: fc.constant('lose-events' as const), count: fc.integer({min: 1, max: 3})})},
      {weight: 1, arbitrary: fc.record({kind: fc.constant('drop-streams' as const)})},
      {
        weight: 4,
        arbitrary: fc.record({
          kind: fc.constant('fault' as const),
          fault: fc.constantFrom<FaultKind>('duplicate', 'stale-duplicate', 'nulls', 'slow', 'late', 'fail', 'drop'),
          rpc: fc.constantFrom('ListEnvironments' as const, 'GetEnvironment' as const),
          times: fc.integer({min: 1, max: 3}),
        }),
      },
    ),
  )
  .map(([waitMs, action]) => ({waitMs, ...action}))
const scenario = fc.array(step, {minLength: 8, maxLength: 16})

function faultOf(kind: FaultKind): Fault {
  switch (kind) {
    case 'duplicate':
      return {type: 'duplicate-pages'}
    case 'stale-duplicate':
      return {type: 'duplicate-pages', stale: true}
    case 'nulls':
      // Nulls protobuf JSON allows for any field, read as the defaults; the names stay (`ona ssh <name>`).
      return {type: 'fields', set: {'metadata.organizationId': null, 'metadata.creator.principal': null, 'spec.desiredPhase': null, 'status.environmentUrls.ports': null, 'status.environmentUrls.logs': null}}
    case 'slow':
      return {type: 'slow', delayMs: 400}
    case 'late':
      return {type: 'late', delayMs: 700}
    case 'fail':
      return {type: 'http', status: 503, code: 'unavailable'}
    default:
      return {type: 'drop'}
  }
}

/** Runs one scenario against a fresh simulator and HOME; throws (with what happened) when an invariant breaks. */
async function run(steps: readonly Step[]): Promise<void> {
  const home = await mkdtemp(path.join(os.tmpdir(), 'ona-writers-random-'))
  const config = path.join(home, '.ssh', 'config')
  await mkdir(path.dirname(config), {mode: 0o700})
  await writeFile(config, '# mine\nHost github.com\n  User git\n', {mode: 0o600})
  let hostNumber = 0
  const nextHost = () => `127.0.${1 + Math.floor(hostNumber / 250)}.${(hostNumber++ % 250) + 1}`
  // Every address each environment has had, in order: an address's age is its index here.
  const history = new Map<string, string[]>()
  const seeds = ENVIRONMENTS.map(({id, name}) => {
    const host = nextHost()
    history.set(id, [host])
    return {id, name, statusVersion: 10, ssh: {host, port: 2222}}
  })
  const sim: Simulator = await startSimulator({seed: seeds, pageSizeMax: 2, delays: {startMs: 50, stopMs: 50, keyReadyMs: 30}})
  const sink = new PassThrough()
  let log = ''
  sink.setEncoding('utf8').on('data', (chunk: string) => (log += chunk))
  const ctx: Context = createContext({
    env: baseEnv(home, {ONA_API_URL: sim.url, ONA_TOKEN: sim.token, ONA_KEYRING: 'off', ONA_SSH: 'true'}),
    io: createIOStreams({out: sink, err: sink, isTTY: false, env: {NO_COLOR: '1'}}),
  })
  const violations: string[] = []
  const unexpected: string[] = []
  const abort = new AbortController()
  let monitor: NodeJS.Timeout | undefined
  let watching: Promise<void> | undefined
  try {
    // The block as `ona ssh-sync` first writes it (this also creates ona's key, which every writer then uses).
    await syncSshConfig(ctx, {apiUrl: sim.url, verify: false})

    // Invariants 1 and 2, on every state of the file the monitor sees.
    const seenAge = new Map<string, number>()
    const present = new Set<string>()
    let reading = false
    const check = async () => {
      if (reading) return
      reading = true
      try {
        const entries = new Map(readBlockEnvironments(await readFile(config, 'latin1')).map((e) => [e.id, e]))
        for (const {id} of ENVIRONMENTS) {
          const entry = entries.get(id)
          if (!entry) {
            if (present.has(id)) violations.push(`the alias of running environment ${id} was lost`)
            continue
          }
          present.add(id)
          const age = history.get(id)!.indexOf(entry.host)
          if (age === -1) violations.push(`${id} has ${entry.host}, never one of its addresses`)
          else if (age < (seenAge.get(id) ?? 0)) violations.push(`${id} went back from ${history.get(id)![seenAge.get(id)!]} to the older ${entry.host}`)
          else seenAge.set(id, age)
        }
      } finally {
        reading = false
      }
    }
    monitor = setInterval(() => void check().catch((error: Error) => violations.push(`unreadable block: ${error.message}`)), 10)

    const client = await createApiClient({baseUrl: sim.url, token: sim.token, env: {}, retries: 1, backoff: {baseMs: 20, maxMs: 100}})
    watching = watchSshConfig(ctx, {
      client,
      signal: abort.signal,
      fileDebounceMs: 100,
      intervalMs: 1000,
      tickMs: 100,
      backoff: {baseMs: 50, maxMs: 200},
      retryBackoff: {baseMs: 100, maxMs: 400},
    })
    watching.catch((error: Error) => unexpected.push(`the watcher ended: ${error.message}`))
    await waitFor(async () => sim.openStreams() > 0, 5000, 'the watcher to connect')

    const writers: Array<Promise<unknown>> = []
    const writer = (name: string, work: () => Promise<unknown>) => {
      writers.push(
        work().catch((error: unknown) => {
          if (isOnaError(error) && API_FAILURES.has(error.code)) return
          unexpected.push(`${name}: ${isOnaError(error) ? `${error.code} ` : ''}${(error as Error)?.message ?? String(error)}`)
        }),
      )
    }
    for (const s of steps) {
      await new Promise((resolve) => setTimeout(resolve, s.waitMs))
      const target = ENVIRONMENTS[s.kind === 'move' || s.kind === 'ssh' || s.kind === 'proxy' ? s.env : 0]!
      switch (s.kind) {
        case 'move': {
          const host = nextHost()
          history.get(target.id)!.push(host)
          sim.setSshAddress(target.id, {host, port: 2222})
          break
        }
        case 'sync':
          writer('ona ssh-sync', () => syncSshConfig(ctx, {apiUrl: sim.url, verify: false}))
          break
        case 'ssh':
          writer(`ona ssh ${target.name}`, async () => {
            const code = await sshConnect(ctx, {target: target.name, skipPreflight: true, apiUrl: sim.url, args: []})
            if (code !== 0) throw new Error(`ssh (true) exited ${code}`)
          })
          break
        case 'proxy':
          writer(`ona ssh-proxy ${target.id}`, () => resolveProxyTarget(ctx, {environmentId: target.id, apiUrl: sim.url}))
          break
        case 'lose-events':
          sim.loseEvents(s.count)
          break
        case 'drop-streams':
          sim.dropStreams()
          break
        case 'fault': {
          const options: FaultOptions = {rpc: s.rpc, times: s.times}
          sim.injectFault(faultOf(s.fault), options)
          break
        }
      }
    }
    await Promise.all(writers)
    // The last change is behind us: no more faults, and within a few seconds the block is the API's state.
    sim.clearFaults()
    sim.loseEvents(0)
    const apiState = () =>
      Object.fromEntries(
        ENVIRONMENTS.map(({id}) => {
          const url = (sim.environmentJson(id) as {status: {environmentUrls: {ssh: {url: string}}}}).status.environmentUrls.ssh.url
          return [id, url.replace(/^ssh:\/\//, '')]
        }),
      )
    const blockState = async () => Object.fromEntries(readBlockEnvironments(await readFile(config, 'latin1')).map((e) => [e.id, `${e.user}@${e.host}:${e.port}`]))
    await waitFor(async () => JSON.stringify(await blockState()) === JSON.stringify(apiState()), 8000, 'the block to equal the API').catch(async (error: Error) => {
      violations.push(`${error.message}: block ${JSON.stringify(await blockState())}, API ${JSON.stringify(apiState())}`)
    })
    await check()
  } finally {
    clearInterval(monitor)
    abort.abort()
    await watching?.catch(() => undefined)
    await sim.close()
    await rm(home, {recursive: true, force: true})
  }
  if (violations.length > 0 || unexpected.length > 0) {
    throw new Error([...new Set(violations)].concat(unexpected).join('\n') + `\n--- watcher and writers said:\n${log.slice(-4000)}`)
  }
}

function seeds(): number[] {
  const given = process.env.ONA_WRITERS_SEEDS
  if (given) return given.split(',').map((s) => Number(s.trim()))
  // A fixed seed (the same scenarios on every run) plus two random ones (new scenarios each run).
  return [FIXED_SEED, Math.floor(Math.random() * 2 ** 31), Math.floor(Math.random() * 2 ** 31)]
}

describe('the writers of the block, interleaved at random (fast-check)', () => {
  for (const seed of seeds()) {
    it(`seed ${seed}: never an older address, never a lost alias, the API's state a few seconds after the last change`, async () => {
      // About 3 s a scenario: 3 of the fixed seed and 2 of each random one keep CI near half a minute.
      const numRuns = Number(process.env.ONA_WRITERS_RUNS ?? (seed === FIXED_SEED ? 3 : 2))
      try {
        await fc.assert(fc.asyncProperty(scenario, run), {seed, numRuns, endOnFailure: true})
      } catch (error) {
        // The seed reproduces it: ONA_WRITERS_SEEDS=<seed> npx vitest run test/integration/writers-random.test.ts
        throw new Error(`writers test failed with seed ${seed} (ONA_WRITERS_SEEDS=${seed} reruns it):\n${(error as Error).message}`, {cause: error})
      }
    }, 60_000)
  }
})
