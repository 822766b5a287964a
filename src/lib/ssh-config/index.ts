/**
 * The block engine: environments in, new SSH config text out. Pure and synchronous; the file layer
 * (`config-file.ts`) does the reading, checking and atomic writing.
 */
import {OnaError, type Warning} from '../errors.js'
import {entryLines, entryProxyOrigin, findBlock, hasBom, parseBlock, removeBlock, renderBlockLines, renderEntries, renderParts, replaceBlock, sortByAlias, spliceBlock, type BlockEntry, type BlockPart, type ParsedBlock} from './block.js'
import {detectEol} from './scan.js'
import {validateEntryOptions, type EntryOptions} from './entry.js'
import {assignFriendlyAliases, userHostNames, type FriendlyCollision, type UserHost} from './friendly.js'
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
  /**
   * The environment ids this origin lists now (any phase). Entries of a block written before installs had
   * parts are claimed by the origin that lists them; see splitLegacy.
   */
  listed?: ReadonlySet<string>
  /** IdentityFile / ProxyCommand lines of every entry written (entry.ts). */
  entry?: EntryOptions
  /** Report the file's own lines that win over the block (default true; off when the whole tree is checked). */
  overrides?: boolean
  /**
   * With friendly aliases (entry.friendlyAliases): the names of every environment of this origin the writer
   * knows (lowercase id -> name, any phase), so that an alias is written only when it names one of them.
   */
  names?: ReadonlyMap<string, string>
  /**
   * With friendly aliases: literal Host names the user's config defines elsewhere in the tree ssh reads
   * (userHostNames); the managed file's own lines outside the block are always read from `text`.
   */
  userHosts?: ReadonlyMap<string, UserHost>
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
  /** Aliases of the pre-origin part that no install has claimed yet (kept in the block, unowned). */
  unclaimed: string[]
}

/** Who the entries of the legacy part (written before installs had parts) belong to, seen from one origin. */
export interface LegacySplit {
  /** This origin's: it lists their environment, or their ProxyCommand names it, or it writes their alias now. */
  claimed: BlockEntry[]
  /** Another origin's, by the `--api-url` of their ProxyCommand: they move into that origin's part. */
  byOrigin: Map<string, BlockEntry[]>
  /** Nobody's yet: they stay in the legacy part, which ssh reads like any other, until an install claims them. */
  unclaimed: BlockEntry[]
}

/**
 * Splits the legacy part for `origin`. The old block carried no owner, so an entry is attributed only on
 * evidence: the origin that lists its environment (ids are unique across installs), the origin its
 * resolve-on-connect ProxyCommand names, or an alias this origin is about to write. Anything else is left
 * where it is rather than given to whoever syncs first: it may be another install's that has not synced
 * since the upgrade (or a deleted environment's, which only `--remove --all` or a hand edit takes out).
 */
export function splitLegacy(parsed: ParsedBlock | undefined, origin: string, listed: ReadonlySet<string> = new Set(), writing: ReadonlySet<string> = new Set()): LegacySplit {
  const split: LegacySplit = {claimed: [], byOrigin: new Map(), unclaimed: []}
  // An alias an origin's part already holds is that origin's (a legacy copy of it would be a second Host).
  const holder = new Map((parsed?.parts ?? []).filter((p) => p.origin !== undefined).flatMap((p) => p.entries.map((e) => [e.alias, p.origin!] as const)))
  for (const entry of parsed?.parts.find((p) => p.origin === undefined)?.entries ?? []) {
    const owner = holder.get(entry.alias) ?? entryProxyOrigin(entry)
    if (listed.has(entry.environment.id.toLowerCase()) || writing.has(entry.alias) || owner === origin) split.claimed.push(entry)
    else if (owner !== undefined) split.byOrigin.set(owner, [...(split.byOrigin.get(owner) ?? []), entry])
    else split.unclaimed.push(entry)
  }
  return split
}

/**
 * The parts of the block other than `origin`'s own: the other origins' parts (with the legacy entries their
 * ProxyCommand attributes to them merged in, sorted by alias) and the legacy part with what is left unclaimed.
 */
