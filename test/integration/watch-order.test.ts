/**
 * Watch mode against the simulator's fault injection: stale and late replies, delete then a late reply,
 * a burst of events against a failing server (bounded requests, no listener leak), stream health
 * (a stalled stream noticed quickly, backoff reset after a healthy period, one warning per incident), and
 * start-up (a change between the first listing and the stream opening is not lost).
 */
import {readFile} from 'node:fs/promises'

import {beforeEach, describe, expect, it} from 'vitest'

import type {ApiClient} from '../../src/lib/api/client.js'
import {watchEventsWithReconnect} from '../../src/lib/api/watch.js'
import type {Context} from '../../src/lib/context.js'
import type {Simulator} from '../../src/lib/simulator/server.js'
import {BEGIN_MARKER} from '../../src/lib/ssh-config/index.js'
import type {WatchOptions} from '../../src/lib/watch/watch.js'
import {useFixture} from '../helpers/fixture.js'
import {waitForQuiet} from '../helpers/wait-for.js'
import {startLibraryWatch, waitForShowing} from '../helpers/watch.js'

const A = '0199ec15-59d3-7e92-8e22-8cb6c7ba4df7'
const B = '0199ec15-8a41-7c10-9d3b-2f6e1b7a9c02'

const fixture = useFixture({prefix: 'order', configText: 'Host mine\n  Port 2200\n'})
let config: string
let sim: Simulator
let client: ApiClient
let ctx: Context
/** What the watcher printed. */
const output = () => fixture.output()
beforeEach(async () => {
  ;({config, sim, ctx} = fixture)
  // The client's own retries are on (as in the CLI): watch mode must not multiply them per event.
  client = await fixture.client({retries: 3})
})

const startWatch = (options: Partial<WatchOptions> = {}) => startLibraryWatch(ctx, {client, fileDebounceMs: 100, backoff: {baseMs: 50, maxMs: 200}, retryBackoff: {baseMs: 200, maxMs: 1000}, ...options})

const text = () => readFile(config, 'utf8')
const has = (part: string) => async () => (await text()).includes(part)
const waitFor = (condition: () => Promise<boolean>, ms: number, what: string) => waitForShowing(output, config)(condition, ms, what)
const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))
const count = (rpc: string) => sim.rpcCount(rpc)

