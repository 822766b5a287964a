import {describe, expect, it} from 'vitest'

import type {Environment} from '../../src/lib/api/types.js'
import {FetchQueue} from '../../src/lib/watch/queue.js'
import {EnvironmentLedger} from '../../src/lib/watch/state.js'

const ME = 'me'
const env = (id: string, version: number, host = '10.0.0.1', extra: Partial<Environment> = {}): Environment => ({
  id,
  phase: 'ENVIRONMENT_PHASE_RUNNING',
  statusVersion: BigInt(version),
  ssh: {user: 'u', host, port: 22},
  creatorId: ME,
  ...extra,
})
const hosts = (ledger: EnvironmentLedger) => Object.fromEntries(ledger.snapshot().environments.map((e) => [e.id, e.ssh?.host]))

describe('EnvironmentLedger: statusVersion order, tombstones, listings', () => {
  it.each([
    {name: 'a newer version replaces', first: 5, second: 6, expected: '10.0.0.2', outcome: 'applied'},
    {name: 'a stale reply (older version) is dropped', first: 6, second: 5, expected: '10.0.0.1', outcome: 'stale'},
    {name: 'the same version with a different address replaces (the API is the truth)', first: 5, second: 5, expected: '10.0.0.2', outcome: 'applied'},
  ])('$name', ({first, second, expected, outcome}) => {
    const ledger = new EnvironmentLedger()
    expect(ledger.update(env('a', first), [], ME)).toBe('applied')
    expect(ledger.update(env('a', second, '10.0.0.2'), [], ME)).toBe(outcome)
    expect(hosts(ledger)).toEqual({a: expected})
  })

  it('regression: a late GetEnvironment reply after the delete event does not resurrect the environment', () => {
    const ledger = new EnvironmentLedger()
    ledger.update(env('a', 5), [], ME)
    expect(ledger.delete('a')).toBe(true)
    expect(ledger.update(env('a', 9), [], ME)).toBe('deleted')
    expect(hosts(ledger)).toEqual({})
    expect(ledger.wantsFetch('a')).toBe(false)
  })

  it('regression: a listing that was on its way when the delete arrived does not resurrect it either', () => {
    const ledger = new EnvironmentLedger()
    ledger.update(env('a', 5), [], ME)
    const mark = ledger.mark()
    ledger.delete('a')
    expect(ledger.applyListing({environments: [env('a', 5)], problems: []}, mark)).toBe(false)
    expect(hosts(ledger)).toEqual({})
  })

  it('regression: a reconnect listing never overwrites a newer per-environment state', () => {
    const ledger = new EnvironmentLedger()
    ledger.update(env('a', 5), [], ME)
    const mark = ledger.mark()
    ledger.update(env('a', 7, '10.0.0.7'), [], ME)
    ledger.applyListing({environments: [env('a', 6, '10.0.0.6')], problems: []}, mark)
    expect(hosts(ledger)).toEqual({a: '10.0.0.7'})
  })

  it('a listing removes environments absent from it, except those learned after it was requested', () => {
    const ledger = new EnvironmentLedger()
    ledger.update(env('old', 1), [], ME)
    const mark = ledger.mark()
    ledger.update(env('new', 1), [], ME)
    expect(ledger.applyListing({environments: [env('listed', 1)], problems: []}, mark)).toBe(true)
    expect(hosts(ledger)).toEqual({new: '10.0.0.1', listed: '10.0.0.1'})
  })

  it("a colleague's environment is remembered as foreign and needs no further fetch", () => {
    const ledger = new EnvironmentLedger()
    expect(ledger.update(env('c', 1, '10.0.0.9', {creatorId: 'colleague'}), [], ME)).toBe('foreign')
    expect(ledger.wantsFetch('c')).toBe(false)
    expect(hosts(ledger)).toEqual({})
  })

  it('forget (NOT_FOUND) removes without a tombstone, so an environment not yet visible can still appear', () => {
    const ledger = new EnvironmentLedger()
    ledger.update(env('a', 1), [], ME)
    ledger.forget('a')
    expect(hosts(ledger)).toEqual({})
    expect(ledger.update(env('a', 2), [], ME)).toBe('applied')
  })

  it('problems follow their environment and are replaced with it', () => {
    const ledger = new EnvironmentLedger()
    ledger.update(env('a', 1), [{environmentId: 'a', field: 'ssh', message: 'bad'}], ME)
    expect(ledger.snapshot().problems).toHaveLength(1)
    ledger.update(env('a', 2), [], ME)
    expect(ledger.snapshot().problems).toHaveLength(0)
  })
})

describe('FetchQueue: coalescing, bounded concurrency, one hold on failure', () => {
  const deferred = () => {
    let resolve!: () => void
    let reject!: (e: unknown) => void
    const promise = new Promise<void>((res, rej) => {
      resolve = res
      reject = rej
    })
    return {promise, resolve, reject}
  }

  it('never runs more than `concurrency` fetches, and drops duplicates of waiting work', async () => {
    const running = new Map<string, ReturnType<typeof deferred>>()
    let peak = 0
    const queue = new FetchQueue({
      concurrency: 3,
      fetch: (id) => {
        const d = deferred()
        running.set(id, d)
        peak = Math.max(peak, running.size)
        return d.promise.finally(() => running.delete(id))
      },
      onFailure: () => undefined,
    })
    for (let round = 0; round < 5; round++) for (let i = 0; i < 20; i++) queue.enqueue(`e${i}`)
    while (running.size > 0) {
      for (const d of [...running.values()]) d.resolve()
      await new Promise((resolve) => setImmediate(resolve))
    }
    await queue.idle()
    expect(peak).toBe(3)
    // 20 environments: 3 were in flight when their duplicates came (fetched once more), 17 coalesced to one.
    expect(queue.started).toBe(23)
  })

  it('a failure holds the whole queue and is reported once; settle() after a listing clears what it covered', async () => {
    const failures: unknown[] = []
    let calls = 0
    const queue = new FetchQueue({
      concurrency: 4,
      fetch: async () => {
        calls++
        throw new Error('503')
      },
      onFailure: (e) => failures.push(e),
    })
    for (let i = 0; i < 300; i++) queue.enqueue(`e${i}`)
    await queue.idle()
    expect(calls).toBe(4)
    expect(failures).toHaveLength(1)
    expect(queue.waiting).toBe(300)
    const gen = queue.generation()
    queue.enqueue('after-listing')
    queue.settle(gen)
    await queue.idle()
    // The listing covered the 300; only the event that came after it was fetched (and failed, holding again).
    expect(calls).toBe(5)
    expect(failures).toHaveLength(2)
  })
})
