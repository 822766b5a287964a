/**
 * The watcher's ssh -G scheduler (watch-verify.ts) with a verify function the test answers by hand: one
 * run at a time, requests made meanwhile coalesced into the next run, each problem reported once.
 */
import {describe, expect, it} from 'vitest'

import type {Warning} from '../../src/lib/errors.js'
import type {DiskVerification} from '../../src/lib/sync/sync.js'
import {MAX_NOTES, MAX_OPEN_PROBLEMS, problemKey, WriteVerifier} from '../../src/lib/watch/verify.js'

const user = (alias: string, file = '/h/.ssh/config.d/users', line = 2): Warning => ({
  code: 'W_SSH_DIFFERS',
  message: `ssh will use User someone for ${alias}, not u as ona wrote (set by ${file}:${line})`,
  option: 'User',
  alias,
  expected: 'u',
  actual: 'someone',
  file,
  line,
})

function harness() {
  const calls: Array<{requested: string[] | undefined; answer: (r: Partial<DiskVerification>) => void}> = []
  const reported: Warning[] = []
  const notes: string[] = []
  let inFlight = 0
  let maxInFlight = 0
  const verifier = new WriteVerifier({
    verify: (requested) =>
      new Promise((resolve) => {
        inFlight++
        maxInFlight = Math.max(maxInFlight, inFlight)
        calls.push({
          requested,
          answer: (r) => {
            inFlight--
            resolve({checked: 0, aliases: requested ?? [], warnings: [], ...r})
          },
        })
      }),
    report: (w) => reported.push(w),
    note: (n) => notes.push(n),
  })
  const tick = () => new Promise((resolve) => setTimeout(resolve, 0))
  return {verifier, calls, reported, notes, tick, maxInFlight: () => maxInFlight}
}

describe('WriteVerifier', () => {
  it('runs one check at a time and folds the requests made meanwhile into one next run', async () => {
    const h = harness()
    h.verifier.request('all')
    h.verifier.request(['a'])
    h.verifier.request(['b', 'a'])
    await h.tick()
    expect(h.calls.map((c) => c.requested)).toEqual([undefined])
    h.calls[0]!.answer({})
    await h.tick()
    expect(h.calls.map((c) => c.requested)).toEqual([undefined, ['a', 'b']])
    h.calls[1]!.answer({})
    await h.verifier.idle()
    expect(h.calls).toHaveLength(2)
    expect(h.maxInFlight()).toBe(1)
  })

  it('reports a problem once however many aliases and runs show it, and again only after a run saw it gone', async () => {
    const h = harness()
    h.verifier.request(['a'])
    await h.tick()
    h.calls[0]!.answer({aliases: ['a', 'ar'], warnings: [user('a'), user('ar')]})
    await h.verifier.idle()
    h.verifier.request(['b'])
    await h.tick()
    h.calls[1]!.answer({aliases: ['b', 'br'], warnings: [user('b'), user('br')]})
    await h.verifier.idle()
    expect(h.reported.map((w) => w.alias)).toEqual(['a'])
    // The line is fixed for a (its check is clean) but b still shows it: not reported again.
    h.verifier.request(['a'])
    await h.tick()
    h.calls[2]!.answer({aliases: ['a', 'ar'], warnings: []})
    await h.verifier.idle()
    h.verifier.request(['b'])
    await h.tick()
    h.calls[3]!.answer({aliases: ['b', 'br'], warnings: []})
    await h.verifier.idle()
    // Every alias clean: the problem is closed; it comes back, it is reported again.
    h.verifier.request(['a'])
    await h.tick()
    h.calls[4]!.answer({aliases: ['a', 'ar'], warnings: [user('a')]})
    await h.verifier.idle()
    expect(h.reported.map((w) => w.alias)).toEqual(['a', 'a'])
  })

  it('says a note once, whatever the counts in it', async () => {
    const h = harness()
    for (const [i, note] of ['ssh -G checked 3 of 40 aliases before its time ran out', 'ssh -G checked 7 of 41 aliases before its time ran out'].entries()) {
      h.verifier.request(['a'])
      await h.tick()
      h.calls[i]!.answer({note})
      await h.verifier.idle()
    }
    expect(h.notes).toEqual(['ssh -G checked 3 of 40 aliases before its time ran out'])
  })

  it('regression: the notes it remembers are bounded; past the ceiling the oldest may be said once more', async () => {
    const h = harness()
    const words = (i: number) => i.toString(26).replaceAll(/\d/g, (d) => 'qrstuvwxyz'[Number(d)]!)
    const notes = Array.from({length: MAX_NOTES + 1}, (_, i) => `not checked with ssh -G: failure ${words(i)}`)
    for (const [i, note] of [...notes, notes[0]!].entries()) {
      h.verifier.request(['a'])
      await h.tick()
      h.calls[i]!.answer({note})
      await h.verifier.idle()
    }
    // Before: a set of every distinct note for the life of the process; the first was never said again.
    expect(h.notes).toEqual([...notes, notes[0]])
  })

  it('regression: the open problems it remembers are bounded', async () => {
    const h = harness()
    const many = Array.from({length: MAX_OPEN_PROBLEMS + 1}, (_, i) => user('a', '/h/.ssh/config.d/users', i + 1))
    h.verifier.request(['a'])
    await h.tick()
    h.calls[0]!.answer({aliases: ['a'], warnings: many})
    await h.verifier.idle()
    expect(h.reported).toHaveLength(MAX_OPEN_PROBLEMS + 1)
    // The oldest was forgotten to stay under the ceiling: seen again, it is reported again (once).
    h.verifier.request(['b'])
    await h.tick()
    h.calls[1]!.answer({aliases: ['b'], warnings: [many[0]!, many[MAX_OPEN_PROBLEMS]!]})
    await h.verifier.idle()
    expect(h.reported.slice(MAX_OPEN_PROBLEMS + 1)).toEqual([many[0]])
  })

  it('after close() no run starts', async () => {
    const h = harness()
    h.verifier.request(['a'])
    await h.tick()
    const closed = h.verifier.close()
    h.verifier.request(['b'])
    h.calls[0]!.answer({warnings: [user('a')]})
    await closed
    expect(h.calls).toHaveLength(1)
    expect(h.reported).toEqual([])
  })

  it.each([
    ['two aliases, one line', user('a'), user('b'), true],
    ['the same alias, two lines', user('a', '/x', 1), user('a', '/x', 2), false],
    ['ssh -G failing the same way for two aliases', {code: 'W_SSH_G_FAILED', message: 'ssh -G a failed (exit 255): bad'}, {code: 'W_SSH_G_FAILED', message: 'ssh -G b failed (exit 255): bad'}, true],
    ['no file:line: one problem per alias', {...user('a'), file: undefined, line: undefined}, {...user('b'), file: undefined, line: undefined}, false],
  ])('problemKey: %s', (_name, one, two, same) => {
    expect(problemKey(one) === problemKey(two)).toBe(same)
  })
})
