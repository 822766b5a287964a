/**
 * The API client against the management-plane simulator: a real HTTP server on 127.0.0.1, real Node http
 * requests, every injected fault. Retries use tiny backoffs so the suite stays fast; the retry counts are
 * read from the simulator's request log, not inferred from timing.
 */
import {fileURLToPath} from 'node:url'

import {afterEach, beforeEach, describe, expect, it} from 'vitest'

import {createApiClient, type ApiClientOptions} from '../../src/lib/api/client.js'
import {watchEventsWithReconnect, type WatchUpdate} from '../../src/lib/api/watch.js'
import {createDeadline} from '../../src/lib/deadline.js'
import {startSimulator, type SeedEnvironment, type Simulator} from '../../src/lib/simulator/server.js'
import {onaFailure as rejection} from '../helpers/tools.js'

const fixture = fileURLToPath(new URL('../../fixtures/environments.json', import.meta.url))
const OTHER_USER = '7a1c9e42-0b3d-4f5e-8a6b-1c2d3e4f5a6b'

let sim: Simulator

function client(overrides: Partial<ApiClientOptions> = {}) {
  return createApiClient({
    baseUrl: sim.url,
    token: sim.token,
    env: {},
    timeoutMs: 2000,
    retries: 3,
    backoff: {baseMs: 5, maxMs: 20},
    ...overrides,
  })
}


beforeEach(async () => {
  sim = await startSimulator({seed: fixture})
})
afterEach(async () => {
  await sim.close()
})

describe('unary calls', () => {
  it('verifies the token and reports the subject and organisation', async () => {
    const api = await client()
    const identity = await api.getAuthenticatedIdentity()
    expect(identity).toEqual({subjectId: sim.subject.id, principal: 'PRINCIPAL_USER', organizationId: sim.subject.organizationId})
    const entry = sim.requests.at(-1)!
    expect(entry.path).toBe('/api/gitpod.v1.IdentityService/GetAuthenticatedIdentity')
    expect(entry.auth).toBe('valid')
    expect(entry.headers['content-type']).toBe('application/json')
    expect(entry.headers['user-agent']).toMatch(/^ona\/\d+\.\d+\.\d+ /)
  })

  it('lists only the caller’s environments, parsing the SSH address of running ones', async () => {
    const api = await client()
    const {environments, problems} = await api.listEnvironments()
    expect(problems).toEqual([])
    expect(environments.map((e) => e.name).sort()).toEqual(['api-backend', 'data-pipeline', 'docs-site', 'old-experiment', 'web-frontend'])
    const backend = environments.find((e) => e.name === 'api-backend')!
    expect(backend).toMatchObject({
      id: '0199ec15-59d3-7e92-8e22-8cb6c7ba4df7',
      phase: 'ENVIRONMENT_PHASE_RUNNING',
      statusVersion: 42n,
      ssh: {user: 'gitpod_devcontainer', host: '127.0.0.11', port: 2222},
    })
    expect(environments.find((e) => e.name === 'old-experiment')!.ssh).toBeUndefined()
    const list = sim.requests.find((r) => r.rpc === 'ListEnvironments')!
    expect(list.body).toMatchObject({filter: {creatorIds: [sim.subject.id]}})
  })

  it('follows nextToken across pages until the last one', async () => {
    const seed: SeedEnvironment[] = Array.from({length: 23}, (_, i) => ({
      id: `env-${String(i).padStart(2, '0')}`,
      ssh: {host: `127.0.1.${i + 1}`, port: 22},
    }))
    await sim.close()
    sim = await startSimulator({seed, pageSizeMax: 5})
    const api = await client()
    const {environments} = await api.listEnvironments({creatorId: sim.subject.id})
    expect(environments.map((e) => e.id)).toEqual(seed.map((s) => s.id))
    expect(sim.rpcCount('ListEnvironments')).toBe(5)
  })

  it('lists another creator’s environments only when asked for that creator', async () => {
    const api = await client()
    const {environments} = await api.listEnvironments({creatorId: OTHER_USER})
    expect(environments.map((e) => e.name)).toEqual(['colleagues-env'])
  })

  it('gets one environment and reports a missing one as not found', async () => {
    const api = await client()
    const {environment} = await api.getEnvironment('0199ec15-8a41-7c10-9d3b-2f6e1b7a9c02')
    expect(environment.ssh).toEqual({user: 'gitpod_devcontainer', host: '127.0.0.12', port: 2222})
    const error = await rejection(api.getEnvironment('no-such-env'))
    expect(error.code).toBe('ERR_API_NOT_FOUND')
    expect(sim.rpcCount('GetEnvironment')).toBe(2)
  })

  it('keeps an environment with an unparsable SSH url, without ssh, and names the field and id', async () => {
    sim.setSshAddress('0199ec15-59d3-7e92-8e22-8cb6c7ba4df7', 'ssh://gitpod_devcontainer@127.0.0.11:2222 -oProxyCommand=x')
    const api = await client()
    const {environments, problems} = await api.listEnvironments()
    const env = environments.find((e) => e.id === '0199ec15-59d3-7e92-8e22-8cb6c7ba4df7')!
    expect(env.ssh).toBeUndefined()
    expect(env.statusVersion).toBe(43n)
    expect(problems).toHaveLength(1)
    expect(problems[0]!.environmentId).toBe(env.id)
    expect(problems[0]!.message).toContain('status.environmentUrls.ssh.url')
    expect(problems[0]!.message).toContain(env.id)
  })
})

