/**
 * Text from the management plane (environment ids and names, phases, status and error messages) is
 * printed to terminals. Raw, it could carry escape sequences that clear the screen or move the cursor,
 * newlines that forge a line of ona's own output ("fake: ok"), or bidi overrides that make a name read
 * backwards. Every human sink that prints such text passes it through `printable`; `--json` keeps the
 * raw value (JSON escapes control characters itself).
 */

/** The default cap, in code points, for one value (an id, a name, a phase). */
export const PRINTABLE_MAX = 200

/** The cap for a whole message line (an error, a warning) that may quote several values. */
export const MESSAGE_MAX = 2000

/**
 * C0 controls (newline and tab included), DEL, C1 controls, the bidi embeddings, overrides and isolates
 * (U+202A-U+202E, U+2066-U+2069), the implicit marks (U+200E, U+200F, U+061C), the line and paragraph
 * separators (U+2028, U+2029) and lone surrogates.
 */
// eslint-disable-next-line no-control-regex
const UNSAFE = /[\u0000-\u001F\u007F-\u009F\u061C\u200E\u200F\u2028\u2029\u202A-\u202E\u2066-\u2069]|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/

const NAMED: Record<string, string> = {'\n': '\\n', '\r': '\\r', '\t': '\\t', '\u001B': '\\e'}

function escapeChar(char: string): string {
  const named = NAMED[char]
  if (named) return named
  const code = char.charCodeAt(0)
  return code <= 0xff ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`
}

/**
 * `text` safe to print on one terminal line: each unsafe character (see UNSAFE) is replaced by a
 * visible escape (`\e`, `\n`, `\x07`, `\u202e`), and the result is cut to `maxLength` code points, the
 * last being `…`, when longer. A cut never splits an escape or a surrogate pair. Plain text (ASCII or
 * not) comes back unchanged.
 */
export function printable(text: string, maxLength: number = PRINTABLE_MAX): string {
  const limit = Math.max(1, Math.floor(maxLength))
  // Fast path: nothing to escape and short enough (the usual case).
  if (!UNSAFE.test(text) && text.length <= limit) return text
  const pieces: string[] = []
  let length = 0
  for (const char of text) {
    // for..of walks code points; a lone surrogate comes out as one unit and is escaped.
    const piece = UNSAFE.test(char) ? escapeChar(char) : char
    pieces.push(piece)
    length += piece.length === 2 && piece.codePointAt(0)! > 0xffff ? 1 : piece.length
  }
  if (length <= limit) return pieces.join('')
  let out = ''
  let used = 0
  for (const piece of pieces) {
    const size = piece.length === 2 && piece.codePointAt(0)! > 0xffff ? 1 : piece.length
    if (used + size > limit - 1) break
    out += piece
    used += size
  }
  return `${out}…`
}
