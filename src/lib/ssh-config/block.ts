/**
 * The managed block: its frozen marker lines, how it is rendered, found, spliced in and taken out.
 * Everything here works on the raw text; bytes outside the block are never touched.
 */
import {OnaError} from '../errors.js'
import {printable} from '../printable.js'
import {detectEol, isSectionStart, parseDirective, splitLines, type Line} from './scan.js'
import {ENVIRONMENT_SUFFIX, REMOTE_SUFFIX, type SshEnvironment, type ValidEnvironment} from './validate.js'
import {renderEntryOptions, type EntryOptions} from './entry.js'
import {FRIENDLY_ALIAS} from './friendly.js'

/**
 * Marker lines. Frozen from the first release: scripts and other tools may look for them. They are matched
 * after trimming whitespace (editors and VS Code reformat lines), case-insensitively and with any run of
 * blanks between the words, by the prefix up to the tool name.
 */
export const BEGIN_MARKER = '# BEGIN ona ssh-sync: managed by `ona ssh-sync`, edits inside this block are overwritten'
export const END_MARKER = '# END ona ssh-sync'
const BEGIN_PREFIX = /^#+[ \t]*begin[ \t]+ona[ \t]+ssh-sync\b/i
const END_PREFIX = /^#+[ \t]*end[ \t]+ona[ \t]+ssh-sync\b/i
/**
 * What a damaged marker looks like (a lost '#', `ssh sync`, `ona-ssh-sync`, words swapped): the words of a
 * marker at the start of the line, whatever the punctuation. Such a line is an error, not a second block.
 */
const DAMAGED_MARKER = /^(?:(?:begin|end) ona ssh ?sync|ona ssh ?sync (?:begin|end))\b/

/**
 * The line that starts one install's part of the block: everything below it, up to the next such line or
 * END, belongs to that API origin (scheme, host and port). Entries above the first one were written before
 * installs had parts (the legacy part): see splitLegacy in index.ts for who they go to.
 */
const ORIGIN_LINE = /^#[ \t]*ona[ \t]+origin[ \t:]+(\S+)[ \t]*$/i
export function originLine(origin: string): string {
  return `# ona origin ${origin}`
}

/**
 * The line just above each entry's Host line: how fresh the entry is (the environment's statusVersion when
 * the API told what the entry says) and, for a person reading the file, the environment's display name
 * made printable and capped. Every writer replaces an entry only with strictly newer information (see
 * sync/plan.ts); an entry without this line (an earlier ona's block) has unknown freshness.
 */
const FRESHNESS_LINE = /^#[ \t]*ona[ \t]+env[ \t]+statusVersion[ \t]+(\d{1,20})(?:[ \t]*:[ \t]?(.*))?$/i
/** Code points of a display name on the freshness line. */
export const NAME_MAX = 80

/**
 * The freshness line of an entry, undefined when its freshness is unknown. The text is latin1-decoded
 * bytes (see fs/safe-write.ts): the name goes in as UTF-8.
 */
export function freshnessLine(env: {statusVersion?: bigint; name?: string}): string | undefined {
  if (env.statusVersion === undefined) return undefined
  const name = env.name ? Buffer.from(printable(env.name, NAME_MAX), 'utf8').toString('latin1') : ''
  return `# ona env statusVersion ${env.statusVersion}${name === '' ? '' : `: ${name}`}`
}

/** What a freshness line says, or undefined when the line is not one. */
export function readFreshness(line: string): {statusVersion: bigint; name?: string} | undefined {
  const match = FRESHNESS_LINE.exec(line.trim())
  if (!match) return undefined
  const raw = match[2]?.trim() ?? ''
  // Bytes as latin1 chars, normally; a caller's text of real characters is taken as it is.
  const name = /^[\u0000-\u00ff]*$/.test(raw) ? Buffer.from(raw, 'latin1').toString('utf8') : raw
  return {statusVersion: BigInt(match[1]!), ...(name === '' ? {} : {name})}
}

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