describe('calls for connecting', () => {
  const ID = '0199ec15-59d3-7e92-8e22-8cb6c7ba4df7'
  const KEY = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGk1bWYzZ2Z5c3VuZ2ZmYm9hcmRmZ2R0eXVpb3BsbW5i ona@laptop'

  it('registers an SSH key and reads it back from spec and status, then removes it by id', async () => {
    const api = await client()
    // CREATING lasts 200 ms: held while it is read, so a loaded machine does not see READY already.
    sim.holdTransitions()
    await api.updateSshPublicKeys(ID, [{id: 'ona-key', value: KEY}])
    expect(sim.requests.at(-1)!.body).toEqual({environmentId: ID, spec: {sshPublicKeys: [{id: 'ona-key', value: KEY}]}})
    const {environment} = await api.getEnvironment(ID)
    expect(environment.sshPublicKeys).toEqual([{id: 'ona-key', value: KEY}])
    expect(environment.sshKeyStatus).toEqual([{id: 'ona-key', phase: 'CONTENT_PHASE_CREATING'}])
    await api.updateSshPublicKeys(ID, [{id: 'ona-key'}])
    expect(sim.requests.at(-1)!.body).toEqual({environmentId: ID, spec: {sshPublicKeys: [{id: 'ona-key'}]}})
    expect((await api.getEnvironment(ID)).environment.sshPublicKeys).toBeUndefined()
  })

  it('starts, stops and marks active with the bodies the API defines', async () => {
    const api = await client()
    // STOPPING lasts 200 ms: held while it is read (the simulator closes with the test).
    sim.holdTransitions()
    await api.stopEnvironment(ID)
    expect((await api.getEnvironment(ID)).environment.phase).toBe('ENVIRONMENT_PHASE_STOPPING')
    await api.startEnvironment(ID)
    expect(sim.requests.filter((r) => r.rpc === 'StartEnvironment').map((r) => r.body)).toEqual([{environmentId: ID}])
    const at = new Date('2026-05-06T07:08:09.000Z')
    await api.markEnvironmentActive(ID, {source: 'SSH', at})
    expect(sim.requests.at(-1)!.body).toEqual({environmentId: ID, activitySignal: {source: 'SSH', timestamp: '2026-05-06T07:08:09.000Z'}})
    expect(sim.lastActivity(ID)).toEqual({source: 'SSH', timestamp: '2026-05-06T07:08:09.000Z'})
  })

  it.each(['UpdateEnvironment', 'StartEnvironment', 'StopEnvironment', 'MarkEnvironmentActive'])('%s: a reply that is not a JSON object is a bad response', async (rpc) => {
    const api = await client()
    sim.injectFault({type: 'malformed-json'}, {rpc})
    const calls: Record<string, () => Promise<void>> = {
      UpdateEnvironment: () => api.updateSshPublicKeys(ID, [{id: 'k', value: KEY}]),
      StartEnvironment: () => api.startEnvironment(ID),
      StopEnvironment: () => api.stopEnvironment(ID),
      MarkEnvironmentActive: () => api.markEnvironmentActive(ID, {source: 'SSH', at: new Date()}),
    }
    expect((await rejection(calls[rpc]!())).code).toBe('ERR_API_BAD_RESPONSE')
  })

  it('reports a key refused for lack of permission as permission denied, without retrying', async () => {
    const api = await client()
    sim.injectFault({type: 'http', status: 403, code: 'permission_denied', message: 'cannot push key to environment'}, {rpc: 'UpdateEnvironment'})
    const error = await rejection(api.updateSshPublicKeys(ID, [{id: 'k', value: KEY}]))
    expect(error.code).toBe('ERR_PERMISSION_DENIED')
    expect(sim.rpcCount('UpdateEnvironment')).toBe(1)
  })
})

