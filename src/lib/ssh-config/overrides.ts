/**
 * Finds the user's lines that win over the block's values. OpenSSH takes the first value it obtains, so a
 * global line, a `Host *` or a `Host *.gitpod.remote` above the block silently points an alias elsewhere.
 * Such lines are reported as warnings naming the line (the tool does not rewrite the user's lines), and so are
 * user Host entries that claim one of the aliases. Lines after the block only add keys the block does not set.
 */
import type {Warning} from '../errors.js'
import {splitLines} from './scan.js'
import {linesOfText, type Section, type TreeLine} from './tree.js'
import {aliasesOf, type ValidEnvironment} from './validate.js'

/** The keys the block sets: a value for any of them above the block overrides ours. */
const MANAGED_KEYS = new Map([
  ['hostname', 'HostName'],
  ['user', 'User'],
  ['port', 'Port'],
  ['hostkeyalias', 'HostKeyAlias'],
])

export type Tri = 'yes' | 'no' | 'maybe'

/** OpenSSH's match_pattern: `*` and `?` wildcards over the whole string. */
export function matchPattern(value: string, pattern: string, caseInsensitive = false): boolean {
  const v = caseInsensitive ? value.toLowerCase() : value
  const p = caseInsensitive ? pattern.toLowerCase() : pattern
  // Iterative wildcard matching with backtracking to the last '*'.
  let vi = 0
  let pi = 0
  let star = -1
  let mark = 0
  while (vi < v.length) {
    if (pi < p.length && (p[pi] === '?' || p[pi] === v[vi])) {
      vi++
      pi++
    } else if (pi < p.length && p[pi] === '*') {
      star = pi++
      mark = vi
    } else if (star !== -1) {
      pi = star + 1
      vi = ++mark
    } else {
      return false
    }
  }
  while (pi < p.length && p[pi] === '*') pi++
  return pi === p.length
}

/** OpenSSH's Host line rule: any negated pattern that matches wins (no match); otherwise any positive match. */
export function hostPatternsMatch(host: string, patterns: readonly string[]): boolean {
  let matched = false
  for (const pattern of patterns) {
    if (pattern.startsWith('!')) {
      if (matchPattern(host, pattern.slice(1))) return false
    } else if (matchPattern(host, pattern)) {
      matched = true
    }
  }
  return matched
}

/** match_pattern_list as used by `Match host`: comma-separated, case-insensitive, negation allowed. */
function patternListMatches(host: string, list: string): boolean {
  let matched = false
  for (const raw of list.split(',')) {
    const negated = raw.startsWith('!')
    const pattern = negated ? raw.slice(1) : raw
    if (matchPattern(host, pattern, true)) {
      if (negated) return false
      matched = true
    }
  }
  return matched
}

/** Evaluates a Match line for an alias as far as it can be known without running anything. */
export function matchCriteriaApply(args: readonly string[], alias: string): Tri {
  let result: Tri = 'yes'
  for (let i = 0; i < args.length; i++) {
    const raw = args[i]!
    const negated = raw.startsWith('!')
    const criterion = (negated ? raw.slice(1) : raw).toLowerCase()
    let value: Tri
    if (criterion === 'all') {
      value = 'yes'
    } else if (criterion === 'canonical' || criterion === 'final') {
      value = 'maybe'
    } else if (criterion === 'host' || criterion === 'originalhost') {
      const list = args[++i]
      if (list === undefined) return 'maybe'
      value = patternListMatches(alias, list) ? 'yes' : 'no'
    } else {
      // exec, user, localuser, localnetwork, tagged, ...: depend on the moment ssh runs.
      i++
      value = 'maybe'
    }
    if (negated) value = value === 'yes' ? 'no' : value === 'no' ? 'yes' : 'maybe'
    if (value === 'no') return 'no'
    if (value === 'maybe') result = 'maybe'
  }
  return result
}

function managedValue(env: ValidEnvironment, keyword: string): string {
  if (keyword === 'hostname') return env.host
  if (keyword === 'user') return env.user
  if (keyword === 'port') return String(env.port)
  return env.environmentAlias
}

/** Whether a section applies to an alias: Host patterns, or Match criteria as far as they can be known. */
export function sectionApplies(section: Section, alias: string): Tri {
  if (section.kind === 'host') return hostPatternsMatch(alias, section.args) ? 'yes' : 'no'
  return matchCriteriaApply(section.args, alias)
}

/** A line applies where every section of its scope applies (an included file inherits the Include's). */
export function scopeApplies(scope: readonly Section[], alias: string): Tri {
  let result: Tri = 'yes'
  for (const section of scope) {
    const value = sectionApplies(section, alias)
    if (value === 'no') return 'no'
    if (value === 'maybe') result = 'maybe'
  }
  return result
}

