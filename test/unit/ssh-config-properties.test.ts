/**
 * Property-based tests of the block engine over generated configs (line endings, comments, quoting, odd
 * whitespace, arbitrary bytes, no trailing newline) and generated environment lists (valid and hostile).
 */
import fc from 'fast-check'
import {describe, expect, it} from 'vitest'

import {applyBlock, findBlock, removeManagedBlock} from '../../src/lib/ssh-config/index.js'
import {parseDirective, splitLines} from '../../src/lib/ssh-config/scan.js'
import {configText} from '../helpers/generators.js'

const validEnv = fc.record({
  id: fc.stringMatching(/^[a-z0-9][a-z0-9_-]{0,20}$/),
  host: fc.oneof(fc.ipV4(), fc.stringMatching(/^[a-z]([a-z0-9-]{0,8}[a-z0-9])?(\.[a-z]{2,5}){1,2}$/)),
  port: fc.integer({min: 1, max: 65_535}),
  user: fc.stringMatching(/^[a-z_][a-z0-9_-]{0,10}$/),
})
const hostileEnv = fc.record({
  id: fc.string({maxLength: 12, unit: 'binary'}),
  host: fc.string({maxLength: 20, unit: 'binary'}),
  port: fc.oneof(fc.integer(), fc.double()),
  user: fc.string({maxLength: 10, unit: 'binary'}),
})
const envList = fc.array(fc.oneof({weight: 3, arbitrary: validEnv}, {weight: 1, arbitrary: hostileEnv}), {maxLength: 8})

describe('block engine properties', () => {
  it('removal after insertion gives back the exact original text', () => {
    fc.assert(
      fc.property(configText, envList, (text, envs) => {
        expect(removeManagedBlock(applyBlock(text, envs).text).text).toBe(text)
      }),
      {numRuns: 400},
    )
  })

  it('bytes outside the block are unchanged, and the block holds only the managed directives', () => {
    fc.assert(
      fc.property(configText, envList, (text, envs) => {
        const result = applyBlock(text, envs)
        const location = findBlock(result.text)!
        // A last line without a newline gets one before the block (removal takes it away again).
        const separator = location.atEofWithoutNewline ? result.text.slice(text.length, location.start) : ''
        expect(['', '\n', '\r\n']).toContain(separator)
        expect(text.startsWith(result.text.slice(0, location.start - separator.length))).toBe(true)
        expect(text.endsWith(result.text.slice(location.end))).toBe(true)
        const inside = splitLines(result.text.slice(location.start, location.end))
        const keywords = inside.map((l) => parseDirective(l.content)?.keyword).filter(Boolean)
        expect(keywords.filter((k) => k === 'host')).toHaveLength(result.written.length)
        expect(new Set(keywords)).toEqual(new Set(result.written.length > 0 ? ['host', 'hostname', 'user', 'port', 'hostkeyalias'] : []))
        expect(inside.length).toBe(2 + 5 * result.written.length)
      }),
      {numRuns: 400},
    )
  })

  it('applying twice is a no-op, and the environment order does not matter', () => {
    fc.assert(
      fc.property(configText, envList, (text, envs) => {
        const once = applyBlock(text, envs)
        const twice = applyBlock(once.text, [...envs].reverse())
        const uniqueIds = new Set(envs.map((e) => String(e.id).toLowerCase())).size === envs.length
        if (uniqueIds) expect(twice.changed).toBe(false)
      }),
      {numRuns: 300},
    )
  })

  it('updating the environments replaces the block in place and still restores the original on removal', () => {
    fc.assert(
      fc.property(configText, envList, envList, (text, first, second) => {
        const updated = applyBlock(applyBlock(text, first).text, second).text
        expect(updated).toBe(applyBlock(text, second).text)
        expect(removeManagedBlock(updated).text).toBe(text)
      }),
      {numRuns: 300},
    )
  })
})