/** True for a line that is (any spelling of) the BEGIN marker. */
export function isBeginMarker(content: string): boolean {
  return BEGIN_PREFIX.test(content.trim())
}

/** True for a line that is (any spelling of) the END marker. */
export function isEndMarker(content: string): boolean {
  return END_PREFIX.test(content.trim())
}

export function hasBom(text: string): boolean {
  return text.startsWith(BOM) || text.startsWith(BOM_UTF16)
}

function markerKind(line: Line): 'begin' | 'end' | 'damaged' | undefined {
  const trimmed = line.content.trim()
  if (BEGIN_PREFIX.test(trimmed)) return 'begin'
  if (END_PREFIX.test(trimmed)) return 'end'
  const words = trimmed.toLowerCase().replace(/[^a-z0-9]+/g, ' ').trim()
  if (DAMAGED_MARKER.test(words)) return 'damaged'
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
    else if (kind === 'damaged') {
      const words = line.content.trim().toLowerCase().replace(/[^a-z0-9]+/g, ' ').trim()
      throw new OnaError('ERR_SSH_CONFIG_MARKERS', `${file} line ${line.index + 1} \`${line.content.trim()}\` looks like a damaged ona marker (expected \`${/^(?:end|ona ssh ?sync end)\b/.test(words) ? END_MARKER : BEGIN_MARKER}\`)`, {
        details: {file, line: line.index + 1},
      })
    }
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
export function renderBlockLines(environments: readonly ValidEnvironment[], entry: EntryOptions = {}): string[] {
  return [BEGIN_MARKER, ...renderEntries(environments, entry).flatMap(entryLines), END_MARKER]
}

/** An entry's lines as they go into the file: its freshness line, then its Host line and values. */
export function entryLines(entry: BlockEntry): string[] {
  return entry.freshness === undefined ? entry.lines : [entry.freshness, ...entry.lines]
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

/** One ona Host entry in the block: its lines as they are in the file, and the values read back from them. */
export interface BlockEntry {
  /** `<id>.gitpod.environment`, as written on the Host line. */
  alias: string
  /** The Host line first, then the entry's values. */
  lines: string[]
  /** The freshness line above the Host line, as in the file; undefined: freshness unknown. */
  freshness?: string
  /** The values, with statusVersion and name from the freshness line. */
  environment: SshEnvironment
}

/** One install's part of the block (`origin` undefined: a block written before installs had parts). */
export interface BlockPart {
  origin: string | undefined
  entries: BlockEntry[]
}

/** Lines inside the block that `ona` did not write: a Host/Match section, or lines before any Host. */
export interface ForeignLines {
  /** 1-based line number of the first line in the file as it was. */
  line: number
  lines: string[]
  /** The section's Host/Match line, trimmed, or the first line of loose lines. */
  header: string
}

export interface ParsedBlock {
  location: BlockLocation
  parts: BlockPart[]
  foreign: ForeignLines[]
}

/**
 * The Host line ona writes: `Host <id>.gitpod.environment <id>.gitpod.remote`, with the entry's friendly
 * alias (`<name>.ona`, friendly.ts) as a third pattern when it has one; nothing else.
 */
export function onaEntryAlias(content: string): string | undefined {
  const directive = parseDirective(content)
  if (directive?.keyword !== 'host' || (directive.args.length !== 2 && directive.args.length !== 3)) return undefined
  if (directive.args.length === 3 && !FRIENDLY_ALIAS.test(directive.args[2]!)) return undefined
  const [first, second] = directive.args as [string, string]
  if (!first.endsWith(ENVIRONMENT_SUFFIX)) return undefined
  const id = first.slice(0, -ENVIRONMENT_SUFFIX.length)
  if (id === '' || second !== `${id}${REMOTE_SUFFIX}` || !/^[a-z0-9._-]+$/.test(id)) return undefined
  return first
}

function readEntry(alias: string, lines: readonly string[]): SshEnvironment {
  const environment: SshEnvironment = {id: alias.slice(0, -ENVIRONMENT_SUFFIX.length), host: '', user: '', port: 22}
  const friendly = parseDirective(lines[0] ?? '')?.args[2]
  if (friendly !== undefined) environment.friendlyAlias = friendly
  for (const line of lines.slice(1)) {
    const directive = parseDirective(line)
    const value = directive?.args[0]
    if (!directive || value === undefined) continue
    if (directive.keyword === 'hostname') environment.host = value
    else if (directive.keyword === 'user') environment.user = value
    else if (directive.keyword === 'port') environment.port = Number(value)
  }
  return environment
}

/** The origin of a URL written in the block (an origin line, a ProxyCommand's --api-url); undefined when it has none. */
function urlOrigin(text: string): string | undefined {
  try {
    const origin = new URL(text).origin
    return origin === 'null' ? undefined : origin
  } catch {
    return undefined
  }
}

/** An origin line as written by hand (`HTTPS://Host.test:443`) names the same origin ona writes. */
function normalOrigin(written: string): string {
  return urlOrigin(written) ?? written
}

/**
 * Reads the block into its installs' parts. Only ona's own Host entries belong to a part; any other Host or
 * Match section (with the comments just above it) and any directive before the first Host are collected
 * as foreign, never read as an environment, so the caller can move them out of the block.
 */
export function parseBlock(text: string, file?: string): ParsedBlock | undefined {
  // One sync parses the same text four times (baseline, plan, splice, ssh -G values): the last answer is
  // kept, and its callers only read it (never change a part, entry or line of what this returns). `file`
  // only names the file in an error, and an error is never kept.
  if (lastParse !== undefined && lastParse.text === text) return lastParse.parsed
  // Frozen, so that a caller that changed what it was given would fail at once (a TypeError in these
  // strict-mode modules) instead of handing the change to the next caller through the kept answer.
  const parsed = deepFreeze(parseBlockText(text, file))
  lastParse = {text, parsed}
  return parsed
}

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value)
    for (const child of Object.values(value)) deepFreeze(child)
  }
  return value
}