describe('faults', () => {
  it('does not retry 401 and says the token expired or was revoked', async () => {
    sim.injectFault({type: 'http', status: 401}, {times: 5})
    const error = await rejection((await client()).getAuthenticatedIdentity())
    expect(error.code).toBe('ERR_AUTH_EXPIRED')
    expect(error.hint).toContain('ona login')
    expect(error.exitCode).toBe(4)
    expect(sim.rpcCount('GetAuthenticatedIdentity')).toBe(1)
  })

  it('rejects a wrong token as expired or revoked', async () => {
    const error = await rejection((await client({token: 'ona_wrong_token_1234'})).getAuthenticatedIdentity())
    expect(error.code).toBe('ERR_AUTH_EXPIRED')
    expect(sim.requests.at(-1)!.auth).toBe('invalid')
  })

  it('does not retry 403 and reports permission denied', async () => {
    sim.injectFault({type: 'http', status: 403}, {times: 5})
    const error = await rejection((await client()).listEnvironments())
    expect(error.code).toBe('ERR_PERMISSION_DENIED')
    expect(sim.requests).toHaveLength(1)
  })

  it.each([500, 502, 503, 504, 408])('retries HTTP %i and succeeds when the server recovers', async (status) => {
    sim.injectFault({type: 'http', status}, {times: 2})
    const identity = await (await client()).getAuthenticatedIdentity()
    expect(identity.subjectId).toBe(sim.subject.id)
    expect(sim.rpcCount('GetAuthenticatedIdentity')).toBe(3)
  })

  it('gives up after the configured retries with the unavailable error', async () => {
    sim.injectFault({type: 'http', status: 503}, {times: Infinity})
    const error = await rejection((await client({retries: 2})).getAuthenticatedIdentity())
    expect(error.code).toBe('ERR_API_UNAVAILABLE')
    expect(error.message).toContain('gave up after 3 attempts')
    expect(sim.rpcCount('GetAuthenticatedIdentity')).toBe(3)
  })

  it('waits as long as Retry-After asks on 429 before retrying', async () => {
    sim.injectFault({type: 'http', status: 429, retryAfter: 1}, {times: 1})
    const delays: number[] = []
    const api = await client({onRetry: (info) => delays.push(info.delayMs)})
    await api.getAuthenticatedIdentity()
    expect(delays).toEqual([1000])
    const [first, second] = sim.requests
    expect(second!.at - first!.at).toBeGreaterThanOrEqual(950)
  })

  it('does not wait for a Retry-After beyond the limit and reports rate limiting', async () => {
    sim.injectFault({type: 'http', status: 429, retryAfter: 3600}, {times: 1})
    const error = await rejection((await client({maxRetryAfterMs: 5000})).getAuthenticatedIdentity())
    expect(error.code).toBe('ERR_API_RATE_LIMITED')
    expect(error.message).toContain('3600 s')
    expect(sim.rpcCount('GetAuthenticatedIdentity')).toBe(1)
  })

  it('retries a dropped connection', async () => {
    sim.injectFault({type: 'drop'}, {times: 2})
    const identity = await (await client()).getAuthenticatedIdentity()
    expect(identity.subjectId).toBe(sim.subject.id)
    expect(sim.rpcCount('GetAuthenticatedIdentity')).toBe(3)
  })

  it('times out a stalled response and retries it', async () => {
    sim.injectFault({type: 'stall'}, {times: 1})
    const identity = await (await client({timeoutMs: 300})).getAuthenticatedIdentity()
    expect(identity.subjectId).toBe(sim.subject.id)
    expect(sim.rpcCount('GetAuthenticatedIdentity')).toBe(2)
  })

  it('reports a timeout when every attempt is too slow, within about the total of the timeouts', async () => {
    sim.injectFault({type: 'slow', delayMs: 5000}, {times: Infinity})
    const started = Date.now()
    const error = await rejection((await client({timeoutMs: 200, retries: 1})).getAuthenticatedIdentity())
    expect(error.code).toBe('ERR_API_TIMEOUT')
    // Two 200 ms attempts; a client that waited for the slow server would take 5 s or more.
    expect(Date.now() - started).toBeLessThan(3000)
  })

  it('reports malformed JSON as a bad response', async () => {
    sim.injectFault({type: 'malformed-json'}, {rpc: 'ListEnvironments'})
    const error = await rejection((await client()).listEnvironments())
    expect(error.code).toBe('ERR_API_BAD_RESPONSE')
    expect(error.message).toContain('not JSON')
  })

  it('rejects a response of the wrong shape naming the field', async () => {
    sim.injectFault({type: 'wrong-shape'}, {rpc: 'GetAuthenticatedIdentity'})
    const error = await rejection((await client()).getAuthenticatedIdentity())
    expect(error.code).toBe('ERR_API_BAD_RESPONSE')
    expect(error.message).toContain('subject.id')
  })

  it('reports a refused connection as unavailable after bounded retries', async () => {
    const url = sim.url
    await sim.close()
    const error = await rejection(
      createApiClient({baseUrl: url, token: 'ona_some_token_123', env: {}, retries: 2, backoff: {baseMs: 5, maxMs: 10}}).then((api) => api.getAuthenticatedIdentity()),
    )
    expect(error.code).toBe('ERR_API_UNAVAILABLE')
    expect(error.message).toContain('ECONNREFUSED')
    sim = await startSimulator()
  })

  it('refuses plain http to a non-loopback host before any lookup or request', async () => {
    const error = await rejection(
      createApiClient({baseUrl: 'http://example.invalid/api', token: 'ona_some_token_123', env: {}, retries: 0}).then((api) => api.getAuthenticatedIdentity()),
    )
    // A DNS lookup of .invalid would fail as ERR_API_UNAVAILABLE (ENOTFOUND): this code means none was made.
    expect(error.code).toBe('ERR_INSECURE_HTTP')
    expect(error.message).toContain('http://example.invalid/api')
    expect(error.message).not.toContain('ona_some_token_123')
    expect(error.hint).toContain('ONA_ALLOW_INSECURE_HTTP=1')
  })

  it('never puts the token in an error message, hint or details', async () => {
    const token = sim.token
    const faults = [
      {type: 'http', status: 401, message: `bad token ${token}`},
      {type: 'http', status: 500},
      {type: 'malformed-json'},
      {type: 'wrong-shape'},
    ] as const
    for (const fault of faults) {
      sim.injectFault(fault, {times: Infinity})
      const error = await rejection((await client({retries: 0})).getAuthenticatedIdentity())
      const text = `${error.message}\n${error.hint}\n${JSON.stringify(error.toJSON())}\n${String(error.stack)}\n${String(error.cause)}`
      expect(text).not.toContain(token)
      sim.clearFaults()
    }
  })
})

