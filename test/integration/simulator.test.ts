/**
 * The simulator's own behaviour, over real HTTP: the demo fixture, the mutators and the events they
 * emit, protocol errors, and `npm run simulator` (dist/lib/simulator/main.js) run by hand.
 */
import {spawn} from 'node:child_process'
import {fileURLToPath} from 'node:url'

import {afterEach, beforeEach, describe, expect, it} from 'vitest'

import {loadSeedFile, startSimulator, type Simulator} from '../../src/lib/simulator/server.js'
import {builtCli, repoRoot} from '../helpers/run-cli.js'

const fixture = fileURLToPath(new URL('../../fixtures/environments.json', import.meta.url))
let sim: Simulator

async function rpc(method: string, body: unknown, options: {token?: string | null; query?: string; httpMethod?: string; headers?: Record<string, string>} = {}) {
  const headers: Record<string, string> = {'content-type': 'application/json', ...options.headers}
  if (options.token !== null) headers.authorization = `Bearer ${options.token ?? sim.token}`
  const response = await fetch(`${sim.url}/gitpod.v1.${method}${options.query ?? ''}`, {
    method: options.httpMethod ?? 'POST',
    headers,
    ...(options.httpMethod === 'GET' ? {} : {body: JSON.stringify(body)}),
  })
  return {status: response.status, json: (await response.json()) as any}
}

beforeEach(async () => {
  sim = await startSimulator({seed: fixture})
})
afterEach(async () => {
  await sim.close()
})

describe('demo fixture', () => {
  it('holds running environments on 127.0.0.x, one stopped, one starting and one of another user', () => {
    const {subject, environments} = loadSeedFile(fixture)
    const mine = environments.filter((e) => (e.creatorId ?? subject?.id) === subject?.id)
    const running = mine.filter((e) => e.phase === 'ENVIRONMENT_PHASE_RUNNING')
    expect(running.length).toBeGreaterThanOrEqual(3)
    for (const env of running) expect(typeof env.ssh === 'object' && env.ssh.host).toMatch(/^127\.0\.0\.\d+$/)
    expect(mine.filter((e) => e.phase === 'ENVIRONMENT_PHASE_STOPPED')).toHaveLength(1)
    expect(mine.filter((e) => e.phase === 'ENVIRONMENT_PHASE_STARTING')).toHaveLength(1)
    expect(environments.filter((e) => e.creatorId && e.creatorId !== subject?.id)).toHaveLength(1)
  })

  it('serves environments only while running with an ssh url', async () => {
    const {json} = await rpc('EnvironmentService/ListEnvironments', {filter: {creatorIds: [sim.subject.id]}})
    expect(json.environments.length).toBeGreaterThan(0)
    for (const env of json.environments) {
      expect(Boolean(env.status.environmentUrls)).toBe(env.status.phase === 'ENVIRONMENT_PHASE_RUNNING')
    }
  })
})

describe('protocol', () => {
  it('answers a missing token with 401 unauthenticated', async () => {
    expect(await rpc('IdentityService/GetAuthenticatedIdentity', {}, {token: null})).toEqual({status: 401, json: {code: 'unauthenticated', message: 'missing bearer token'}})
  })

  it('rejects a forged page token with 400 invalid_argument', async () => {
    const {status, json} = await rpc('EnvironmentService/ListEnvironments', {pagination: {token: 'garbage'}})
    expect(status).toBe(400)
    expect(json.code).toBe('invalid_argument')
  })

  it('caps the page size at pageSizeMax and defaults to 25', async () => {
    await sim.close()
    sim = await startSimulator({seed: Array.from({length: 130}, (_, i) => ({id: `e${i}`})), pageSizeMax: 100})
    expect((await rpc('EnvironmentService/ListEnvironments', {})).json.environments).toHaveLength(25)
    expect((await rpc('EnvironmentService/ListEnvironments', {pagination: {pageSize: 500}})).json.environments).toHaveLength(100)
    expect((await rpc('EnvironmentService/ListEnvironments', {}, {query: '?pageSize=7'})).json.environments).toHaveLength(7)
  })

  it('refuses GET and unknown procedures', async () => {
    expect((await rpc('IdentityService/GetAuthenticatedIdentity', {}, {httpMethod: 'GET'})).status).toBe(405)
    expect((await rpc('EnvironmentService/CreateEnvironment', {})).json.code).toBe('unimplemented')
  })

  it('hides environments of another organisation', async () => {
    sim.addEnvironment({id: 'foreign', organizationId: 'other-org', ssh: {host: '127.0.0.99'}})
    expect((await rpc('EnvironmentService/GetEnvironment', {environmentId: 'foreign'})).status).toBe(404)
  })
})

