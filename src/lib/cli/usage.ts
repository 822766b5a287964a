/**
 * Usage errors in the house format (`error:` + `hint:`, exit 2, or `{"error": ...}` with --json) and the
 * small pure helpers they need: "did you mean" suggestions and a rule for which typed words may be
 * echoed back. Free of oclif: the launcher's hooks and BaseCommand both call it.
 */
import {OnaError} from '../errors.js'

/** Damerau-Levenshtein distance (adjacent swaps count as one edit: `ssh-snyc`). */
export function editDistance(a: string, b: string): number {
  const d: number[][] = Array.from({length: a.length + 1}, (_, i) => [i, ...Array<number>(b.length).fill(0)])
  for (let j = 1; j <= b.length; j++) d[0]![j] = j
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1
      let best = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost)
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) best = Math.min(best, d[i - 2]![j - 2]! + 1)
      d[i]![j] = best
    }
  }
  return d[a.length]![b.length]!
}

/**
 * The candidate closest to what was typed, if it is close enough to be a typo (at most a third of the
 * word, and at most 3 edits), or one that starts with it (`ssh` -> `ssh-sync` is left to the caller).
 */
export function suggest(typed: string, candidates: readonly string[]): string | undefined {
  const word = typed.toLowerCase()
  let best: {candidate: string; distance: number} | undefined
  for (const candidate of candidates) {
    const distance = editDistance(word, candidate.toLowerCase())
    if (best === undefined || distance < best.distance) best = {candidate, distance}
  }
  if (!best) return undefined
  const limit = Math.min(3, Math.max(1, Math.floor(best.candidate.length / 3)))
  return best.distance <= limit ? best.candidate : undefined
}

/** Control characters and escape sequences out, length capped: a word safe to print on a terminal. */
export function printable(text: string, max = 40): string {
  // eslint-disable-next-line no-control-regex
  const clean = text.replace(/[\u0000-\u001F\u007F-\u009F]/g, '')
  return clean.length > max ? `${clean.slice(0, max - 1)}…` : clean
}

/** A usage error (exit 2). */
export function usageError(message: string, hint: string, details?: Record<string, unknown>): OnaError {
  return new OnaError('ERR_USAGE', message, {hint, ...(details ? {details} : {})})
}

/** Writes an OnaError in the house format: JSON on stdout with --json, else `error:` / `hint:` on stderr. */
export function writeError(error: OnaError, out: {stdout: (text: string) => void; stderr: (text: string) => void}, json: boolean): void {
  if (json) out.stdout(`${JSON.stringify({error: error.toJSON()}, null, 2)}\n`)
  else out.stderr(`error: ${error.message}\nhint: ${error.hint}\n`)
}

/** Whether `--json` was asked for before any `--` (what oclif's jsonEnabled also checks). */
export function wantsJson(argv: readonly string[]): boolean {
  const end = argv.indexOf('--')
  return (end === -1 ? argv : argv.slice(0, end)).includes('--json')
}

const LOGIN_TOKEN_HINT =
  'Pass the token on standard input (`ona login --token-stdin < token.txt`) or at the hidden prompt of `ona login`; a token typed on the command line stays in your shell history.'

/**
 * Whether a word typed where a command was expected looks like a secret (a token pasted in the wrong
 * place) rather than a word: a known token prefix, a JWT, or a long run that mixes letter cases and digits
 * the way random strings do. Words, typos and ids (`deploy-everything`, `0199ec15-59d3`) are not.
 */
export function looksSecret(word: string): boolean {
  if (/^(ona_|gitpod_|ghp_|gho_|ghs_|github_pat_|glpat-|xox[abp]-|sk-|AKIA|eyJ)/i.test(word)) return true
  if (word.length >= 64) return true
  // Runs between separators: a random string has a long one that mixes classes.
  return word.split(/[-_.:/@+=]+/).some((run) => {
    if (run.length < 16) return false
    const classes = [/[a-z]/, /[A-Z]/, /\d/].filter((re) => re.test(run)).length
    return classes >= 2 || run.length >= 32
  })
}

/**
 * Words people type for a command ona spells another way, with what to run instead. A value without a
 * space is a command to suggest; `uninstall` has no one command, so its hint lists the steps.
 */
