/**
 * Friendly aliases (`ona ssh-sync --friendly-aliases`, saved per API origin): each entry's Host line also
 * names `<name>.ona`, the environment's display name slugged, so VS Code's host list and `ssh <TAB>` show
 * names. The name is API input: the slug is strictly `[a-z0-9-]` (a DNS label: no leading or trailing dash,
 * at most 63 characters) plus `.ona`, so nothing of the name but those characters reaches the config.
 *
 * An alias is written only when it names one environment: two environments of the install whose names slug
 * to the same get none (a collision, reported), and neither does a name whose alias another install's part
 * of the block already holds. The alias lives on the entry's own Host line
 * (`Host <id>.gitpod.environment <id>.gitpod.remote <name>.ona`), so it shares every option of the entry:
 * the address the ProxyCommand updates, the HostKeyAlias, and the ProxyCommand itself, which names the
 * environment by id whichever alias ssh was given.
 *
 * Nor is a name the user's own config gives a Host of its own (`Host mybox.ona` outside the block, or in
 * any file of the tree ssh reads): ssh reads the block first where it sits at the top, so the alias would
 * take the user's host over.
 */
import {parseDirective, splitLines} from './scan.js'

export const FRIENDLY_SUFFIX = '.ona'

/** A friendly alias as ona writes it (and as a reader of the block accepts it on an entry's Host line). */
export const FRIENDLY_ALIAS = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.ona$/

/** The slug of a display name (`API Backend (v2)` -> `api-backend-v2`); undefined when nothing is left. */
export function slugName(name: string): string | undefined {
  const slug = name
    .normalize('NFKD')
    .replace(/\p{M}/gu, '')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 63)
    .replace(/-+$/, '')
  return slug === '' ? undefined : slug
}

/** The friendly alias of a display name, or undefined when it has none. */
export function friendlyAliasOf(name: string | undefined): string | undefined {
  const slug = name === undefined ? undefined : slugName(name)
  return slug === undefined ? undefined : `${slug}${FRIENDLY_SUFFIX}`
}

/** Environments whose names give one alias: none of them gets it. */
export interface FriendlyCollision {
  alias: string
  /** The environment ids that would have it (with `holder`: the ones of this install). */
  environments: string[]
  /** Another install whose part of the block already holds the alias. */
  holder?: string
  /** The user's own Host line (outside the block) that names the alias. */
  userHost?: UserHost
}

/** A literal name on one of the user's own Host lines. */
export interface UserHost {
  file?: string
  /** 1-based. */
  line: number
  /** The Host line as written (trimmed). */
  text: string
}

/** The names a Host line's patterns give literally: no wildcard (`*`, `?`), no negation. */
export function literalHostNames(patterns: readonly string[]): string[] {
  return patterns.filter((p) => !/[*?]/.test(p) && !p.startsWith('!'))
}

/**
 * The literal names the Host lines of `text` define outside `skip` (the block, as character offsets), each
 * with its first line. As written: OpenSSH matches Host patterns with case (ssh-config-notes.md), so only a
 * lowercase name can be a friendly alias. A pattern with a wildcard (`*`, `?`) or a negation names no host of
 * its own and is not one.
 */
export function userHostNames(text: string, skip?: {start: number; end: number}, file?: string): Map<string, UserHost> {
  const names = new Map<string, UserHost>()
  for (const line of splitLines(text)) {
    if (skip && line.start >= skip.start && line.start < skip.end) continue
    const directive = parseDirective(line.content)
    if (directive?.keyword !== 'host') continue
    for (const arg of literalHostNames(directive.args)) {
      if (!names.has(arg)) names.set(arg, {...(file === undefined ? {} : {file}), line: line.index + 1, text: line.content.trim()})
    }
  }
  return names
}

/**
 * The friendly alias of each of `environments` (by lowercase id): its name's, when no other environment
 * known to this install (`known`: id -> name, e.g. the whole listing, stopped ones included) has a name
 * giving the same, no other install holds it (`taken`: alias -> origin), and no Host line of the user's
 * names it (`userHosts`, userHostNames). Collisions are returned once per alias, with the ids involved, sorted.
 */
export function assignFriendlyAliases(
  environments: ReadonlyArray<{id: string; name?: string}>,
  known: ReadonlyMap<string, string> = new Map(),
  taken: ReadonlyMap<string, string> = new Map(),
  userHosts: ReadonlyMap<string, UserHost> = new Map(),
): {aliases: Map<string, string>; collisions: FriendlyCollision[]} {
  const names = new Map<string, string>()
  for (const [id, name] of known) names.set(id.toLowerCase(), name)
  for (const env of environments) if (env.name !== undefined && !names.has(env.id.toLowerCase())) names.set(env.id.toLowerCase(), env.name)
  const byAlias = new Map<string, string[]>()
  for (const [id, name] of names) {
    const alias = friendlyAliasOf(name)
    if (alias !== undefined) byAlias.set(alias, [...(byAlias.get(alias) ?? []), id])
  }
  const aliases = new Map<string, string>()
  const collisions = new Map<string, FriendlyCollision>()
  for (const env of environments) {
    const id = env.id.toLowerCase()
    const alias = friendlyAliasOf(names.get(id))
    if (alias === undefined) continue
    const holders = byAlias.get(alias)!
    const holder = taken.get(alias)
    const userHost = userHosts.get(alias)
    if (holders.length === 1 && holder === undefined && userHost === undefined) aliases.set(id, alias)
    else if (!collisions.has(alias)) collisions.set(alias, {alias, environments: [...holders].sort(), ...(holder === undefined ? {} : {holder}), ...(userHost === undefined ? {} : {userHost})})
  }
  return {aliases, collisions: [...collisions.values()].sort((a, b) => (a.alias < b.alias ? -1 : 1))}
}
