/**
 * Getting an environment ready to connect, against the simulator's phases over time: start, wait for the
 * address, register the key, wait for READY; bounded by a deadline and by Ctrl-C (an abort signal),
 * neither of which stops the environment again.
 */
import {mkdtemp, rm} from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'

import {afterEach, beforeEach, describe, expect, it} from 'vitest'

import {createApiClient, type ApiClient} from '../../src/lib/api/client.js'
import {createContext} from '../../src/lib/context.js'
import {waitUntilReady, type ReadyProgress} from '../../src/lib/environments/ready.js'
import {OnaError} from '../../src/lib/errors.js'
import {machineKey, type MachineKey} from '../../src/lib/keys/machine-key.js'
import {startSimulator, type Simulator} from '../../src/lib/simulator/server.js'

const STOPPED = '0199ec15-c3d8-7a66-b2f1-6e0d4f9a5b24'
const RUNNING = '0199ec15-59d3-7e92-8e22-8cb6c7ba4df7'

let home: string
let sim: Simulator
let api: ApiClient
let key: MachineKey

async function setup(delays: {startMs?: number; keyReadyMs?: number}) {
  sim = await startSimulator({
    seed: [
      {id: RUNNING, name: 'api', ssh: {host: '127.0.0.11', port: 2222}},
      {id: STOPPED, name: 'old', phase: 'ENVIRONMENT_PHASE_STOPPED', ssh: {host: '127.0.0.12', port: 2200}},
    ],
    delays,
  })
  api = await createApiClient({baseUrl: sim.url, token: sim.token, env: {}, backoff: {baseMs: 5, maxMs: 10}})
}

beforeEach(async () => {
  home = await mkdtemp(path.join(os.tmpdir(), 'ona-ready-'))
  key = await machineKey(createContext({env: {HOME: home, ONA_CONFIG_DIR: path.join(home, 'cfg')}, homedir: home}))
})
afterEach(async () => {
  await sim?.close()
  await rm(home, {recursive: true, force: true})
})

const get = async (id: string) => (await api.getEnvironment(id)).environment

describe('waitUntilReady', () => {
  it('starts a stopped environment, waits for its address and for the key to be READY, reporting each step', async () => {
    // Long enough that a loaded machine still sees each phase at least once.
    await setup({startMs: 600, keyReadyMs: 600})
    const progress: ReadyProgress[] = []
    const result = await waitUntilReady(api, await get(STOPPED), {key, pollMs: 20, onProgress: (p) => progress.push(p)})
    expect(result.started).toBe(true)
    expect(result.environment.ssh).toEqual({user: 'gitpod_devcontainer', host: '127.0.0.12', port: 2200})
    expect(result.environment.sshKeyStatus).toEqual([{id: key.keyId, phase: 'CONTENT_PHASE_READY'}])
    const steps = [...new Set(progress.map((p) => `${p.step} ${p.phase}`))]
    expect(steps).toEqual([
      'starting ENVIRONMENT_PHASE_STOPPED',
      'starting ENVIRONMENT_PHASE_STARTING',
      'registering-key ENVIRONMENT_PHASE_RUNNING',
      'waiting-for-key CONTENT_PHASE_CREATING',
      'ready ENVIRONMENT_PHASE_RUNNING',
    ])
    expect(progress.at(-1)!.elapsedMs).toBeGreaterThanOrEqual(1000)
    expect(sim.rpcCount('StartEnvironment')).toBe(1)
  })

  it('with start: false refuses a stopped environment without starting it', async () => {
    await setup({})
    const error = await waitUntilReady(api, await get(STOPPED), {start: false}).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(OnaError)
    expect((error as OnaError).code).toBe('ERR_ENVIRONMENT_NOT_RUNNING')
    expect((error as OnaError).message).toBe('environment old (0199ec15-c3d8) is stopped')
    expect(sim.rpcCount('StartEnvironment')).toBe(0)
  })

  it('gives up at the deadline with the phase it was in, and the environment keeps starting', async () => {
    await setup({startMs: 1500})
    // Held, so that "still starting" afterwards does not depend on reading it within 1.5 s on a loaded machine.
    const release = sim.holdTransitions()
    const started = Date.now()
    const error = await waitUntilReady(api, await get(STOPPED), {timeoutMs: 300, pollMs: 20}).catch((e: unknown) => e)
    expect((error as OnaError).code).toBe('ERR_ENVIRONMENT_START_TIMEOUT')
    expect((error as OnaError).message).toMatch(/not ready after \d+ s \(it is starting\)/)
    expect(Date.now() - started).toBeLessThan(1400)
    expect((await get(STOPPED)).phase).toBe('ENVIRONMENT_PHASE_STARTING')
    release()
  })

  it('an abort (Ctrl-C) ends the wait at once and leaves the environment starting, then running', async () => {
    await setup({startMs: 400})
    const controller = new AbortController()
    const waiting = waitUntilReady(api, await get(STOPPED), {signal: controller.signal, pollMs: 20, onProgress: (p) => p.phase === 'ENVIRONMENT_PHASE_STARTING' && controller.abort(new Error('interrupted'))})
    await expect(waiting).rejects.toThrow('interrupted')
    expect(sim.rpcCount('StartEnvironment')).toBe(1)
    const deadline = Date.now() + 5000
    while ((await get(STOPPED)).phase !== 'ENVIRONMENT_PHASE_RUNNING' && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20))
    expect((await get(STOPPED)).phase).toBe('ENVIRONMENT_PHASE_RUNNING')
  })

  it('a key the token may not register is a warning, and the environment is still ready', async () => {
    await setup({})
    sim.injectFault({type: 'http', status: 403, code: 'permission_denied'}, {rpc: 'UpdateEnvironment'})
    const result = await waitUntilReady(api, await get(RUNNING), {key, pollMs: 20})
    expect(result.started).toBe(false)
    expect(result.warnings.map((w) => w.code)).toEqual(['W_KEY_NOT_REGISTERED'])
    expect(result.warnings[0]!.message).toContain(`${RUNNING} (api)`)
  })

  it('a key already READY on a running environment costs one UpdateEnvironment the first time and none after', async () => {
    await setup({keyReadyMs: 30})
    await waitUntilReady(api, await get(RUNNING), {key, pollMs: 20})
    await waitUntilReady(api, await get(RUNNING), {key, pollMs: 20})
    expect(sim.rpcCount('UpdateEnvironment')).toBe(1)
  })
})