/**
 * Returns warnings for the user's lines that override a managed value of some alias, and for user Host
 * entries naming an alias exactly, given the lines in the order ssh reads them (one file, or the whole
 * tree): `blockFrom`..`blockTo` (indices into `lines`) is the block; only lines before it can win over it.
 * `managedFile` is the file holding the block, for the advice given.
 */
export function findOverridesInLines(
  lines: readonly TreeLine[],
  blockFrom: number,
  blockTo: number,
  environments: readonly ValidEnvironment[],
  managedFile?: string,
): Warning[] {
  const warnings: Warning[] = []
  if (environments.length === 0) return warnings
  const aliases = environments.flatMap((env) => aliasesOf(env))
  const aliasSet = new Set(aliases)
  const byAlias = new Map(environments.flatMap((env) => aliasesOf(env).map((alias) => [alias, env] as const)))
  // Lines of one section share their scope object: evaluate it once.
  const cache = new Map<readonly Section[], {hits: string[]; certainty: Tri}>()
  const hitsFor = (scope: readonly Section[]) => {
    let hit = cache.get(scope)
    if (!hit) {
      const results = aliases.map((a) => [a, scopeApplies(scope, a)] as const).filter(([, r]) => r !== 'no')
      hit = {hits: results.map(([a]) => a), certainty: results.some(([, r]) => r === 'maybe') ? 'maybe' : 'yes'}
      cache.set(scope, hit)
    }
    return hit
  }
  for (const [i, line] of lines.entries()) {
    if (i >= blockFrom && i < blockTo) continue
    const directive = line.directive
    if (!directive) continue
    const before = i < blockFrom
    // A warning with a file is printed after its file:line: the location is named once, there.
    const where = line.file ? '' : `line ${line.line} `
    if (directive.keyword === 'host') {
      const claimed = directive.args.filter((p) => aliasSet.has(p))
      if (claimed.length > 0) {
        warnings.push({
          code: 'W_ALIAS_CLAIMED',
          message: `${where}\`${line.content.trim()}\` is your own entry for ${claimed.join(', ')}; ` +
            (before ? 'its values win over the managed block' : 'it adds to the managed block'),
          file: line.file,
          line: line.line,
        })
      }
      continue
    }
    if (!before || directive.keyword === 'match') continue
    const key = MANAGED_KEYS.get(directive.keyword)
    if (!key) continue
    const section = line.scope.at(-1)
    // A user's own exact-alias Host entry was already reported above.
    if (section?.kind === 'host' && section.args.every((p) => aliasSet.has(p))) continue
    const {hits, certainty} = hitsFor(line.scope)
    if (hits.length === 0) continue
    const value = directive.args[0] ?? ''
    const differing = hits.filter((alias) => managedValue(byAlias.get(alias)!, directive.keyword) !== value)
    if (differing.length === 0) continue
    const scope = !section
      ? 'a global line (before any Host or Match)'
      : `under \`${section.text}\` (${section.file === line.file ? `line ${section.line}` : `${section.file}:${section.line}`})`
    const who = differing.length === aliases.length ? `every ona alias (${differing.length})` : differing.length === 1 ? differing[0] : `${differing.length} ona aliases`
    const advice = line.file === managedFile || managedFile === undefined
      ? 'move the block above it or limit that section'
      : 'limit that section, or have ssh read the ona block first'
    warnings.push({
      code: 'W_OVERRIDE',
      message: `${where}\`${line.content.trim()}\`, ${scope}, ${certainty === 'maybe' ? 'may override' : 'overrides'} the managed ${key} of ${who}: it comes before the ona block and OpenSSH uses the first value; ${advice}`,
      file: line.file,
      line: line.line,
      option: key,
      aliases: differing,
    })
  }
  return warnings
}

/**
 * The single-file check applyBlock runs: returns warnings for the user's lines (outside the block) of `text`
 * that override a managed value. `blockStart`/`blockEnd` are byte offsets of the block in `text`.
 */
export function findOverrides(text: string, blockStart: number, blockEnd: number, environments: readonly ValidEnvironment[], file?: string): Warning[] {
  const name = file ?? ''
  // The block's own lines can never override it: they are blanked before scanning (same line numbers), so a
  // block of 10,000 entries costs no parsing here.
  const block = text.slice(blockStart, blockEnd)
  let blockLines = 0
  for (let i = block.indexOf('\n'); i !== -1; i = block.indexOf('\n', i + 1)) blockLines++
  if (block !== '' && !block.endsWith('\n')) blockLines++
  const lines = linesOfText(text.slice(0, blockStart) + '\n'.repeat(blockLines) + text.slice(blockEnd), name)
  let from = 0
  for (let i = text.indexOf('\n'); i !== -1 && i < blockStart; i = text.indexOf('\n', i + 1)) from++
  return findOverridesInLines(lines, from, from + blockLines, environments, name).map((w) => ({...w, file}))
}