let lastParse: {text: string; parsed: ParsedBlock | undefined} | undefined

function parseBlockText(text: string, file: string | undefined): ParsedBlock | undefined {
  const location = findBlock(text, file)
  if (!location) return undefined
  const lines = splitLines(text).slice(location.beginLine, location.endLine - 1)
  const parts: BlockPart[] = []
  const foreign: ForeignLines[] = []
  let part: BlockPart = {origin: undefined, entries: []}
  let entry: {alias: string; lines: string[]; freshness?: string} | undefined
  let outside: ForeignLines | undefined
  let pending: Line[] = []
  const closeEntry = () => {
    if (entry) {
      const fresh = entry.freshness === undefined ? undefined : readFreshness(entry.freshness)
      part.entries.push({alias: entry.alias, lines: entry.lines, ...(fresh ? {freshness: entry.freshness} : {}), environment: {...readEntry(entry.alias, entry.lines), ...fresh}})
    }
    entry = undefined
  }
  const closePart = () => {
    closeEntry()
    if (part.origin === undefined && part.entries.length === 0) return
    // Two sections for one origin (a hand-merged block, two blocks joined): one part, in order, the first
    // copy of an alias kept (the one ssh reads). Kept apart, the later section would replace the earlier one
    // wherever parts are looked up by origin, and its aliases would be lost.
    const same = parts.find((p) => p.origin === part.origin)
    if (!same) {
      parts.push(part)
      return
    }
    const have = new Set(same.entries.map((e) => e.alias))
    same.entries.push(...part.entries.filter((e) => !have.has(e.alias)))
  }
  for (const line of lines) {
    const trimmed = line.content.trim()
    const origin = ORIGIN_LINE.exec(trimmed)
    if (origin) {
      closePart()
      part = {origin: normalOrigin(origin[1]!), entries: []}
      outside = undefined
      pending = []
      continue
    }
    if (isSectionStart(line.content)) {
      const alias = onaEntryAlias(line.content)
      closeEntry()
      if (alias) {
        // The last comment just above the Host line, when it is a freshness line, is this entry's.
        const above = pending.filter((l) => l.content.trim() !== '').at(-1)?.content
        entry = {alias, lines: [line.content], ...(above !== undefined && readFreshness(above) ? {freshness: above} : {})}
        outside = undefined
      } else {
        outside = {line: (pending[0] ?? line).index + 1, lines: [...pending.map((l) => l.content), line.content], header: trimmed}
        foreign.push(outside)
      }
      pending = []
      continue
    }
    const blank = trimmed === '' || trimmed.startsWith('#')
    if (outside) outside.lines.push(line.content)
    else if (blank) pending.push(line)
    else if (entry) {
      entry.lines.push(...pending.map((l) => l.content), line.content)
      pending = []
    } else {
      // A directive before any Host of the block: in the scope of whatever is above the block.
      outside = {line: (pending[0] ?? line).index + 1, lines: [...pending.map((l) => l.content), line.content], header: trimmed}
      foreign.push(outside)
      pending = []
    }
  }
  closePart()
  return {location, parts, foreign}
}