function otherParts(parsed: ParsedBlock | undefined, origin: string, split: LegacySplit): BlockPart[] {
  const parts = new Map<string, BlockPart>()
  for (const part of parsed?.parts ?? []) {
    if (part.origin !== undefined && part.origin !== origin) parts.set(part.origin, {origin: part.origin, entries: [...part.entries]})
  }
  for (const [owner, entries] of split.byOrigin) {
    const part = parts.get(owner) ?? {origin: owner, entries: []}
    const have = new Set(part.entries.map((e) => e.alias))
    part.entries.push(...entries.filter((e) => !have.has(e.alias)))
    part.entries.sort((a, b) => (a.alias < b.alias ? -1 : a.alias > b.alias ? 1 : 0))
    parts.set(owner, part)
  }
  const result = [...parts.values()]
  if (split.unclaimed.length > 0) result.push({origin: undefined, entries: split.unclaimed})
  return result
}

function unclaimedWarning(unclaimed: readonly string[], file: string | undefined): Warning[] {
  if (unclaimed.length === 0) return []
  const shown = unclaimed.length > 5 ? `${unclaimed.slice(0, 5).join(', ')} and ${unclaimed.length - 5} more` : unclaimed.join(', ')
  return [{
    code: 'W_UNCLAIMED',
    message: `${unclaimed.length === 1 ? '1 alias' : `${unclaimed.length} aliases`} in the block, written by an earlier ona before each install had its own part, ${unclaimed.length === 1 ? 'is' : 'are'} kept unowned (ssh still reads ${unclaimed.length === 1 ? 'it' : 'them'}): ${shown}; the install that lists ${unclaimed.length === 1 ? 'it' : 'them'} takes ${unclaimed.length === 1 ? 'it' : 'them'} over at its next sync, and an alias of a deleted environment stays until \`ona ssh-sync --remove --all\` or until you delete its Host entry by hand`,
    file,
    aliases: [...unclaimed],
  }]
}

/**
 * One warning for every friendly alias that is not written (grouped: a line for people), each collision
 * kept in `collisions` (for --json).
 */
function collisionWarning(collisions: readonly FriendlyCollision[], file: string | undefined): Warning[] {
  if (collisions.length === 0) return []
  const count = collisions.reduce((n, c) => n + c.environments.length, 0)
  const shown = collisions.slice(0, 5).map((c) =>
    c.userHost !== undefined
      ? `${c.alias} (your own \`${c.userHost.text}\` at ${c.userHost.file ?? file ?? 'line'}${c.userHost.file ?? file ? ':' : ' '}${c.userHost.line} names it)`
      : c.holder === undefined
        ? `${c.alias} (${c.environments.length} environments: ${c.environments.join(', ')})`
        : `${c.alias} (already in the block for ${c.holder})`)
  const more = collisions.length > 5 ? ` and ${collisions.length - 5} more` : ''
  return [{
    code: 'W_FRIENDLY_ALIAS',
    message: `no friendly alias for ${count === 1 ? '1 environment' : `${count} environments`} whose name${count === 1 ? ' gives an alias' : 's give aliases'} that would not be unique: ${shown.join('; ')}${more}; ${count === 1 ? 'it keeps its <id>.gitpod.environment alias' : 'they keep their <id>.gitpod.environment aliases'} (rename an environment to give it its own)`,
    file,
    collisions: collisions.map((c) => ({alias: c.alias, environments: [...c.environments], ...(c.holder === undefined ? {} : {holder: c.holder}), ...(c.userHost === undefined ? {} : {userHost: {...c.userHost}})})),
  }]
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
  const validated = validateEnvironments(environments)
  const split = options.origin === undefined ? undefined : splitLegacy(parsed, options.origin, options.listed, new Set(validated.valid.map((e) => e.environmentAlias)))
  const others = options.origin === undefined || !split ? [] : otherParts(parsed, options.origin, split)
  const taken = new Map(others.filter((p) => p.origin !== undefined).flatMap((p) => p.entries.map((e) => [e.alias, p.origin] as const)))
  const rejected = [...validated.rejected]
  const mine: ValidEnvironment[] = []
  for (const env of validated.valid) {
    const owner = taken.get(env.environmentAlias)
    if (owner === undefined) mine.push(env)
    else rejected.push({id: env.id, reason: `its alias ${env.environmentAlias} is already in the block for ${owner}`})
  }
  let friendlyCollisions: FriendlyCollision[] = []
  if (options.entry?.friendlyAliases) {
    // Another install's friendly alias is not this one's to write (ssh would read only the first).
    const held = new Map(others.flatMap((p) => p.entries.flatMap((e) => (e.environment.friendlyAlias === undefined ? [] : [[e.environment.friendlyAlias, p.origin ?? 'an earlier ona'] as const]))))
    // Nor is a name the user's own Host line outside the block gives (ssh reads the block first where it is
    // at the top: the alias would take the user's host over), here or anywhere ssh reads (userHosts).
    const userHosts = userHostNames(text, parsed?.location, options.file)
    for (const [name, host] of options.userHosts ?? []) if (!userHosts.has(name)) userHosts.set(name, host)
    const {aliases, collisions} = assignFriendlyAliases(mine, options.names, held, userHosts)
    for (const env of mine) {
      const alias = aliases.get(env.id.toLowerCase())
      if (alias !== undefined) env.friendlyAlias = alias
    }
    friendlyCollisions = collisions
  }
  const written = sortByAlias(mine)
  if (options.entry) validateEntryOptions(options.entry)
  const own: BlockPart = {origin: options.origin, entries: renderEntries(written, options.entry)}
  const ownLines = own.entries.flatMap(entryLines)
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
  const unclaimed = split?.unclaimed.map((e) => e.alias) ?? []
  const location = findBlock(next, options.file)!
  // The user's lines as the file is after this write (a first block above them moves them down).
  const after = friendlyCollisions.some((c) => c.userHost !== undefined && c.userHost.file === options.file) ? userHostNames(next, location, options.file) : undefined
  const collisions = friendlyCollisions.map((c) => (c.userHost?.file === options.file && after?.has(c.alias) ? {...c, userHost: after.get(c.alias)!} : c))
  warnings.push(...unclaimedWarning(unclaimed, options.file), ...collisionWarning(collisions, options.file))
  if (options.overrides !== false) warnings.push(...findOverrides(next, location.start, location.end, written, options.file))
  return {text: next, changed: next !== text, written, skipped: rejected, warnings, blockLines: ownLines, unclaimed}
}

