/**
 * The managed block: its frozen marker lines, how it is rendered, found, spliced in and taken out.
 * Everything here works on the raw text; bytes outside the block are never touched.
 */
import {OnaError} from '../errors.js'
import {detectEol, isSectionStart, splitLines, type Line} from './scan.js'
import type {ValidEnvironment} from './validate.js'

/**
 * Marker lines. Frozen from the first release: scripts and other tools may look for them. They are matched
 * after trimming whitespace (editors and VS Code reformat lines), by the prefix up to the tool name.
 */
export const BEGIN_MARKER = '# BEGIN ona ssh-sync: managed by `ona ssh-sync`, edits inside this block are overwritten'
export const END_MARKER = '# END ona ssh-sync'
const BEGIN_PREFIX = /^#\s*BEGIN ona ssh-sync\b/
const END_PREFIX = /^#\s*END ona ssh-sync\b/

export const BOM = '\u00EF\u00BB\u00BF' // UTF-8 BOM as latin1-decoded bytes
const BOM_UTF16 = '\uFEFF'

/** Where the block is in a text: [start, end) byte offsets, and line numbers (1-based) for messages. */
export interface BlockLocation {
  start: number
  end: number
  beginLine: number
  endLine: number
  /** True when the END marker is the last line and has no line ending. */
  atEofWithoutNewline: boolean
}

export function hasBom(text: string): boolean {
  return text.startsWith(BOM) || text.startsWith(BOM_UTF16)
}

function markerKind(line: Line): 'begin' | 'end' | undefined {
  const trimmed = line.content.trim()
  if (BEGIN_PREFIX.test(trimmed)) return 'begin'
  if (END_PREFIX.test(trimmed)) return 'end'
  return undefined
}

/**
 * Finds the managed block. Exactly one BEGIN followed by one END is a block; none of either is no block;
 * anything else is refused with an error naming the lines, so that a damaged file is never "repaired" by
 * deleting the user's text between stray markers.
 */
export function findBlock(text: string, file = 'the SSH config'): BlockLocation | undefined {
  const lines = splitLines(text)
  const begins: Line[] = []
  const ends: Line[] = []
  for (const line of lines) {
    const kind = markerKind(line)
    if (kind === 'begin') begins.push(line)
    else if (kind === 'end') ends.push(line)
  }
  if (begins.length === 0 && ends.length === 0) return undefined
  const numbers = (list: Line[]) => list.map((l) => l.index + 1).join(', ')
  const problem =
    begins.length > 1 ? `has ${begins.length} BEGIN ona ssh-sync markers (lines ${numbers(begins)})`
    : ends.length > 1 ? `has ${ends.length} END ona ssh-sync markers (lines ${numbers(ends)})`
    : begins.length === 0 ? `has an END ona ssh-sync marker (line ${numbers(ends)}) without a BEGIN marker`
    : ends.length === 0 ? `has a BEGIN ona ssh-sync marker (line ${numbers(begins)}) without an END marker`
    : ends[0]!.index < begins[0]!.index ? `has the END ona ssh-sync marker (line ${numbers(ends)}) before the BEGIN marker (line ${numbers(begins)})`
    : undefined
  if (problem) {
    throw new OnaError('ERR_SSH_CONFIG_MARKERS', `${file} ${problem}`, {
      details: {file, beginLines: begins.map((l) => l.index + 1), endLines: ends.map((l) => l.index + 1)},
    })
  }
  const begin = begins[0]!
  const end = ends[0]!
  return {
    start: begin.start,
    end: end.start + end.content.length + end.eol.length,
    beginLine: begin.index + 1,
    endLine: end.index + 1,
    atEofWithoutNewline: end.eol === '',
  }
}

/** Sorted by alias, so the block is the same whatever order the API listed the environments in. */
export function sortByAlias(environments: readonly ValidEnvironment[]): ValidEnvironment[] {
  return [...environments].sort((a, b) => (a.environmentAlias < b.environmentAlias ? -1 : a.environmentAlias > b.environmentAlias ? 1 : 0))
}

/** Renders the block's lines (without line endings) in the order given; applyBlock passes them sorted. */
export function renderBlockLines(environments: readonly ValidEnvironment[]): string[] {
  const lines = [BEGIN_MARKER]
  for (const env of environments) {
    lines.push(
      `Host ${env.environmentAlias} ${env.remoteAlias}`,
      `  HostName ${env.host}`,
      `  User ${env.user}`,
      `  Port ${env.port}`,
      // Host keys are recorded under a stable name, so a new IP after a restart is not a changed host key.
      `  HostKeyAlias ${env.environmentAlias}`,
    )
  }
  lines.push(END_MARKER)
  return lines
}

/**
 * Returns the text with the block replaced by (or, when absent, inserted as) the given lines. A new block goes
 * before the first Host or Match line, so the user's global lines keep their scope and the block's Host
 * entries come before any `Host *` of the user's; a file without sections gets it at the end. An existing
 * block stays where it is, even if the user moved it.
 */
export function spliceBlock(text: string, blockLines: readonly string[], file?: string): string {
  const eol = detectEol(text)
  const existing = findBlock(text, file)
  if (existing) {
    const body = blockLines.join(eol) + (existing.atEofWithoutNewline ? '' : eol)
    return text.slice(0, existing.start) + body + text.slice(existing.end)
  }
  const body = blockLines.join(eol) + eol
  const firstSection = splitLines(text).find((line) => isSectionStart(line.content))
  if (firstSection) return text.slice(0, firstSection.start) + body + text.slice(firstSection.start)
  if (text === '' || text.endsWith('\n')) return text + body
  // The file's last line has no newline: end it, and leave the block without one, so removal restores it.
  // After a lone CR the separator must be CRLF, or removal could not tell our LF from a CRLF of the user's.
  return text + (text.endsWith('\r') ? '\r\n' : eol) + blockLines.join(eol)
}

/** Returns the text without the block; the exact inverse of spliceBlock's insertion. */
export function removeBlock(text: string, file?: string): string {
  const existing = findBlock(text, file)
  if (!existing) return text
  let start = existing.start
  if (existing.atEofWithoutNewline && start > 0) {
    // Undo the line ending spliceBlock added to a last line that had none.
    start -= text.slice(0, start).endsWith('\r\n') ? 2 : 1
  }
  return text.slice(0, start) + text.slice(existing.end)
}