/** The block's lines for these parts: legacy part first (no origin line), then by origin. */
export function renderParts(parts: readonly BlockPart[]): string[] {
  const sorted = [...parts].sort((a, b) => (a.origin === b.origin ? 0 : a.origin === undefined ? -1 : b.origin === undefined ? 1 : a.origin < b.origin ? -1 : 1))
  const lines = [BEGIN_MARKER]
  for (const part of sorted) {
    if (part.origin !== undefined) lines.push(originLine(part.origin))
    for (const entry of part.entries) lines.push(...entryLines(entry))
  }
  lines.push(END_MARKER)
  return lines
}

/** Entries for environments, in the order given; renderBlockLines is their lines between the markers. */
export function renderEntries(environments: readonly ValidEnvironment[], entry: EntryOptions = {}): BlockEntry[] {
  return environments.map((env) => {
    const lines = [
      `Host ${env.environmentAlias} ${env.remoteAlias}${env.friendlyAlias === undefined ? '' : ` ${env.friendlyAlias}`}`,
      `  HostName ${env.host}`,
      `  User ${env.user}`,
      `  Port ${env.port}`,
      // Host keys are recorded under a stable name, so a new IP after a restart is not a changed host key.
      `  HostKeyAlias ${env.environmentAlias}`,
      ...renderEntryOptions(env, entry).map((line) => `  ${line}`),
    ]
    const freshness = freshnessLine(env)
    const fresh = freshness === undefined ? undefined : readFreshness(freshness)
    return {alias: env.environmentAlias, lines, ...(freshness === undefined ? {} : {freshness}), environment: {...readEntry(env.environmentAlias, lines), ...fresh}}
  })
}

/**
 * Replaces the existing block (which must exist) by `blockLines`, with `above` (lines taken out of the block)
 * placed just above it. Bytes outside the block are unchanged.
 */
export function replaceBlock(text: string, location: BlockLocation, blockLines: readonly string[], above: readonly string[]): string {
  const eol = detectEol(text)
  const body = [...above, ...blockLines].join(eol) + (location.atEofWithoutNewline ? '' : eol)
  return text.slice(0, location.start) + body + text.slice(location.end)
}

/**
 * The API origin an entry names in its resolve-on-connect ProxyCommand (`... --api-url <url> ...`), the only
 * trace of its install a block written before installs had parts carries; undefined without one.
 */
export function entryProxyOrigin(entry: BlockEntry): string | undefined {
  for (const line of entry.lines.slice(1)) {
    const directive = parseDirective(line)
    if (directive?.keyword !== 'proxycommand') continue
    const at = directive.args.indexOf('--api-url')
    const url = at === -1 ? undefined : directive.args[at + 1]
    return url === undefined ? undefined : urlOrigin(url.replace(/^"|"$/g, ''))
  }
  return undefined
}
