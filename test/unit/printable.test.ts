import {describe, expect, it} from 'vitest'

import {PRINTABLE_MAX, printable} from '../../src/lib/printable.js'

describe('printable', () => {
  it.each([
    ['plain ASCII stays', 'my-env', 'my-env'],
    ['non-ASCII letters and emoji stay', 'Ümlaut café 🚀 名前', 'Ümlaut café 🚀 名前'],
    ['empty stays empty', '', ''],
    ['ESC becomes \\e', 'a\u001b[31mred', 'a\\e[31mred'],
    ['newline becomes \\n', 'line1\nline2', 'line1\\nline2'],
    ['carriage return becomes \\r', 'ok\rfake', 'ok\\rfake'],
    ['tab becomes \\t', 'a\tb', 'a\\tb'],
    ['NUL and BEL become \\x escapes', 'a\u0000b\u0007', 'a\\x00b\\x07'],
    ['DEL becomes \\x7f', 'a\u007f', 'a\\x7f'],
    ['C1 CSI (U+009B) becomes \\x9b', 'a\u009b2J', 'a\\x9b2J'],
    ['C1 NEL (U+0085) becomes \\x85', 'a\u0085b', 'a\\x85b'],
    ['RLO bidi override becomes \\u202e', 'abc\u202etxt.exe', 'abc\\u202etxt.exe'],
    ['every bidi embedding and override', '\u202a\u202b\u202c\u202d\u202e', '\\u202a\\u202b\\u202c\\u202d\\u202e'],
    ['every bidi isolate', '\u2066\u2067\u2068\u2069', '\\u2066\\u2067\\u2068\\u2069'],
    ['implicit marks and line separators', '\u200e\u200f\u061c\u2028\u2029', '\\u200e\\u200f\\u061c\\u2028\\u2029'],
    ['a lone surrogate is escaped, a pair kept', '\ud800x\ud83d\ude80', '\\ud800x\ud83d\ude80'],
    // Regression (issue 13): a name that clears the screen and forges an "ok" line of its own.
    ['screen clear and forged line', '\u001b[2J\u001b[1;1Hfake: ok\n', '\\e[2J\\e[1;1Hfake: ok\\n'],
  ])('%s', (_, input, expected) => {
    const out = printable(input)
    expect(out).toBe(expected)
    // Whatever came in, nothing unsafe goes out.
    expect(out).not.toMatch(/[\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/)
  })

  it.each([
    ['short enough stays', 'abcdef', 6, 'abcdef'],
    ['one over is cut with an ellipsis', 'abcdefg', 6, 'abcde…'],
    ['the cap counts code points, not UTF-16 units', '🚀🚀🚀🚀', 3, '🚀🚀…'],
    ['a cut never splits an escape', 'ab\u001bcdef', 4, 'ab…'],
    ['escapes count towards the cap', '\n\n\n\n', 6, '\\n\\n…'],
    ['a cap of 1 leaves only the ellipsis', 'abc', 1, '…'],
  ])('%s', (_, input, max, expected) => {
    expect(printable(input, max)).toBe(expected)
    expect([...printable(input, max)].length).toBeLessThanOrEqual(max)
  })

  it(`caps at ${PRINTABLE_MAX} code points by default`, () => {
    const out = printable('x'.repeat(10_000))
    expect([...out]).toHaveLength(PRINTABLE_MAX)
    expect(out.endsWith('…')).toBe(true)
  })

  it('is idempotent: printing a printed value changes nothing', () => {
    const once = printable('a\u001b[2Jb\nc\u202e')
    expect(printable(once)).toBe(once)
  })
})
