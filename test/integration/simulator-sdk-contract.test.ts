/**
 * The simulator is checked against the vendor's official TypeScript SDK (@gitpod/sdk): if the SDK and
 * the simulator disagree, the simulator is wrong. The SDK talks to it over real HTTP on 127.0.0.1.
 */
import Gitpod, {AuthenticationError, BadRequestError, NotFoundError, RateLimitError} from '@gitpod/sdk'
import {afterEach, beforeEach, describe, expect, it} from 'vitest'

import {startSimulator, type SeedEnvironment, type Simulator} from '../../src/lib/simulator/server.js'

const OTHER_USER = '7a1c9e42-0b3d-4f5e-8a6b-1c2d3e4f5a6b'
const VENDOR_KEY = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIE8l2s1c3vBlH0tyL7nfl2r0vTw8m1lq2H0M6Lq1Jw0k vendor'
const ONA_KEY = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGk1bWYzZ2Z5c3VuZ2ZmYm9hcmRmZ2R0eXVpb3BsbW5i ona@laptop'
const ONA_KEY_2 = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHJlcGxhY2VkcmVwbGFjZWRyZXBsYWNlZHJlcGxhY2Vk ona@laptop'

async function until<T>(read: () => Promise<T>, ok: (value: T) => boolean, what: string): Promise<T> {
  const deadline = Date.now() + 5000
  for (;;) {
    const value = await read()
    if (ok(value)) return value
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}: ${JSON.stringify(value)}`)
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
}

async function watchIds(controller: AbortController): Promise<{events: string[]; ready: Promise<void>}> {
  const events: string[] = []
  const stream = await sdk().events.watch({environmentId: 'mine-stopped'}, {signal: controller.signal})
  const ready = (async () => {
    try {
      for await (const event of stream) events.push(`${event.operation}`)
    } catch {
      // aborted
    }
  })()
  // Events sent before the stream is open are not replayed: without it the count below could not be met.
  const deadline = Date.now() + 10_000
  while (sim.openStreams() === 0) {
    if (Date.now() > deadline) throw new Error('the event stream did not open within 10 s')
    await new Promise((resolve) => setTimeout(resolve, 10))
  }
  return {events, ready}
}
let sim: Simulator

function sdk(token = sim.token): Gitpod {
  return new Gitpod({bearerToken: token, baseURL: sim.url, maxRetries: 0, timeout: 5000})
}

beforeEach(async () => {
  const seed: SeedEnvironment[] = [
    ...Array.from({length: 12}, (_, i) => ({id: `mine-${String(i).padStart(2, '0')}`, name: `mine ${i}`, ssh: {host: `127.0.2.${i + 1}`, port: 2200 + i}})),
    {id: 'theirs-01', creatorId: OTHER_USER, ssh: {host: '127.0.3.1'}},
    {id: 'mine-stopped', phase: 'ENVIRONMENT_PHASE_STOPPED', ssh: {host: '127.0.4.1', port: 2201}},
    {id: 'mine-keys', ssh: {host: '127.0.2.99', port: 2299}, sshPublicKeys: [{id: 'vendor-cli', value: VENDOR_KEY}]},
  ]
  sim = await startSimulator({seed, pageSizeMax: 5, delays: {startMs: 700, stopMs: 500, keyReadyMs: 500}})
})
afterEach(async () => {
  await sim.close()
})

describe('@gitpod/sdk against the simulator', () => {
  it('authenticates and reads the subject and organisation', async () => {
    const identity = await sdk().identity.getAuthenticatedIdentity({})
    expect(identity.subject?.id).toBe(sim.subject.id)
    expect(identity.subject?.principal).toBe('PRINCIPAL_USER')
    expect(identity.organizationId).toBe(sim.subject.organizationId)
    const request = sim.requests.at(-1)!
    expect(request.path).toBe('/api/gitpod.v1.IdentityService/GetAuthenticatedIdentity')
    expect(request.auth).toBe('valid')
  })

  it('answers UserService/GetAuthenticatedUser and OrganizationService/GetOrganization with display names, as the SDK reads them', async () => {
    const named = `ona_pat_named_${'x'.repeat(12)}`
    sim.addToken(named, {id: '0198ec0e-0000-7000-8000-00000000beef', organizationId: sim.subject.organizationId, name: 'Sam Newcomer', organizationName: 'Acme Corp'})
    const user = await sdk(named).users.getAuthenticatedUser({})
    expect(user.user).toMatchObject({id: '0198ec0e-0000-7000-8000-00000000beef', name: 'Sam Newcomer', organizationId: sim.subject.organizationId})
    const organization = await sdk(named).organizations.retrieve({organizationId: sim.subject.organizationId})
    expect(organization.organization).toMatchObject({id: sim.subject.organizationId, name: 'Acme Corp'})
    // Another organisation is not the caller's to read.
    await expect(sdk(named).organizations.retrieve({organizationId: '0198ec0e-0000-7000-8000-000000000000'})).rejects.toMatchObject({status: 403})
  })

  it('lists the caller’s environments across pages with query-string pagination, filtered by creator', async () => {
    const ids: string[] = []
    for await (const environment of sdk().environments.list({filter: {creatorIds: [sim.subject.id]}, pageSize: 5})) {
      ids.push(environment.id)
      if (environment.status?.phase === 'ENVIRONMENT_PHASE_RUNNING') {
        expect(environment.status.environmentUrls?.ssh?.url).toMatch(/^ssh:\/\/gitpod_devcontainer@127\.0\.2\.\d+:22\d\d$/)
      }
    }
    expect(ids).toEqual([...Array.from({length: 12}, (_, i) => `mine-${String(i).padStart(2, '0')}`), 'mine-stopped', 'mine-keys'])
    const lists = sim.requests.filter((r) => r.rpc === 'ListEnvironments')
    expect(lists).toHaveLength(3)
    // The SDK moves the page cursor into the query string, not the body: the simulator must read both.
    expect(lists[0]!.query).toEqual({pageSize: '5'})
    expect(lists[1]!.query.token).toBeTruthy()
    expect(lists[1]!.body).toEqual({filter: {creatorIds: [sim.subject.id]}})
  })

  it('gets one environment with the fields ona reads', async () => {
    const {environment} = await sdk().environments.retrieve({environmentId: 'mine-03'})
    expect(environment?.id).toBe('mine-03')
    expect(environment?.metadata?.creator?.id).toBe(sim.subject.id)
    expect(environment?.status?.statusVersion).toBe('1')
    expect(environment?.status?.environmentUrls?.ssh?.url).toBe('ssh://gitpod_devcontainer@127.0.2.4:2203')
  })

  it('sees a changed address with a higher statusVersion', async () => {
    sim.setSshAddress('mine-03', {host: '127.0.9.9', port: 2022})
    const {environment} = await sdk().environments.retrieve({environmentId: 'mine-03'})
    expect(environment?.status?.statusVersion).toBe('2')
    expect(environment?.status?.environmentUrls?.ssh?.url).toBe('ssh://gitpod_devcontainer@127.0.9.9:2022')
  })

  it('maps the simulator’s errors to the SDK’s error classes', async () => {
    await expect(sdk('not-the-token').identity.getAuthenticatedIdentity({})).rejects.toBeInstanceOf(AuthenticationError)
    await expect(sdk().environments.retrieve({environmentId: 'nope'})).rejects.toBeInstanceOf(NotFoundError)
    sim.injectFault({type: 'http', status: 429, retryAfter: 1})
    await expect(sdk().identity.getAuthenticatedIdentity({})).rejects.toBeInstanceOf(RateLimitError)
  })

  it('streams WatchEvents as JSON lines the SDK decodes', async () => {
    const controller = new AbortController()
    const stream = await sdk().events.watch({organization: true}, {signal: controller.signal})
    const iterator = stream[Symbol.asyncIterator]()
    const next = iterator.next()
    const deadline = Date.now() + 5000
    while (sim.openStreams() === 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10))
    sim.stopEnvironment('mine-01')
    const {value} = await next
    expect(value).toEqual({operation: 'RESOURCE_OPERATION_UPDATE_STATUS', resourceType: 'RESOURCE_TYPE_ENVIRONMENT', resourceId: 'mine-01'})
    controller.abort()
    expect(sim.requests.find((r) => r.rpc === 'WatchEvents')!.headers.accept).toBe('application/jsonl')
  })

  it('UpdateEnvironment merges SSH keys by id: adds, replaces, removes a key given without value, leaves the rest', async () => {
    const api = sdk()
    await expect(api.environments.update({environmentId: 'mine-keys', spec: {sshPublicKeys: [{id: 'ona-1', value: ONA_KEY}]}})).resolves.toEqual({})
    let {environment} = await api.environments.retrieve({environmentId: 'mine-keys'})
    expect(environment?.spec?.sshPublicKeys).toEqual([
      {id: 'vendor-cli', value: VENDOR_KEY},
      {id: 'ona-1', value: ONA_KEY},
    ])
    expect(environment?.status?.sshPublicKeys).toEqual([
      {id: 'vendor-cli', phase: 'CONTENT_PHASE_READY'},
      {id: 'ona-1', phase: 'CONTENT_PHASE_CREATING'},
    ])
    expect(environment?.status?.statusVersion).toBe('2')
    environment = (
      await until(
        () => api.environments.retrieve({environmentId: 'mine-keys'}),
        (r) => r.environment?.status?.sshPublicKeys?.find((k) => k.id === 'ona-1')?.phase === 'CONTENT_PHASE_READY',
        'the key to become READY',
      )
    ).environment
    expect(environment?.status?.statusVersion).toBe('3')

    await api.environments.update({environmentId: 'mine-keys', spec: {sshPublicKeys: [{id: 'ona-1', value: ONA_KEY_2}]}})
    ;({environment} = await api.environments.retrieve({environmentId: 'mine-keys'}))
    expect(environment?.spec?.sshPublicKeys?.find((k) => k.id === 'ona-1')?.value).toBe(ONA_KEY_2)

    await api.environments.update({environmentId: 'mine-keys', spec: {sshPublicKeys: [{id: 'ona-1'}]}})
    ;({environment} = await api.environments.retrieve({environmentId: 'mine-keys'}))
    expect(environment?.spec?.sshPublicKeys).toEqual([{id: 'vendor-cli', value: VENDOR_KEY}])
    expect(environment?.status?.sshPublicKeys).toEqual([{id: 'vendor-cli', phase: 'CONTENT_PHASE_READY'}])

    // An empty list changes nothing; a key that is not a public key is refused.
    const version = environment?.status?.statusVersion
    await api.environments.update({environmentId: 'mine-keys', spec: {sshPublicKeys: []}})
    expect((await api.environments.retrieve({environmentId: 'mine-keys'})).environment?.status?.statusVersion).toBe(version)
    await expect(api.environments.update({environmentId: 'mine-keys', spec: {sshPublicKeys: [{id: 'x', value: 'not a key'}]}})).rejects.toBeInstanceOf(BadRequestError)
    await expect(api.environments.update({environmentId: 'nope', spec: {sshPublicKeys: [{id: 'x', value: ONA_KEY}]}})).rejects.toBeInstanceOf(NotFoundError)
  })

  it('StartEnvironment goes STARTING without an address, then RUNNING with one, announcing each step', async () => {
    const controller = new AbortController()
    const {events, ready} = await watchIds(controller)
    // The intermediate phases are held while the test reads them: on a loaded machine a read can take
    // longer than the 700 ms STARTING lasts (here every read is answered 1 s late, as under load).
    let release = sim.holdTransitions()
    sim.injectFault({type: 'slow', delayMs: 1000}, {rpc: 'GetEnvironment'})
    await expect(sdk().environments.start({environmentId: 'mine-stopped'})).resolves.toEqual({})
    const starting = (await sdk().environments.retrieve({environmentId: 'mine-stopped'})).environment
    expect(starting?.status?.phase).toBe('ENVIRONMENT_PHASE_STARTING')
    expect(starting?.status?.environmentUrls).toBeUndefined()
    expect(starting?.spec?.desiredPhase).toBe('ENVIRONMENT_PHASE_RUNNING')
    release()
    const running = await until(
      () => sdk().environments.retrieve({environmentId: 'mine-stopped'}),
      (r) => r.environment?.status?.phase === 'ENVIRONMENT_PHASE_RUNNING',
      'RUNNING',
    )
    expect(running.environment?.status?.environmentUrls?.ssh?.url).toBe('ssh://gitpod_devcontainer@127.0.4.1:2201')
    expect(BigInt(running.environment!.status!.statusVersion!)).toBe(3n)

    release = sim.holdTransitions()
    sim.injectFault({type: 'slow', delayMs: 1000}, {rpc: 'GetEnvironment'})
    await sdk().environments.stop({environmentId: 'mine-stopped'})
    expect((await sdk().environments.retrieve({environmentId: 'mine-stopped'})).environment?.status?.phase).toBe('ENVIRONMENT_PHASE_STOPPING')
    release()
    const stopped = await until(
      () => sdk().environments.retrieve({environmentId: 'mine-stopped'}),
      (r) => r.environment?.status?.phase === 'ENVIRONMENT_PHASE_STOPPED',
      'STOPPED',
    )
    expect(stopped.environment?.status?.environmentUrls).toBeUndefined()
    await until(async () => events.length, (n) => n >= 4, 'four events')
    expect(events).toEqual(Array(4).fill('RESOURCE_OPERATION_UPDATE_STATUS'))
    controller.abort()
    await ready
  })

  it('MarkEnvironmentActive records the activity signal', async () => {
    const timestamp = '2026-03-04T05:06:07Z'
    await expect(sdk().environments.markActive({environmentId: 'mine-03', activitySignal: {source: 'SSH', timestamp}})).resolves.toEqual({})
    expect(sim.lastActivity('mine-03')).toEqual({source: 'SSH', timestamp})
    expect(sim.requests.at(-1)!.path).toBe('/api/gitpod.v1.EnvironmentService/MarkEnvironmentActive')
    await expect(sdk().environments.markActive({environmentId: 'mine-03', activitySignal: {source: 'SSH', timestamp: 'yesterday'}})).rejects.toBeInstanceOf(BadRequestError)
  })
})
