import {PassThrough} from 'node:stream'

import {describe, expect, it} from 'vitest'

import {createContext} from '../../src/lib/context.js'
import {createIOStreams} from '../../src/lib/io.js'
import {createWatchReporter, formatDuration, MAX_WARNED} from '../../src/lib/watch/output.js'

function reporter(json: boolean) {
  let out = ''
  let err = ''
  const stdout = new PassThrough().setEncoding('utf8')
  const stderr = new PassThrough().setEncoding('utf8')
  stdout.on('data', (c: string) => (out += c))
  stderr.on('data', (c: string) => (err += c))
  let now = Date.parse('2026-12-01T21:05:03.250Z')
  const ctx = createContext({env: {HOME: '/home/a'}, io: createIOStreams({out: stdout, err: stderr, isTTY: false, env: {NO_COLOR: '1'}})})
  const r = createWatchReporter(ctx, {json, now: () => now})
  return {r, advance: (ms: number) => (now += ms), lines: () => out.trim().split('\n'), stderr: () => err}
}

describe('watch output', () => {
  it('one warning per incident, repeats swallowed, one recovered line with its duration, all on stdout', () => {
    const {r, advance, lines, stderr} = reporter(false)
    r.incident('stream', 'event stream lost (503)', 'ERR_API_UNAVAILABLE')
    r.incident('stream', 'event stream lost (503)', 'ERR_API_UNAVAILABLE')
    r.incident('api', 'GetEnvironment failed')
    advance(75_000)
    r.recovered('stream', 'event stream connected again')
    r.recovered('stream', 'event stream connected again')
    r.recovered('config', 'never opened: nothing printed')
    expect(lines()).toEqual([
      '2026-12-01T21:05:03Z warning: event stream lost (503)',
      '2026-12-01T21:05:03Z warning: GetEnvironment failed',
      '2026-12-01T21:06:18Z recovered: event stream connected again (after 1 min 15 s)',
    ])
    expect(r.isOpen('api')).toBe(true)
    expect(stderr()).toBe('')
  })

  it('regression: a warning is shown once however often it is met, and what was shown is remembered up to a ceiling', async () => {
    const {r, lines} = reporter(true)
    r.warnOnce('a Host * above the block sets User', 'W_OVERRIDE')
    r.warnOnce('a Host * above the block sets User', 'W_OVERRIDE')
    // Thousands of distinct texts over months (names, lines, addresses): before, each stayed in a set forever.
    for (let i = 0; i < MAX_WARNED; i++) r.warnOnce(`warning ${i}`)
    r.warnOnce('a Host * above the block sets User', 'W_OVERRIDE')
    await new Promise((resolve) => setImmediate(resolve))
    const shown = lines().map((line) => JSON.parse(line) as {message: string; code?: string})
    expect(shown).toHaveLength(MAX_WARNED + 2)
    expect(shown[0]).toMatchObject({type: 'warning', message: 'a Host * above the block sets User', code: 'W_OVERRIDE'})
    expect(shown.at(-1)).toMatchObject({message: 'a Host * above the block sets User'})
  })

  it('--json: the shape of warning, recovered and error objects is fixed', () => {
    const {r, advance, lines} = reporter(true)
    r.incident('api', 'the management plane failed', 'ERR_API_UNAVAILABLE')
    advance(2000)
    r.recovered('api', 'the management plane answers again')
    r.emit({type: 'error', message: 'the token expired (run `ona login`)', code: 'ERR_AUTH_EXPIRED'})
    expect(lines().map((l) => JSON.parse(l) as unknown)).toEqual([
      {time: '2026-12-01T21:05:03Z', type: 'warning', incident: 'api', message: 'the management plane failed', code: 'ERR_API_UNAVAILABLE'},
      {time: '2026-12-01T21:05:05Z', type: 'recovered', incident: 'api', message: 'the management plane answers again (after 2 s)', durationMs: 2000},
      {time: '2026-12-01T21:05:05Z', type: 'error', message: 'the token expired (run `ona login`)', code: 'ERR_AUTH_EXPIRED'},
    ])
  })

  it.each([
    [999, '1 s'],
    [59_000, '59 s'],
    [61_000, '1 min 1 s'],
    [3_600_000 * 2 + 60_000 * 3, '2 h 3 min'],
  ])('formatDuration(%i) = %s', (ms, text) => {
    expect(formatDuration(ms)).toBe(text)
  })
})
