/** BoundedSet: what the watcher remembers having said stays under a ceiling, least recently seen out first. */
import {describe, expect, it} from 'vitest'

import {BoundedSet} from '../../src/lib/watch/seen.js'

describe('BoundedSet', () => {
  it('says whether an item is new, and never holds more than its ceiling', () => {
    const set = new BoundedSet<string>(3)
    expect(['a', 'b', 'a', 'c'].map((x) => set.add(x))).toEqual([true, true, false, true])
    for (let i = 0; i < 10_000; i++) set.add(`warning ${i}`)
    expect(set.size).toBe(3)
  })

  it('forgets the least recently seen first: an item seen again stays', () => {
    const set = new BoundedSet<string>(2)
    set.add('a')
    set.add('b')
    set.add('a')
    set.add('c')
    expect(set.has('a')).toBe(true)
    expect(set.has('b')).toBe(false)
    expect(set.add('b')).toBe(true)
  })
})
