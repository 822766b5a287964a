/**
 * The quiet gate's time rules (issue 18): quiet is measured from the last change ona saw, on the monotonic
 * clock; a file's mtime only places a file seen for the first time, and never by more than one quiet
 * period. Every computed wait lies in [0, quietMs], whatever the clocks say.
 */
import {describe, expect, it} from 'vitest'

import {MAX_TIMER_MS, timerDelay} from '../../src/lib/api/backoff.js'
import {firstSeenChangedAt, quietLeft} from '../../src/lib/watch/file.js'

const QUIET = 2000
const DAY = 86_400_000

describe('quietLeft: the wait before a file is quiet', () => {
  it.each([
    {name: 'changed long ago', changedAt: -1e9, now: 0, left: 0},
    {name: 'changed just now', changedAt: 1000, now: 1000, left: QUIET},
    {name: 'changed half a quiet period ago', changedAt: 0, now: 1000, left: 1000},
    {name: 'never changed', changedAt: Number.NEGATIVE_INFINITY, now: 5, left: 0},
    {name: 'regression: a change stamped in the future (a clock moved) waits one quiet period, not the difference', changedAt: 40 * DAY, now: 0, left: QUIET},
    {name: 'NaN (a broken clock) waits one quiet period', changedAt: Number.NaN, now: 0, left: QUIET},
  ])('$name', ({changedAt, now, left}) => {
    expect(quietLeft(changedAt, now, QUIET)).toBe(left)
  })
})

describe('firstSeenChangedAt: where the mtime of a file seen for the first time places its last change', () => {
  const mono = 500_000
  const wall = Date.UTC(2026, 0, 1)
  it.each([
    {name: 'an old file is quiet at once', mtime: wall - DAY, changedAt: mono - QUIET},
    {name: 'a file written 500 ms ago waits the rest of the quiet period', mtime: wall - 500, changedAt: mono - 500},
    {name: 'regression: an mtime an hour in the future waits one quiet period', mtime: wall + 3_600_000, changedAt: mono},
    {name: 'regression: an mtime 40 days in the future waits one quiet period', mtime: wall + 40 * DAY, changedAt: mono},
  ])('$name', ({mtime, changedAt}) => {
    const at = firstSeenChangedAt(mtime, wall, mono, QUIET)
    expect(at).toBe(changedAt)
    const left = quietLeft(at, mono, QUIET)
    expect(left).toBeGreaterThanOrEqual(0)
    expect(left).toBeLessThanOrEqual(QUIET)
  })
})

describe('timerDelay: what any computed sleep is given to setTimeout', () => {
  it.each([
    {ms: 1500, delay: 1500},
    {ms: -3_600_000, delay: 0},
    {ms: Number.NaN, delay: 0},
    {name: 'regression: 40 days (would overflow and fire at once)', ms: 40 * DAY, delay: MAX_TIMER_MS},
    {ms: Number.POSITIVE_INFINITY, delay: MAX_TIMER_MS},
  ])('$ms ms -> $delay ms', ({ms, delay}) => {
    expect(timerDelay(ms)).toBe(delay)
  })
})