/**
 * Takes the block out (the exact inverse of the first insertion), or with an origin only that origin's part
 * (and the legacy entries attributed to it, see splitLegacy; unclaimed ones stay); the block goes when no
 * part is left. Sections inside the block that ona did not write are moved just above it, never deleted.
 */
export function removeManagedBlock(text: string, options: BlockOptions = {}): {text: string; changed: boolean; warnings: Warning[]; unclaimed: string[]} {
  const parsed = parseBlock(text, options.file)
  if (!parsed) return {text, changed: false, warnings: [], unclaimed: []}
  const split = options.origin === undefined ? undefined : splitLegacy(parsed, options.origin, options.listed)
  const remaining = options.origin === undefined || !split ? [] : otherParts(parsed, options.origin, split)
  const above = parsed.foreign.flatMap((f) => f.lines)
  let next: string
  if (remaining.length > 0) next = replaceBlock(text, parsed.location, renderParts(remaining), above)
  else if (above.length === 0) next = removeBlock(text, options.file)
  else {
    const eol = detectEol(text)
    next = text.slice(0, parsed.location.start) + above.join(eol) + (parsed.location.atEofWithoutNewline ? '' : eol) + text.slice(parsed.location.end)
  }
  const unclaimed = split?.unclaimed.map((e) => e.alias) ?? []
  return {text: next, changed: next !== text, warnings: [...foreignWarnings(parsed, options.file, remaining.length === 0), ...unclaimedWarning(unclaimed, options.file)], unclaimed}
}

/**
 * Reads the environments currently in the block (for "added/updated/removed" reports and for keeping a
 * starting environment's last address): only ona's own Host entries, never a section the user wrote inside
 * the block. With an origin, that origin's part and the legacy entries it claims (splitLegacy, with
 * `listed`).
 */
export function readBlockEnvironments(text: string, options: BlockOptions = {}): SshEnvironment[] {
  const parsed = parseBlock(text, options.file)
  if (!parsed) return []
  if (options.origin === undefined) return parsed.parts.flatMap((p) => p.entries.map((e) => ({...e.environment})))
  const own = parsed.parts.filter((p) => p.origin === options.origin).flatMap((p) => p.entries)
  return [...own, ...splitLegacy(parsed, options.origin, options.listed).claimed].map((e) => ({...e.environment}))
}

