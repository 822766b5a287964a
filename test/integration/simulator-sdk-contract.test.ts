/**
 * The simulator is checked against the vendor's official TypeScript SDK (@gitpod/sdk): if the SDK and
 * the simulator disagree, the simulator is wrong. The SDK talks to it over real HTTP on 127.0.0.1.
 */
import Gitpod, {AuthenticationError, NotFoundError, RateLimitError} from '@gitpod/sdk'
import {afterEach, beforeEach, describe, expect, it} from 'vitest'

import {startSimulator, type SeedEnvironment, type Simulator} from '../../src/lib/simulator/server.js'

const OTHER_USER = '7a1c9e42-0b3d-4f5e-8a6b-1c2d3e4f5a6b'
let sim: Simulator

function sdk(token = sim.token): Gitpod {
  return new Gitpod({bearerToken: token, baseURL: sim.url, maxRetries: 0, timeout: 5000})
}

beforeEach(async () => {
  const seed: SeedEnvironment[] = [
    ...Array.from({length: 12}, (_, i) => ({id: `mine-${String(i).padStart(2, '0')}`, name: `mine ${i}`, ssh: {host: `127.0.2.${i + 1}`, port: 2200 + i}})),
    {id: 'theirs-01', creatorId: OTHER_USER, ssh: {host: '127.0.3.1'}},
    {id: 'mine-stopped', phase: 'ENVIRONMENT_PHASE_STOPPED'},
  ]
  sim = await startSimulator({seed, pageSizeMax: 5})
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

  it('lists the caller’s environments across pages with query-string pagination, filtered by creator', async () => {
    const ids: string[] = []
    for await (const environment of sdk().environments.list({filter: {creatorIds: [sim.subject.id]}, pageSize: 5})) {
      ids.push(environment.id)
      if (environment.status?.phase === 'ENVIRONMENT_PHASE_RUNNING') {
        expect(environment.status.environmentUrls?.ssh?.url).toMatch(/^ssh:\/\/gitpod_devcontainer@127\.0\.2\.\d+:22\d\d$/)
      }
    }
    expect(ids).toEqual([...Array.from({length: 12}, (_, i) => `mine-${String(i).padStart(2, '0')}`), 'mine-stopped'])
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
})