describe('watch mode orders what it hears', () => {
  it('regression: a reconnect listing that answers late never overwrites a newer address', async () => {
    const stop = startWatch({intervalMs: 3_600_000})
    try {
      await waitFor(has('HostName 127.0.0.11'), 5000, 'the first sync')
      await waitFor(async () => sim.openStreams() > 0, 5000, 'the event stream')
      const lists = count('ListEnvironments')
      // The reconnect listing is answered from the state as it is now (.11), but only 1.5 s later.
      sim.injectFault({type: 'late', delayMs: 1500}, {rpc: 'ListEnvironments'})
      sim.dropStreams()
      await waitFor(async () => count('ListEnvironments') > lists && sim.openStreams() > 0, 5000, 'the reconnect listing on its way')
      await pause(100)
      sim.setSshAddress(A, {host: '127.0.0.52', port: 2222})
      await waitFor(has('HostName 127.0.0.52'), 3000, 'the newer address from the event')
      // The stale listing arrives now; the file must keep the newer address.
      await waitFor(async () => sim.requests.some((r) => r.rpc === 'ListEnvironments' && r.fault === 'late' && r.status === 200), 5000, 'the late listing answered')
      await pause(400)
      expect(await text()).toContain('HostName 127.0.0.52')
      expect(await text()).not.toContain('HostName 127.0.0.11')
    } finally {
      await stop()
    }
  }, 20_000)

  it('regression: delete, then a late GetEnvironment reply, does not bring the environment back', async () => {
    const stop = startWatch()
    try {
      await waitFor(has(`Host ${B}.gitpod.environment`), 5000, 'the first sync')
      await waitFor(async () => sim.openStreams() > 0, 5000, 'the event stream')
      const gets = count('GetEnvironment')
      sim.injectFault({type: 'late', delayMs: 1200}, {rpc: 'GetEnvironment'})
      sim.setSshAddress(B, {host: '127.0.0.60', port: 2222})
      await waitFor(async () => count('GetEnvironment') > gets, 3000, 'the GetEnvironment on its way')
      await pause(100)
      sim.deleteEnvironment(B)
      await waitFor(async () => !(await has(`Host ${B}.gitpod.environment`)()), 3000, 'B removed on the delete event')
      await waitFor(async () => sim.requests.some((r) => r.rpc === 'GetEnvironment' && r.fault === 'late' && r.status === 200), 5000, 'the late reply answered')
      await pause(400)
      expect(await text()).not.toContain(B)
    } finally {
      await stop()
    }
  }, 20_000)

  it('a burst of 300 events against a failing server costs a bounded number of requests, keeps the block, and leaks no listeners', async () => {
    const warnings: Error[] = []
    const onWarning = (w: Error) => warnings.push(w)
    process.on('warning', onWarning)
    const stop = startWatch({intervalMs: 3_600_000})
    try {
      await waitFor(has(BEGIN_MARKER), 5000, 'the first sync')
      await waitFor(async () => sim.openStreams() > 0, 5000, 'the event stream')
      // The key-ready events of the first sync are handled first, so the requests counted below are the burst's.
      await waitForQuiet(() => sim.requests.length, 500, 10_000, 'the key-ready events to be handled')
      const good = await text()
      const before = sim.requests.length
      sim.injectFault({type: 'http', status: 503, code: 'unavailable'}, {rpc: 'GetEnvironment', times: Number.POSITIVE_INFINITY})
      sim.injectFault({type: 'http', status: 503, code: 'unavailable'}, {rpc: 'ListEnvironments', times: Number.POSITIVE_INFINITY})
      for (let i = 0; i < 300; i++) sim.emitEvent('RESOURCE_OPERATION_UPDATE_STATUS', `0199ec15-0000-7000-8000-${String(i).padStart(12, '0')}`)
      // Each of them again: duplicates of waiting work are dropped.
      for (let i = 0; i < 300; i++) sim.emitEvent('RESOURCE_OPERATION_UPDATE_STATUS', `0199ec15-0000-7000-8000-${String(i).padStart(12, '0')}`)
      await pause(3000)
      const during = sim.requests.slice(before).filter((r) => r.rpc !== 'WatchEvents')
      // 4 fetches at once fail, then one shared retry (a listing) with backoff 0.2, 0.4, 0.8 s...: well under
      // 30 requests in 3 s, where one fetch per event with its own retries made 2,400.
      expect(during.length).toBeLessThan(30)
      expect(during.filter((r) => r.rpc === 'GetEnvironment').length).toBeLessThanOrEqual(4)
      expect(await text()).toBe(good)
      expect(output().split('\n').filter((l) => l.includes('keeping the last good block')), output()).toHaveLength(1)
      // Recovery: the next shared retry lists everything and the waiting events are covered by it.
      sim.clearFaults()
      sim.setSshAddress(A, {host: '127.0.0.81', port: 2222})
      await waitFor(has('HostName 127.0.0.81'), 5000, 'recovery')
      expect(output()).toContain('recovered: the management plane answers again')
      expect(warnings.filter((w) => w.name === 'MaxListenersExceededWarning')).toEqual([])
    } finally {
      process.off('warning', onWarning)
      await stop()
    }
  }, 20_000)

  it('regression: an answer whose write is still under way when the API starts failing does not end the incident', async () => {
    // A fetch used to count as "the API answers" only after the write it caused; on a loaded machine that
    // write was still running when the next calls failed, so its late "recovered" line split one outage
    // into two incidents (the 300-event test saw two warning lines). The hook holds that write open until
    // the failure has been reported, so this does not depend on timing.
    let armed = false
    const stop = startWatch({
      intervalMs: 3_600_000,
      beforeWrite: async () => {
        if (!armed) return
        armed = false
        await waitFor(async () => output().includes('keeping the last good block'), 10_000, 'the failure reported during the write')
      },
    })
    try {
      await waitFor(has(BEGIN_MARKER), 5000, 'the first sync')
      await waitFor(async () => sim.openStreams() > 0, 5000, 'the event stream')
      await waitForQuiet(() => sim.requests.length, 500, 10_000, 'the key-ready events to be handled')
      armed = true
      const fetched = sim.rpcCount('GetEnvironment')
      sim.setSshAddress(A, {host: '127.0.0.83', port: 2222})
      await waitFor(async () => !armed, 10_000, 'the write for the answered fetch')
      expect(sim.rpcCount('GetEnvironment')).toBe(fetched + 1)
      const lists = sim.rpcCount('ListEnvironments')
      sim.injectFault({type: 'http', status: 503, code: 'unavailable'}, {rpc: 'GetEnvironment', times: Number.POSITIVE_INFINITY})
      sim.injectFault({type: 'http', status: 503, code: 'unavailable'}, {rpc: 'ListEnvironments', times: Number.POSITIVE_INFINITY})
      sim.emitEvent('RESOURCE_OPERATION_UPDATE_STATUS', B)
      await waitFor(has('HostName 127.0.0.83'), 10_000, 'the held write')
      // The shared retry (a listing, 0.2 s) fails too: the same incident, not a "recovered" and a second one.
      await waitFor(async () => sim.rpcCount('ListEnvironments') > lists, 10_000, 'the shared retry')
      await pause(300)
      expect(output()).not.toContain('recovered: the management plane answers again')
      expect(output().split('\n').filter((l) => l.includes('keeping the last good block')), output()).toHaveLength(1)
    } finally {
      await stop()
    }
  }, 40_000)

  it('a burst for one environment is coalesced: a handful of fetches, not one per event', async () => {
    const stop = startWatch({intervalMs: 3_600_000})
    try {
      await waitFor(has(BEGIN_MARKER), 5000, 'the first sync')
      await waitFor(async () => sim.openStreams() > 0, 5000, 'the event stream')
      // The first sync registers ona's key on every running environment, and each turns READY a moment
      // later with an event and a fetch of its own: all of that must be over before the count starts (a
      // fixed pause after A's key alone let the others' fetches land in the count on a loaded machine).
      await waitForQuiet(() => sim.requests.length, 500, 10_000, 'the key-ready events to be handled')
      // Only A's fetches are the burst's.
      const fetchesOfA = () => sim.requests.filter((r) => r.rpc === 'GetEnvironment' && (r.body as {environmentId?: unknown} | undefined)?.environmentId === A).length
      const before = fetchesOfA()
      // The burst's first fetch answers 2 s late, so all 101 events arrive while it is in flight, however
      // the socket batches them: one fetch, one more for what came meanwhile (and one spare).
      sim.injectFault({type: 'slow', delayMs: 2000}, {rpc: 'GetEnvironment'})
      for (let i = 0; i < 100; i++) sim.emitEvent('RESOURCE_OPERATION_UPDATE_STATUS', A)
      sim.setSshAddress(A, {host: '127.0.0.82', port: 2222})
      await waitFor(has('HostName 127.0.0.82'), 10_000, 'the last address')
      await waitForQuiet(() => sim.requests.length, 500, 10_000, 'the fetch for what came meanwhile')
      // Without coalescing this was 101, one per event.
      expect(fetchesOfA() - before).toBeLessThanOrEqual(3)
    } finally {
      await stop()
    }
  }, 40_000)
})

