/**
 * A lossless line scanner for ssh_config text. It never re-serialises anything: each line keeps its exact
 * bytes (the text is decoded as latin1 by the file layer, so any byte sequence round-trips) and its own
 * line ending. Keyword/argument splitting follows OpenSSH's readconf.c closely enough to find section
 * boundaries and the values that matter for override detection; lines it cannot understand are kept as
 * they are and simply carry no keyword.
 */

export interface Line {
  /** 0-based index; 1-based numbers are used in messages. */
  index: number
  /** Byte offset of the line's first character in the text. */
  start: number
  /** The line without its ending. */
  content: string
  /** '\n', '\r\n' or '' (last line without a newline). */
  eol: string
}

/** Splits text into lines, keeping each line's own ending, so that joining content+eol gives the text back. */
export function splitLines(text: string): Line[] {
  const lines: Line[] = []
  let start = 0
  let index = 0
  while (start < text.length) {
    const nl = text.indexOf('\n', start)
    if (nl === -1) {
      lines.push({index: index++, start, content: text.slice(start), eol: ''})
      break
    }
    const crlf = nl > start && text.charCodeAt(nl - 1) === 13
    lines.push({index: index++, start, content: text.slice(start, crlf ? nl - 1 : nl), eol: crlf ? '\r\n' : '\n'})
    start = nl + 1
  }
  return lines
}

/** The file's own line ending: that of its first line, LF when it has none. */
export function detectEol(text: string): '\n' | '\r\n' {
  const nl = text.indexOf('\n')
  return nl > 0 && text.charCodeAt(nl - 1) === 13 ? '\r\n' : '\n'
}

export interface Directive {
  /** Lowercased keyword (`host`, `hostname`, `match`, ...). */
  keyword: string
  /** Arguments after OpenSSH's quote handling. */
  args: string[]
}

/**
 * Parses one line into keyword and arguments the way OpenSSH does (whitespace or one `=` after the keyword,
 * double/single quotes group an argument, a `#` starting an argument begins a comment). Returns undefined for
 * blank lines, comments and lines whose quoting OpenSSH would reject (those are left for ssh to report).
 */
export function parseDirective(content: string): Directive | undefined {
  const trimmed = content.replace(/^[ \t\f\v\r]+/, '')
  if (trimmed === '' || trimmed.startsWith('#')) return undefined
  const keywordMatch = /^([^\s=]+)[ \t]*(?:=[ \t]*)?/.exec(trimmed)
  if (!keywordMatch) return undefined
  const keyword = keywordMatch[1]!.toLowerCase()
  const args = splitArgs(trimmed.slice(keywordMatch[0].length))
  if (args === undefined) return undefined
  return {keyword, args}
}

function splitArgs(rest: string): string[] | undefined {
  const args: string[] = []
  let i = 0
  while (i < rest.length) {
    while (i < rest.length && isBlank(rest.charCodeAt(i))) i++
    if (i >= rest.length) break
    if (rest[i] === '#') break
    let arg = ''
    const quote = rest[i] === '"' || rest[i] === "'" ? rest[i] : undefined
    if (quote) {
      i++
      const end = rest.indexOf(quote, i)
      if (end === -1) return undefined
      arg = rest.slice(i, end)
      i = end + 1
    } else {
      while (i < rest.length && !isBlank(rest.charCodeAt(i))) {
        if (rest[i] === '\\' && i + 1 < rest.length) {
          arg += rest[i + 1]
          i += 2
          continue
        }
        arg += rest[i]
        i++
      }
    }
    args.push(arg)
  }
  return args
}

/** Space, tab, CR, form feed, vertical tab: what OpenSSH splits arguments on (a char code test, not a regex per character). */
function isBlank(code: number): boolean {
  return code === 32 || code === 9 || code === 13 || code === 12 || code === 11
}

/** True for a line that starts a new section (`Host ...` or `Match ...`, any case, `=` allowed). */
export function isSectionStart(content: string): boolean {
  return /^[ \t]*(?:host|match)(?:[ \t]*=|[ \t]|$)/i.test(content)
}