describe('the overall deadline', () => {
  it('gives an attempt only the time left: a 30 s attempt timeout is cut at the 400 ms deadline', async () => {
    sim.injectFault({type: 'stall'}, {times: Number.POSITIVE_INFINITY})
    const api = await client({timeoutMs: 30_000, deadline: createDeadline(400)})
    const started = Date.now()
    const error = await rejection(api.getAuthenticatedIdentity())
    expect(error.code).toBe('ERR_DEADLINE_EXCEEDED')
    expect(error.message).toBe(`GetAuthenticatedIdentity on ${new URL(sim.url).origin} did not answer within 400ms (--timeout)`)
    expect(Date.now() - started).toBeLessThan(10_000)
    expect(sim.rpcCount('GetAuthenticatedIdentity')).toBe(1)
  })

  it('starts no attempt once the deadline has passed, and keeps an earlier different failure in the message', async () => {
    sim.injectFault({type: 'http', status: 503}, {times: 1})
    sim.injectFault({type: 'stall'}, {times: Number.POSITIVE_INFINITY})
    const api = await client({timeoutMs: 30_000, backoff: {baseMs: 5, maxMs: 5}, deadline: createDeadline(500)})
    const error = await rejection(api.getAuthenticatedIdentity())
    expect(error.code).toBe('ERR_DEADLINE_EXCEEDED')
    expect(error.message).toMatch(/did not answer within 500ms \(--timeout\); the attempt before failed: the management plane is unavailable/)
    expect(error.details).toMatchObject({attempt: 2, previous: 'ERR_API_UNAVAILABLE'})
    // 503, then the stall the deadline cut: never a third attempt.
    expect(sim.rpcCount('GetAuthenticatedIdentity')).toBe(2)
  })

  it('does not sleep a backoff that would end past the deadline', async () => {
    sim.injectFault({type: 'http', status: 503}, {times: Number.POSITIVE_INFINITY})
    const api = await client({backoff: {baseMs: 5000, maxMs: 5000, jitter: 0}, deadline: createDeadline(1000)})
    const started = Date.now()
    const error = await rejection(api.getAuthenticatedIdentity())
    expect(Date.now() - started).toBeLessThan(4000)
    expect(error.code).toBe('ERR_DEADLINE_EXCEEDED')
    expect(error.details).toMatchObject({previous: 'ERR_API_UNAVAILABLE', rpc: 'GetAuthenticatedIdentity'})
    expect(error.message).toMatch(/\(gave up after 1 attempt: --timeout 1s leaves no time for another\)$/)
    expect(sim.rpcCount('GetAuthenticatedIdentity')).toBe(1)
  })

  it('a per-call deadline (the start wait) replaces the client one', async () => {
    sim.injectFault({type: 'stall'}, {times: Number.POSITIVE_INFINITY})
    const api = await client({timeoutMs: 30_000, deadline: createDeadline(60_000)})
    const error = await rejection(api.getAuthenticatedIdentity({deadline: createDeadline(300, {flag: '--start-timeout'})}))
    expect(error.message).toMatch(/within 300ms \(--start-timeout\)$/)
    expect(error.hint).toMatch(/^Raise --start-timeout/)
  })

  it('tells onWait about each attempt and the retry wait, and that it is over', async () => {
    sim.injectFault({type: 'http', status: 503}, {times: 2})
    const seen: string[] = []
    const api = await client({
      backoff: {baseMs: 5, maxMs: 5, jitter: 0},
      onWait: (w) => {
        seen.push(`begin ${w.rpc} ${w.attempt}/${w.attempts}`)
        return {update: (u) => void seen.push(`${u.attempt}/${u.attempts}${u.retryInMs === undefined ? '' : ` in ${u.retryInMs}`}`), done: () => void seen.push('done')}
      },
    })
    await api.getAuthenticatedIdentity()
    expect(seen).toEqual(['begin GetAuthenticatedIdentity 1/4', '2/4 in 5', '2/4', '3/4 in 5', '3/4', 'done'])
    seen.length = 0
    await api.getAuthenticatedIdentity({quiet: true})
    expect(seen).toEqual([])
  })
})