describe('mutators', () => {
  const id = '0199ec15-59d3-7e92-8e22-8cb6c7ba4df7'
  const get = async () => (await rpc('EnvironmentService/GetEnvironment', {environmentId: id})).json.environment

  it('moves an environment to a new address with a higher statusVersion', async () => {
    const before = await get()
    sim.setSshAddress(id, {host: '127.0.0.77', port: 2022, user: 'dev'})
    const after = await get()
    expect(BigInt(after.status.statusVersion)).toBe(BigInt(before.status.statusVersion) + 1n)
    expect(after.status.environmentUrls.ssh.url).toBe('ssh://dev@127.0.0.77:2022')
  })

  it('stops (no ssh url), starts on a new host, and deletes', async () => {
    sim.stopEnvironment(id)
    expect((await get()).status).toMatchObject({phase: 'ENVIRONMENT_PHASE_STOPPED'})
    expect((await get()).status.environmentUrls).toBeUndefined()
    sim.startEnvironment(id, '127.0.0.88')
    expect((await get()).status.environmentUrls.ssh.url).toBe('ssh://gitpod_devcontainer@127.0.0.88:22')
    sim.deleteEnvironment(id)
    expect((await rpc('EnvironmentService/GetEnvironment', {environmentId: id})).status).toBe(404)
  })

  it('emits CREATE, UPDATE_STATUS and DELETE events on an open JSON-lines stream', async () => {
    const controller = new AbortController()
    const response = await fetch(`${sim.url}/gitpod.v1.EventService/WatchEvents`, {
      method: 'POST',
      headers: {authorization: `Bearer ${sim.token}`, 'content-type': 'application/jsonl', accept: 'application/jsonl'},
      body: JSON.stringify({organization: true}),
      signal: controller.signal,
    })
    expect(response.headers.get('content-type')).toBe('application/jsonl')
    sim.addEnvironment({id: 'new-env', ssh: {host: '127.0.0.50'}})
    sim.setPhase('new-env', 'ENVIRONMENT_PHASE_STOPPING')
    sim.deleteEnvironment('new-env')
    const reader = response.body!.getReader()
    let text = ''
    while (text.split('\n').length < 4) {
      const {value, done} = await reader.read()
      if (done) break
      text += Buffer.from(value).toString('utf8')
    }
    controller.abort()
    expect(
      text
        .trim()
        .split('\n')
        .map((line) => JSON.parse(line).operation),
    ).toEqual(['RESOURCE_OPERATION_CREATE', 'RESOURCE_OPERATION_UPDATE_STATUS', 'RESOURCE_OPERATION_DELETE'])
  })

  it('applies a fault only to the named method and only as many times as asked', async () => {
    sim.injectFault({type: 'http', status: 503}, {rpc: 'GetEnvironment', times: 2})
    expect((await rpc('IdentityService/GetAuthenticatedIdentity', {})).status).toBe(200)
    expect((await rpc('EnvironmentService/GetEnvironment', {environmentId: id})).status).toBe(503)
    expect((await rpc('EnvironmentService/GetEnvironment', {environmentId: id})).status).toBe(503)
    expect((await rpc('EnvironmentService/GetEnvironment', {environmentId: id})).status).toBe(200)
  })
})

describe.skipIf(!builtCli)('npm run simulator', () => {
  it('prints its URL and token and serves the demo set until stopped', async () => {
    const child = spawn(process.execPath, ['dist/lib/simulator/main.js', '--port', '0', '--host', '127.0.0.6'], {cwd: repoRoot, stdio: ['pipe', 'pipe', 'pipe']})
    try {
      let out = ''
      const deadline = Date.now() + 10_000
      while (!/token: \S+\n/.test(out) && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 20))
        out += child.stdout.read()?.toString() ?? ''
      }
      const url = /listening on (\S+)/.exec(out)![1]!
      const token = /token: (\S+)/.exec(out)![1]!
      expect(url).toMatch(/^http:\/\/127\.0\.0\.6:\d+\/api$/)
      const response = await fetch(`${url}/gitpod.v1.EnvironmentService/ListEnvironments`, {
        method: 'POST',
        headers: {authorization: `Bearer ${token}`, 'content-type': 'application/json'},
        body: '{}',
      })
      expect(((await response.json()) as {environments: unknown[]}).environments).toHaveLength(6)
    } finally {
      child.kill('SIGTERM')
    }
    const code = await new Promise((resolve) => child.once('exit', (c, signal) => resolve(c ?? signal)))
    expect(code).toBe(0)
  })

  it('refuses to bind an address outside loopback', async () => {
    const child = spawn(process.execPath, ['dist/lib/simulator/main.js', '--host', '0.0.0.0'], {cwd: repoRoot, stdio: 'ignore'})
    expect(await new Promise((resolve) => child.once('exit', resolve))).toBe(2)
  })
})
