import {describe, expect, it} from 'vitest'

import {redact, redactBearer} from '../../src/lib/redact.js'

describe('redact', () => {
  it('masks every occurrence of every secret', () => {
    expect(redact('a tok_123456 b tok_123456 c other_99', ['tok_123456', 'other_99'])).toBe('a [REDACTED] b [REDACTED] c [REDACTED]')
  })

  it('ignores missing and too-short secrets rather than masking common characters', () => {
    expect(redact('abc', [undefined, '', 'a'])).toBe('abc')
  })

  it('masks bearer values in header-like text', () => {
    expect(redactBearer('authorization: Bearer abc.def-ghi, x')).toBe('authorization: Bearer [REDACTED], x')
  })
})