describe('WatchEvents', () => {
  async function collect(iterable: AsyncIterable<WatchUpdate>, until: (updates: WatchUpdate[]) => boolean, controller: AbortController): Promise<WatchUpdate[]> {
    const updates: WatchUpdate[] = []
    const guard = setTimeout(() => controller.abort(new Error('test guard')), 10_000)
    try {
      for await (const update of iterable) {
        updates.push(update)
        if (until(updates)) break
      }
    } finally {
      clearTimeout(guard)
    }
    return updates
  }

  it.each(['jsonl', 'connect'] as const)('streams an IP change as an UPDATE_STATUS event (%s form)', async (streamFormat) => {
    const api = await client({streamFormat})
    const controller = new AbortController()
    const events: unknown[] = []
    const iterator = api.watchEvents({signal: controller.signal})[Symbol.asyncIterator]()
    const next = iterator.next()
    await waitFor(() => sim.openStreams() === 1)
    sim.setSshAddress('0199ec15-59d3-7e92-8e22-8cb6c7ba4df7', {host: '127.0.0.21', port: 2222})
    events.push((await next).value)
    expect(events).toEqual([{operation: 'RESOURCE_OPERATION_UPDATE_STATUS', resourceType: 'RESOURCE_TYPE_ENVIRONMENT', resourceId: '0199ec15-59d3-7e92-8e22-8cb6c7ba4df7'}])
    const {environment} = await api.getEnvironment('0199ec15-59d3-7e92-8e22-8cb6c7ba4df7')
    expect(environment.ssh?.host).toBe('127.0.0.21')
    expect(environment.statusVersion).toBe(43n)
    controller.abort()
    await iterator.return?.()
    const watch = sim.requests.find((r) => r.rpc === 'WatchEvents')!
    expect(watch.headers['content-type']).toBe(streamFormat === 'connect' ? 'application/connect+json' : 'application/jsonl')
    expect(watch.body).toEqual({organization: true})
  })

  it.each(['jsonl', 'connect'] as const)('reconnects after a dropped stream and signals a resync (%s form)', async (streamFormat) => {
    const api = await client({streamFormat})
    const controller = new AbortController()
    const updates = await collect(
      watchEventsWithReconnect(api, {signal: controller.signal, backoff: {baseMs: 10, maxMs: 50}}),
      (seen) => {
        const opens = seen.filter((u) => u.type === 'open').length
        if (seen.length === 1) setTimeout(() => sim.dropStreams(), 20)
        if (opens === 2 && seen.at(-1)!.type === 'open') setTimeout(() => sim.stopEnvironment('0199ec15-8a41-7c10-9d3b-2f6e1b7a9c02'), 20)
        return seen.some((u) => u.type === 'event')
      },
      controller,
    )
    controller.abort()
    expect(updates).toEqual([
      {type: 'open', reconnect: false},
      {type: 'open', reconnect: true},
      {type: 'event', event: {operation: 'RESOURCE_OPERATION_UPDATE_STATUS', resourceType: 'RESOURCE_TYPE_ENVIRONMENT', resourceId: '0199ec15-8a41-7c10-9d3b-2f6e1b7a9c02'}},
    ])
  })

  it('treats a stalled stream as dead after the idle timeout and reconnects', async () => {
    sim.injectFault({type: 'stall'}, {rpc: 'WatchEvents'})
    const api = await client()
    const controller = new AbortController()
    const errors: string[] = []
    const updates = await collect(
      watchEventsWithReconnect(api, {
        signal: controller.signal,
        idleTimeoutMs: 300,
        backoff: {baseMs: 10, maxMs: 50},
        onDisconnect: ({error}) => errors.push(error.code),
      }),
      (seen) => seen.length === 2,
      controller,
    )
    controller.abort()
    expect(updates).toEqual([
      {type: 'open', reconnect: false},
      {type: 'open', reconnect: true},
    ])
    expect(errors).toEqual(['ERR_API_TIMEOUT'])
  })

  it('stops reconnecting when the token is rejected', async () => {
    const api = await client({token: 'ona_revoked_token_0000'})
    const controller = new AbortController()
    const error = await rejection(collect(watchEventsWithReconnect(api, {signal: controller.signal, backoff: {baseMs: 10, maxMs: 50}}), () => false, controller))
    expect(error.code).toBe('ERR_AUTH_EXPIRED')
    expect(sim.rpcCount('WatchEvents')).toBe(1)
  })

  it('rejects a connect stream whose error frame carries unauthenticated', async () => {
    const api = await client({token: 'ona_revoked_token_0000', streamFormat: 'connect'})
    const controller = new AbortController()
    const error = await rejection(collect(watchEventsWithReconnect(api, {signal: controller.signal}), () => false, controller))
    expect(error.code).toBe('ERR_AUTH_EXPIRED')
  })

  it('retries a 503 on connect with backoff, then gives up after the allowed failures', async () => {
    sim.injectFault({type: 'http', status: 503}, {rpc: 'WatchEvents', times: Infinity})
    const api = await client()
    const controller = new AbortController()
    const error = await rejection(
      collect(watchEventsWithReconnect(api, {signal: controller.signal, maxConsecutiveFailures: 3, backoff: {baseMs: 5, maxMs: 20}}), () => false, controller),
    )
    expect(error.code).toBe('ERR_API_UNAVAILABLE')
    expect(sim.rpcCount('WatchEvents')).toBe(4)
  })

  it('waits as long as Retry-After asks before reconnecting a rate-limited stream', async () => {
    sim.injectFault({type: 'http', status: 429, retryAfter: 1}, {rpc: 'WatchEvents'})
    const api = await client()
    const controller = new AbortController()
    const delays: number[] = []
    const updates = await collect(
      watchEventsWithReconnect(api, {signal: controller.signal, backoff: {baseMs: 10, maxMs: 5000}, onDisconnect: ({delayMs}) => delays.push(delayMs)}),
      (seen) => seen.length === 1,
      controller,
    )
    controller.abort()
    expect(updates).toEqual([{type: 'open', reconnect: false}])
    expect(delays).toHaveLength(1)
    expect(delays[0]).toBeGreaterThanOrEqual(1000)
    const [first, second] = sim.requests.filter((r) => r.rpc === 'WatchEvents')
    expect(second!.at - first!.at).toBeGreaterThanOrEqual(950)
  })

  it.each(['jsonl', 'connect'] as const)('ends a stream with a malformed message with a bad-response error (%s form)', async (streamFormat) => {
    sim.injectFault({type: 'malformed-json'}, {rpc: 'WatchEvents'})
    const api = await client({streamFormat})
    const controller = new AbortController()
    const error = await rejection(
      (async () => {
        for await (const _ of api.watchEvents({signal: controller.signal})) {
          // any event at all would be wrong here
          throw new Error('unexpected event')
        }
      })(),
    )
    expect(error.code).toBe('ERR_API_BAD_RESPONSE')
  })
})

async function waitFor(condition: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met in time')
    await new Promise((resolve) => setTimeout(resolve, 10))
  }
}
