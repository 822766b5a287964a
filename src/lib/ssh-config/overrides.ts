/**
 * Finds the user's lines that win over the block's values. OpenSSH takes the first value it obtains, so a
 * global line, a `Host *` or a `Host *.gitpod.remote` above the block silently points an alias elsewhere.
 * Such lines are reported as warnings naming the line (the tool does not rewrite the user's lines), and so are
 * user Host entries that claim one of the aliases. Lines after the block only add keys the block does not set.
 */
import type {Warning} from '../errors.js'
import {parseDirective, splitLines} from './scan.js'
import type {ValidEnvironment} from './validate.js'

/** The keys the block sets: a value for any of them above the block overrides ours. */
const MANAGED_KEYS = new Map([
  ['hostname', 'HostName'],
  ['user', 'User'],
  ['port', 'Port'],
  ['hostkeyalias', 'HostKeyAlias'],
])

type Tri = 'yes' | 'no' | 'maybe'

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

interface Section {
  kind: 'global' | 'host' | 'match'
  line: number
  text: string
  args: string[]
}

/**
 * Returns warnings for the user's lines (outside the block) that override a managed value of some alias, and
 * for user Host entries naming an alias exactly. `blockStart` is the byte offset where the block begins (or
 * will be inserted); only lines before it can win over the block.
 */
export function findOverrides(text: string, blockStart: number, blockEnd: number, environments: readonly ValidEnvironment[], file?: string): Warning[] {
  const warnings: Warning[] = []
  if (environments.length === 0) return warnings
  const aliases = environments.flatMap((env) => [env.environmentAlias, env.remoteAlias])
  const aliasSet = new Set(aliases)
  const byAlias = new Map(environments.flatMap((env) => [[env.environmentAlias, env], [env.remoteAlias, env]] as const))
  let section: Section = {kind: 'global', line: 0, text: '', args: []}
  let sectionHits: string[] | undefined
  let sectionCertainty: Tri = 'yes'

  const hitsFor = (s: Section): {hits: string[]; certainty: Tri} => {
    if (s.kind === 'global') return {hits: aliases, certainty: 'yes'}
    if (s.kind === 'host') {
      const wildcard = s.args.some((p) => /[*?!]/.test(p))
      if (!wildcard) return {hits: s.args.filter((p) => aliasSet.has(p)), certainty: 'yes'}
      return {hits: aliases.filter((a) => hostPatternsMatch(a, s.args)), certainty: 'yes'}
    }
    const results = aliases.map((a) => [a, matchCriteriaApply(s.args, a)] as const).filter(([, r]) => r !== 'no')
    return {hits: results.map(([a]) => a), certainty: results.some(([, r]) => r === 'maybe') ? 'maybe' : 'yes'}
  }

  for (const line of splitLines(text)) {
    if (line.start >= blockStart && line.start < blockEnd) continue
    const directive = parseDirective(line.content)
    if (!directive) continue
    const lineNo = line.index + 1
    if (directive.keyword === 'host' || directive.keyword === 'match') {
      section = {kind: directive.keyword, line: lineNo, text: line.content.trim(), args: directive.args}
      sectionHits = undefined
      if (directive.keyword === 'host') {
        const claimed = directive.args.filter((p) => aliasSet.has(p))
        if (claimed.length > 0) {
          warnings.push({
            code: 'W_ALIAS_CLAIMED',
            message: `line ${lineNo} \`${line.content.trim()}\` is your own entry for ${claimed.join(', ')}; ` +
              (line.start < blockStart ? 'its values win over the managed block' : 'it adds to the managed block'),
            file,
            line: lineNo,
          })
        }
      }
      continue
    }
    if (line.start >= blockStart) continue
    const key = MANAGED_KEYS.get(directive.keyword)
    if (!key) continue
    if (!sectionHits) {
      const {hits, certainty} = hitsFor(section)
      sectionHits = hits
      sectionCertainty = certainty
    }
    if (sectionHits.length === 0) continue
    // A user's own exact-alias Host entry was already reported above.
    if (section.kind === 'host' && section.args.every((p) => aliasSet.has(p))) continue
    const value = directive.args[0] ?? ''
    const differing = sectionHits.filter((alias) => managedValue(byAlias.get(alias)!, directive.keyword) !== value)
    if (differing.length === 0) continue
    const scope = section.kind === 'global' ? 'a global line (before any Host or Match)' : `under \`${section.text}\` (line ${section.line})`
    const who = differing.length === aliases.length ? 'every ona alias' : differing.length === 1 ? differing[0] : `${differing.length} ona aliases`
    warnings.push({
      code: 'W_OVERRIDE',
      message: `line ${lineNo} \`${line.content.trim()}\`, ${scope}, ${sectionCertainty === 'maybe' ? 'may override' : 'overrides'} the managed ${key} of ${who}: it comes before the ona block and OpenSSH uses the first value; move the block above it or limit that section`,
      file,
      line: lineNo,
    })
  }
  return warnings
}
