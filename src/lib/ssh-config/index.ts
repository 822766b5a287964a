/**
 * The block engine: environments in, new SSH config text out. Pure and synchronous; the file layer
 * (`config-file.ts`) does the reading, checking and atomic writing.
 */
import {OnaError, type Warning} from '../errors.js'
import {findBlock, hasBom, parseBlock, removeBlock, renderBlockLines, renderEntries, renderParts, replaceBlock, sortByAlias, spliceBlock, type BlockPart, type ParsedBlock} from './block.js'
import {detectEol} from './scan.js'
import {validateEntryOptions, type EntryOptions} from './entry.js'
import {findOverrides} from './overrides.js'
import {validateEnvironments, type Rejection, type SshEnvironment, type ValidEnvironment} from './validate.js'

export {BEGIN_MARKER, END_MARKER, findBlock, parseBlock, renderBlockLines} from './block.js'
export {ENVIRONMENT_SUFFIX, REMOTE_SUFFIX, validateEnvironments} from './validate.js'
export type {Rejection, SshEnvironment, ValidEnvironment} from './validate.js'
export type {EntryOptions, ProxyCommandSpec} from './entry.js'

export interface BlockOptions {
  /** The file's name, for messages. */
  file?: string
  /**
   * The API origin (scheme, host and port) whose part of the block this is. Other origins' parts are kept
   * as they are. Undefined: the whole block is one owner's (as before installs had parts).
   */
  origin?: string
  /** IdentityFile / ProxyCommand lines of every entry written (entry.ts). */
  entry?: EntryOptions
  /** Report the file's own lines that win over the block (default true; off when the whole tree is checked). */
  overrides?: boolean
}

export interface ApplyResult {
  /** The whole new text of the file. */
  text: string
  changed: boolean
  /** The environments written into the block, sorted as in the block. */
  written: ValidEnvironment[]
  /** Environments left out because a value failed validation. */
  skipped: Rejection[]
  warnings: Warning[]
  /** The rendered lines of this origin's entries, between the markers (no line endings), for checks. */
  blockLines: string[]
}

/** Refuses text OpenSSH cannot read at all for a reason the tool can name (a BOM breaks the first line). */
export function assertEditable(text: string, file = 'the SSH config'): void {
  if (hasBom(text)) {
    throw new OnaError('ERR_SSH_CONFIG_BOM', `${file} starts with a byte-order mark, which OpenSSH rejects ("Bad configuration option" on line 1)`, {
      details: {file},
    })
  }
}

function foreignWarnings(parsed: ParsedBlock, file: string | undefined, blockGone = false): Warning[] {
  return parsed.foreign.map((f) => ({
    code: 'W_FOREIGN_MOVED',
    message: `line ${f.line} \`${f.header}\` was inside the ona block, which holds only what ona writes; ${blockGone ? 'it stays in the file where the block was' : 'it was moved just above the block'} (nothing was deleted)`,
    file,
    line: f.line,
  }))
}

/**
 * Renders the environments as the managed block (or, with an origin, as that origin's part of it) and
 * splices it into `text`. Bytes outside the block are unchanged; sections inside the block that ona did not
 * write are moved just above it with a warning; invalid environments are skipped with a warning naming them;
 * the user's lines that win over the block are reported as warnings. Throws OnaError for malformed markers or
 * a BOM (the text is then not used).
 */
export function applyBlock(text: string, environments: readonly SshEnvironment[], options: BlockOptions = {}): ApplyResult {
  assertEditable(text, options.file)
  const parsed = parseBlock(text, options.file)
  const others = parsed && options.origin !== undefined ? parsed.parts.filter((p) => p.origin !== undefined && p.origin !== options.origin) : []
  const taken = new Map(others.flatMap((p) => p.entries.map((e) => [e.alias, p.origin] as const)))
  const validated = validateEnvironments(environments)
  const rejected = [...validated.rejected]
  const mine: ValidEnvironment[] = []
  for (const env of validated.valid) {
    const owner = taken.get(env.environmentAlias)
    if (owner === undefined) mine.push(env)
    else rejected.push({id: env.id, reason: `its alias ${env.environmentAlias} is already in the block for ${owner}`})
  }
  const written = sortByAlias(mine)
  if (options.entry) validateEntryOptions(options.entry)
  const own: BlockPart = {origin: options.origin, entries: renderEntries(written, options.entry)}
  const ownLines = own.entries.flatMap((e) => e.lines)
  const warnings: Warning[] = rejected.map((r) => ({
    code: 'W_SKIPPED',
    message: `environment ${JSON.stringify(r.id)} was skipped: ${r.reason}`,
    file: options.file,
  }))
  let next: string
  if (!parsed) {
    next = spliceBlock(text, options.origin === undefined ? renderBlockLines(written, options.entry) : renderParts(own.entries.length > 0 ? [own] : []), options.file)
  } else {
    const parts = own.entries.length > 0 || options.origin === undefined ? [...others, own] : others
    next = replaceBlock(text, parsed.location, renderParts(parts), parsed.foreign.flatMap((f) => f.lines))
    warnings.push(...foreignWarnings(parsed, options.file))
  }
  const location = findBlock(next, options.file)!
  if (options.overrides !== false) warnings.push(...findOverrides(next, location.start, location.end, written, options.file))
  return {text: next, changed: next !== text, written, skipped: rejected, warnings, blockLines: ownLines}
}

/**
 * Takes the block out (the exact inverse of the first insertion), or with an origin only that origin's part
 * (and the entries written before installs had parts); the block goes when no part is left. Sections inside
 * the block that ona did not write are moved just above it, never deleted.
 */
export function removeManagedBlock(text: string, options: BlockOptions = {}): {text: string; changed: boolean; warnings: Warning[]} {
  const parsed = parseBlock(text, options.file)
  if (!parsed) return {text, changed: false, warnings: []}
  const remaining = options.origin === undefined ? [] : parsed.parts.filter((p) => p.origin !== undefined && p.origin !== options.origin)
  const above = parsed.foreign.flatMap((f) => f.lines)
  let next: string
  if (remaining.length > 0) next = replaceBlock(text, parsed.location, renderParts(remaining), above)
  else if (above.length === 0) next = removeBlock(text, options.file)
  else {
    const eol = detectEol(text)
    next = text.slice(0, parsed.location.start) + above.join(eol) + (parsed.location.atEofWithoutNewline ? '' : eol) + text.slice(parsed.location.end)
  }
  return {text: next, changed: next !== text, warnings: foreignWarnings(parsed, options.file, remaining.length === 0)}
}

/**
 * Reads the environments currently in the block (for "added/updated/removed" reports and for keeping a
 * starting environment's last address): only ona's own Host entries, never a section the user wrote inside
 * the block. With an origin, that origin's part and the entries written before installs had parts.
 */
export function readBlockEnvironments(text: string, options: BlockOptions = {}): SshEnvironment[] {
  const parsed = parseBlock(text, options.file)
  if (!parsed) return []
  return parsed.parts
    .filter((p) => options.origin === undefined || p.origin === undefined || p.origin === options.origin)
    .flatMap((p) => p.entries.map((e) => ({...e.environment})))
}