const SYNONYMS: Record<string, {command?: string; hint?: string}> = {
  sync: {command: 'ssh-sync'},
  watch: {command: 'ssh-sync --watch'},
  status: {command: 'service status'},
  logs: {command: 'service status', hint: '`ona service status` says where the watcher logs (`journalctl --user -u ona-watch` on Linux).'},
  log: {command: 'service status', hint: '`ona service status` says where the watcher logs (`journalctl --user -u ona-watch` on Linux).'},
  install: {command: 'service install'},
  start: {command: 'service install', hint: '`ona service install` runs the watcher at login; `ona ssh <env>` starts a stopped environment.'},
  stop: {command: 'service uninstall', hint: '`ona service uninstall` stops the watcher service; Ctrl-C stops `ona ssh-sync --watch`.'},
  list: {command: 'environment list'},
  ls: {command: 'environment list'},
  envs: {command: 'environment list'},
  environments: {command: 'environment list'},
  connect: {command: 'ssh'},
  signin: {command: 'login'},
  auth: {command: 'login'},
  signout: {command: 'logout'},
  logoff: {command: 'logout'},
  check: {command: 'preflight'},
  uninstall: {
    hint: 'ona has no uninstall command: run `ona ssh-sync --remove`, `ona service uninstall` (if installed) and `ona logout`, then `npm uninstall -g ona-ssh` (README: "Install, upgrade, uninstall").',
  },
  remove: {command: 'ssh-sync --remove'},
}

const NO_COMMAND_HINT = 'Put flags after a command, e.g. `ona whoami --json`; `ona help` lists the commands.'

/**
 * The error for words oclif could not match to a command. `commandIds` are the visible ids with spaces
 * (`environment list`). A typo of a command or a common synonym (`sync`, `status`) gets a suggestion; any
 * other word is echoed unless it looks like a secret (a token pasted in the wrong place, `ona <token>`).
 * Arguments after a real command are never echoed (`ona login <token>`).
 */
export function commandNotFound(words: readonly string[], commandIds: readonly string[]): OnaError {
  // Flags where a command belongs (`ona --json`, `ona --bogus`): no command was given.
  if (words.length > 0 && words[0]!.startsWith('-')) {
    const name = words[0]!.replace(/=.*$/s, '')
    const known = name === '--json' || name === '--help' || name === '--version'
    return usageError(known ? `no command given (${name} goes after one)` : 'no command given', NO_COMMAND_HINT, {})
  }
  // The longest run of words that is a command: the rest are arguments it does not take.
  for (let n = words.length - 1; n > 0; n--) {
    const id = words.slice(0, n).join(' ')
    if (!commandIds.includes(id)) continue
    const extra = words.length - n
    return usageError(
      `\`ona ${id}\` takes no argument${extra === 1 ? '' : 's'} (${extra} given; not shown, as it could be a secret)`,
      id === 'login' ? LOGIN_TOKEN_HINT : `See \`ona ${id} --help\`.`,
      {command: id, unexpectedArguments: extra},
    )
  }
  const typed = words.join(' ')
  const synonym = words.length === 1 ? SYNONYMS[words[0]!.toLowerCase()] : undefined
  if (synonym?.command) {
    const runIt = `Run \`ona ${synonym.command.split(' --')[0]} --help\`, or \`ona help\` for every command.`
    return usageError(`unknown command "${printable(typed)}"; did you mean \`ona ${synonym.command}\`?`, synonym.hint ?? runIt, {suggestion: synonym.command})
  }
  if (synonym?.hint) return usageError(`unknown command "${printable(typed)}"`, synonym.hint, {})
  const firstWords = [...new Set(commandIds.map((id) => id.split(' ')[0]!))]
  const secret = words.some(looksSecret)
  const guess = secret ? undefined : (suggest(typed, commandIds) ?? (words[0] === undefined ? undefined : suggest(words[0], firstWords)))
  if (guess) {
    return usageError(`unknown command "${printable(typed)}"; did you mean \`ona ${guess}\`?`, `Run \`ona ${guess} --help\`, or \`ona help\` for every command.`, {suggestion: guess})
  }
  if (secret || typed === '') return usageError('unknown command (not shown, as it could be a secret)', 'Run `ona help` for the list of commands.')
  return usageError(`unknown command "${printable(typed)}"`, 'Run `ona help` for the list of commands.')
}