describe('watch mode and the health of the event stream', () => {
  it('regression: a stalled stream (connected, silent) is noticed within the idle limit, not the 5-minute listing', async () => {
    sim.injectFault({type: 'stall'}, {rpc: 'WatchEvents'})
    const stop = startWatch({intervalMs: 3_600_000, streamIdleMs: 800})
    try {
      await waitFor(has('HostName 127.0.0.11'), 5000, 'the first sync')
      await waitFor(async () => sim.openStreams() > 0, 5000, 'the (stalled) stream')
      sim.setSshAddress(A, {host: '127.0.0.90', port: 2222})
      const elapsed = await waitFor(has('HostName 127.0.0.90'), 8000, 'the address after the stall was noticed')
      // Idle limit (0.8 s) + reconnect + listing; generous for a loaded machine, far below 5 minutes.
      expect(elapsed).toBeLessThan(6000)
      // A silent stream is reconnected on purpose: that alone is no warning.
      expect(output()).not.toContain('warning: event stream lost')
    } finally {
      await stop()
    }
  }, 20_000)

  it('one warning per incident, and a "recovered" line when it ends', async () => {
    const stop = startWatch({intervalMs: 3_600_000, streamHealthyMs: 300})
    try {
      await waitFor(has(BEGIN_MARKER), 5000, 'the first sync')
      await waitFor(async () => sim.openStreams() > 0, 5000, 'the event stream')
      sim.injectFault({type: 'http', status: 503, code: 'unavailable'}, {rpc: 'WatchEvents', times: 4})
      sim.dropStreams()
      await waitFor(async () => output().includes('recovered: event stream connected again'), 8000, 'the recovered line')
      expect(output().split('\n').filter((l) => l.includes('event stream lost'))).toHaveLength(1)
      // Every line is timestamped (UTC, to the second).
      for (const line of output().trim().split('\n')) expect(line).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ /)
    } finally {
      await stop()
    }
  }, 20_000)

  it('regression: after a stream that stayed up for the healthy period, the reconnect backoff starts from the bottom', async () => {
    const abort = new AbortController()
    const delays: number[] = []
    sim.injectFault({type: 'http', status: 503, code: 'unavailable'}, {rpc: 'WatchEvents', times: 4})
    const loop = (async () => {
      for await (const update of watchEventsWithReconnect(client, {
        signal: abort.signal,
        backoff: {baseMs: 100, maxMs: 3200, jitter: 0},
        healthyAfterMs: 300,
        onDisconnect: ({delayMs}) => delays.push(delayMs),
      })) {
        if (update.type === 'open') {
          // The fifth connection works; it stays up past the healthy period, then drops.
          setTimeout(() => sim.dropStreams(), 500)
        }
        if (delays.length >= 5) break
      }
    })()
    try {
      await waitFor(async () => delays.length >= 5, 10_000, 'five disconnections')
      expect(delays.slice(0, 4)).toEqual([100, 200, 400, 800])
      expect(delays[4]).toBe(100)
    } finally {
      abort.abort()
      await loop.catch(() => undefined)
    }
  }, 20_000)
})

describe('watch mode start-up', () => {
  it('regression: an address that moves between the first listing and the stream opening reaches the file', async () => {
    // The stream's request is held for 1.5 s before the server subscribes it: the window a slow network opens.
    sim.injectFault({type: 'slow', delayMs: 1500}, {rpc: 'WatchEvents'})
    // The periodic listing is an hour away: only the listing on stream open can bring the change in.
    const stop = startWatch({intervalMs: 3_600_000})
    try {
      await waitFor(has('HostName 127.0.0.11'), 5000, 'the first sync')
      expect(sim.openStreams()).toBe(0)
      sim.setSshAddress(A, {host: '127.0.0.77', port: 2222})
      await waitFor(async () => sim.openStreams() > 0, 5000, 'the event stream')
      await waitFor(has('HostName 127.0.0.77'), 5000, 'the address that moved before the stream opened')
    } finally {
      await stop()
    }
  }, 20_000)
})
