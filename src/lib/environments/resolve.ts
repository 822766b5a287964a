/**
 * What the user typed, turned into one environment: a full id, an alias (`<id>.gitpod.environment`), a
 * unique id prefix, the environment's name (`metadata.name`, not unique), or its friendly alias
 * (`<name>.ona`, as `ona ssh-sync --friendly-aliases` writes it). Pure.
 */
import type {Environment} from '../api/types.js'
import {OnaError} from '../errors.js'
import {printable} from '../printable.js'
import {FRIENDLY_SUFFIX, friendlyAliasOf} from '../ssh-config/friendly.js'

const SUFFIXES = ['.gitpod.environment', '.gitpod.remote']
/** A prefix shorter than this is too likely to match by accident ("0" matches every UUIDv7 of a year). */
export const MIN_PREFIX = 4

export function describeEnvironment(env: Environment): string {
  return `${printable(env.id)}${env.name ? ` (${printable(env.name, 80)})` : ''}, ${printable(shortPhase(env.phase))}`
}

/**
 * How one environment is named in progress lines and errors: its name and enough of its id to tell it apart
 * and to type it (`ona ssh 0199ec15-59d3`): ids are UUIDv7, whose first 8 characters (a timestamp) most of a
 * user's environments share, so the first two groups are shown, or more when `others` share those too.
 */
export function environmentLabel(env: Environment, others: readonly Environment[] = []): string {
  const id = env.id.toLowerCase()
  let short = id
  for (const length of [13, 18, 23]) {
    const candidate = id.slice(0, length)
    if (id.length > length && !others.some((o) => o.id.toLowerCase() !== id && o.id.toLowerCase().startsWith(candidate))) {
      short = candidate
      break
    }
  }
  return env.name ? `${printable(env.name, 80)} (${printable(short)})` : printable(short)
}

export function shortPhase(phase: string): string {
  return phase.replace(/^ENVIRONMENT_PHASE_/, '').toLowerCase()
}

/**
 * Finds the one environment `input` names. An exact id wins; otherwise every environment whose name is
 * `input` and every one whose id starts with it are candidates: one is the answer, several are an error
 * listing them, none is not found.
 */
export function resolveEnvironment(environments: readonly Environment[], input: string): Environment {
  const text = input.trim()
  if (text === '') throw new OnaError('ERR_USAGE', 'no environment given', {hint: 'Give an environment id, a unique id prefix or a name.'})
  let key = text.toLowerCase()
  for (const suffix of SUFFIXES) if (key.endsWith(suffix)) key = key.slice(0, -suffix.length)
  const exact = environments.find((e) => e.id.toLowerCase() === key)
  if (exact) return exact
  const byName = environments.filter((e) => e.name === text)
  let candidates = byName.length > 0 ? byName : environments.filter((e) => e.name?.toLowerCase() === text.toLowerCase())
  // `api-backend.ona`, copied from the SSH config or VS Code's host list: the environments whose name gives it.
  if (candidates.length === 0 && key.endsWith(FRIENDLY_SUFFIX)) candidates = environments.filter((e) => friendlyAliasOf(e.name) === key)
  if (key.length >= MIN_PREFIX) {
    for (const e of environments) if (e.id.toLowerCase().startsWith(key) && !candidates.includes(e)) candidates.push(e)
  }
  if (candidates.length === 1) return candidates[0]!
  if (candidates.length > 1) {
    // One line: the error sink prints messages as one printable line (newlines escaped).
    throw new OnaError('ERR_ENVIRONMENT_AMBIGUOUS', `"${text}" matches ${candidates.length} environments: ${candidates.map((e) => describeEnvironment(e)).join('; ')}`, {
      details: {input: text, candidates: candidates.map((e) => e.id)},
    })
  }
  const short = key.length < MIN_PREFIX && environments.some((e) => e.id.toLowerCase().startsWith(key))
  throw new OnaError('ERR_ENVIRONMENT_NOT_FOUND', `no environment of yours has the id or name "${text}"`, {
    ...(short ? {hint: `Give at least ${MIN_PREFIX} characters of the id, or the name; \`ona environment list\` shows them.`} : {}),
    details: {input: text},
  })
}
