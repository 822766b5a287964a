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
 * The error for words oclif could not match to a command. `commandIds` are the visible ids with spaces
 * (`environment list`). A word is echoed only when it is close to a real command (a typo): anything else
 * could be a token pasted in the wrong place (`ona login <token>`), so it is never printed.
 */
export function commandNotFound(words: readonly string[], commandIds: readonly string[]): OnaError {
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
  const firstWords = [...new Set(commandIds.map((id) => id.split(' ')[0]!))]
  const guess = suggest(typed, commandIds) ?? (words[0] === undefined ? undefined : suggest(words[0], firstWords))
  if (guess) {
    return usageError(`unknown command "${printable(typed)}"; did you mean \`ona ${guess}\`?`, `Run \`ona ${guess} --help\`, or \`ona help\` for every command.`, {suggestion: guess})
  }
  return usageError('unknown command (not shown, as it could be a secret)', 'Run `ona help` for the list of commands.')
}
