/**
 * `ona ssh-sync --ssh-option KEY=VALUE` (like Coder's `config-ssh -o`): options the user wants in every
 * entry ona writes (ForwardAgent, ServerAliveInterval, LocalForward, SetEnv...), saved per API origin in
 * settings.json and written by every writer of the block (ssh-sync, watch mode, the service, `ona ssh`;
 * the ProxyCommand only changes an entry's address and leaves its options as they are).
 *
 * Only keywords of an allow-list are taken: ona's own (HostName, Port, User, ProxyCommand, HostKeyAlias,
 * IdentityFile...) and anything that would change how an alias reaches its environment or checks its host
 * key are refused with a typed error naming the reason. Each value is checked as strictly as the API's:
 * plain tokens only (no quotes, no `#`, `%`, `$`, backslash or control character: nothing a reader of the
 * config could take for more than one value), with the keyword's own syntax (yes/no, a number in range, a
 * forward spec, `NAME=value`). What is saved is the canonical line (`ServerAliveInterval 30`), read back
 * through the same check.
 *
 * Saving: a single-valued keyword given again replaces its value; LocalForward, RemoteForward,
 * DynamicForward and SendEnv add a line each; SetEnv adds (or replaces) one variable, and all of them go on
 * one line (OpenSSH uses only the first SetEnv line). `KEY=` with nothing after it removes the keyword's
 * values; `--clear-ssh-options` removes them all.
 */
import {OnaError} from '../errors.js'

type Kind = 'yesno' | 'number' | 'choice' | 'local-forward' | 'remote-forward' | 'dynamic-forward' | 'setenv' | 'sendenv'

interface Keyword {
  /** As OpenSSH's documentation spells it; what the config line gets. */
  name: string
  kind: Kind
  choices?: readonly string[]
  min?: number
  max?: number
  /** The keyword takes one line per value (ssh keeps them all). */
  repeat?: boolean
}

const KEYWORDS: readonly Keyword[] = [
  {name: 'AddKeysToAgent', kind: 'choice', choices: ['yes', 'no', 'ask', 'confirm']},
  {name: 'Compression', kind: 'yesno'},
  {name: 'ConnectionAttempts', kind: 'number', min: 1, max: 100},
  {name: 'ConnectTimeout', kind: 'number', min: 1, max: 86_400},
  {name: 'DynamicForward', kind: 'dynamic-forward', repeat: true},
  {name: 'ExitOnForwardFailure', kind: 'yesno'},
  {name: 'ForwardAgent', kind: 'yesno'},
  {name: 'ForwardX11', kind: 'yesno'},
  {name: 'ForwardX11Trusted', kind: 'yesno'},
  {name: 'GatewayPorts', kind: 'yesno'},
  {name: 'LocalForward', kind: 'local-forward', repeat: true},
  {name: 'LogLevel', kind: 'choice', choices: ['QUIET', 'FATAL', 'ERROR', 'INFO', 'VERBOSE', 'DEBUG', 'DEBUG2', 'DEBUG3']},
  {name: 'RemoteForward', kind: 'remote-forward', repeat: true},
  {name: 'RequestTTY', kind: 'choice', choices: ['yes', 'no', 'force', 'auto']},
  {name: 'SendEnv', kind: 'sendenv', repeat: true},
  {name: 'ServerAliveCountMax', kind: 'number', min: 0, max: 10_000},
  {name: 'ServerAliveInterval', kind: 'number', min: 0, max: 86_400},
  {name: 'SetEnv', kind: 'setenv'},
  {name: 'StreamLocalBindUnlink', kind: 'yesno'},
  {name: 'TCPKeepAlive', kind: 'yesno'},
]
const BY_NAME = new Map(KEYWORDS.map((k) => [k.name.toLowerCase(), k]))

/** The keywords `--ssh-option` takes, as they are spelled. */
export const SSH_OPTION_KEYWORDS: readonly string[] = KEYWORDS.map((k) => k.name)

/** Lowercase keyword: true when the block may hold it as a user's `--ssh-option` (config-file.ts's check). */
export function isSshOptionKeyword(keyword: string): boolean {
  return BY_NAME.has(keyword.toLowerCase())
}

/** True for a keyword whose lines ssh keeps all of (a config check must let it repeat). */
export function isRepeatedSshOption(keyword: string): boolean {
  return BY_NAME.get(keyword.toLowerCase())?.repeat === true
}

/** Why ona refuses keywords it knows: they are what its entries promise. */
const REFUSED: Record<string, string> = {
  hostname: 'ona writes HostName itself: it is the address the API gives',
  port: 'ona writes Port itself: it is the address the API gives',
  user: 'ona writes User itself: it is the address the API gives',
  hostkeyalias: 'ona writes HostKeyAlias itself, so a restart with a new IP is not a changed host key',
  identityfile: 'ona writes IdentityFile itself: choose the key with `ona ssh-sync --identity-file`',
  identitiesonly: 'ona writes IdentitiesOnly itself, with the key it registered',
  proxycommand: 'a ProxyCommand would decide how the alias connects: use `ona ssh-sync --resolve-on-connect` for ona\'s own',
  proxyjump: 'a ProxyJump would decide how the alias connects instead of ona\'s address',
  stricthostkeychecking: 'host-key checking is not something ona turns off',
  userknownhostsfile: 'host keys are kept where ssh keeps them; ona does not move them',
  globalknownhostsfile: 'host keys are kept where ssh keeps them; ona does not move them',
  include: 'an Include inside a Host entry would read another file into ona\'s block',
  match: 'Match starts a section of its own',
  host: 'Host starts a section of its own',
  localcommand: 'LocalCommand runs a command on this machine at every connection',
  permitlocalcommand: 'LocalCommand runs a command on this machine at every connection',
  remotecommand: 'RemoteCommand replaces the shell (and breaks VS Code and `ona ssh -- <command>`)',
  clearallforwardings: 'ClearAllForwardings also clears the forwards given on the command line, which VS Code connects through (`ssh -D`)',
  proxyusefdpass: 'ProxyUseFdpass decides how the alias connects',
}

/** True for a keyword ona refuses to write into its entries (REFUSED), whatever its version. */
export function isRefusedSshOption(keyword: string): boolean {
  return Object.hasOwn(REFUSED, keyword.toLowerCase())
}

function optionError(message: string, hint?: string): OnaError {
  return new OnaError('ERR_SSH_OPTION', message, hint === undefined ? {} : {hint})
}

/** One checked option: its keyword as spelled in the config, and its value normalised (empty: "remove"). */
export interface SshOption {
  keyword: string
  value: string
}

const HOST_NAME = /^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/
const IPV4 = /^(?:(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.){3}(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)$/
const IPV6 = /^\[[0-9A-Fa-f:.]{2,45}\]$/
const SOCKET = /^\/[A-Za-z0-9_./-]{1,200}$/

function portOk(text: string, min: number): boolean {
  return /^\d{1,5}$/.test(text) && Number(text) >= min && Number(text) <= 65_535
}

function hostOk(text: string): boolean {
  return HOST_NAME.test(text) || IPV4.test(text) || IPV6.test(text)
}

/** `[bind_address:]port` or a Unix socket path: the listening side of a forward. */
function listenOk(text: string, minPort: number): boolean {
  if (SOCKET.test(text)) return true
  const colon = text.lastIndexOf(':')
  if (colon === -1) return portOk(text, minPort)
  const bind = text.slice(0, colon)
  return (bind === '*' || hostOk(bind)) && portOk(text.slice(colon + 1), minPort)
}

/** `host:hostport` (an IPv6 host in brackets) or a Unix socket path: where a forward goes. */
function targetOk(text: string): boolean {
  if (SOCKET.test(text)) return true
  const colon = text.lastIndexOf(':')
  return colon > 0 && hostOk(text.slice(0, colon)) && portOk(text.slice(colon + 1), 1)
}

/** Checks a value for its keyword; returns the normalised value or the reason it is refused. */
function checkValue(keyword: Keyword, value: string): {value: string} | {reason: string} {
  const tokens = value.split(' ')
  const one = (ok: boolean, normal: string, what: string) => (ok && tokens.length === 1 ? {value: normal} : {reason: `${keyword.name} takes ${what}`})
  switch (keyword.kind) {
    case 'yesno':
      return one(/^(yes|no)$/i.test(value), value.toLowerCase(), 'yes or no')
    case 'number': {
      const ok = /^\d{1,6}$/.test(value) && Number(value) >= keyword.min! && Number(value) <= keyword.max!
      return one(ok, String(Number(value)), `a whole number from ${keyword.min} to ${keyword.max}`)
    }
    case 'choice': {
      const normal = value.toUpperCase() === 'DEBUG1' ? 'DEBUG' : value
      const found = keyword.choices!.find((c) => c.toLowerCase() === normal.toLowerCase())
      return one(found !== undefined, found ?? '', `one of ${keyword.choices!.join(', ')}`)
    }
    case 'local-forward':
      return tokens.length === 2 && listenOk(tokens[0]!, 1) && targetOk(tokens[1]!) ? {value} : {reason: 'LocalForward takes `[bind_address:]port host:hostport` (two words, e.g. "LocalForward=8080 localhost:80")'}
    case 'remote-forward':
      return (tokens.length === 2 && listenOk(tokens[0]!, 0) && targetOk(tokens[1]!)) || (tokens.length === 1 && listenOk(tokens[0]!, 0))
        ? {value}
        : {reason: 'RemoteForward takes `[bind_address:]port host:hostport`, or `[bind_address:]port` alone for a SOCKS forward'}
    case 'dynamic-forward':
      return one(listenOk(value, 1), value, '`[bind_address:]port`')
    case 'setenv':
      return tokens.every((t) => /^[A-Za-z_][A-Za-z0-9_]{0,127}=[A-Za-z0-9_./:@+=,~-]{0,1000}$/.test(t))
        ? {value}
        : {reason: 'SetEnv takes NAME=value words (a name of letters, digits and _, a value of letters, digits and ._/:@+=,~-; no spaces or quotes)'}
    case 'sendenv':
      return tokens.every((t) => /^-?[A-Za-z_*?][A-Za-z0-9_*?]{0,127}$/.test(t)) ? {value} : {reason: 'SendEnv takes variable names (letters, digits, _ and the wildcards * and ?)'}
  }
}

/**
 * Parses one `--ssh-option` (`KEY=VALUE`, or `KEY VALUE` as in the config and settings.json): the keyword
 * must be on the allow-list and the value pass its check. `KEY=` alone (empty value) means "remove".
 */
export function parseSshOption(text: string): SshOption {
  // eslint-disable-next-line no-control-regex
  if (/[\x00-\x1f\x7f]/.test(text)) throw optionError(`--ssh-option ${JSON.stringify(text)} contains a line break or another control character`, 'Give one option per --ssh-option, on one line: KEY=VALUE.')
  const trimmed = text.trim()
  // A bare KEY is not "remove": that takes the explicit `KEY=`.
  const split = /^([A-Za-z0-9]+)(?:[ ]*=[ ]*|[ ]+)(.*)$/.exec(trimmed)
  if (!split) throw optionError(`--ssh-option ${JSON.stringify(text)} is not KEY=VALUE`, 'Write it as KEY=VALUE, e.g. --ssh-option ForwardAgent=yes (KEY= with nothing after it removes the saved values).')
  const [, key, raw] = split as unknown as [string, string, string]
  const lower = key.toLowerCase()
  const keyword = BY_NAME.get(lower)
  if (!keyword) {
    const why = REFUSED[lower]
    throw optionError(
      why ? `--ssh-option ${key} is refused: ${why}` : `--ssh-option ${key} is not an option ona writes into its entries`,
      `ona takes only these keywords: ${SSH_OPTION_KEYWORDS.join(', ')}. For anything else, write your own \`Host *.gitpod.environment\` entry after ona's block.`,
    )
  }
  const value = raw.trim().replace(/ +/g, ' ')
  if (value === '') return {keyword: keyword.name, value: ''}
  if (/["'`#%$\\]/.test(value)) throw optionError(`--ssh-option ${keyword.name} ${JSON.stringify(value)} contains a quote, \`#\`, \`%\`, \`$\` or a backslash, which ssh would read as more than a plain value`, 'Give a plain value: letters, digits and ._/:@+=,~-*?[] only.')
  const checked = checkValue(keyword, value)
  if ('reason' in checked) throw optionError(`--ssh-option ${keyword.name}=${value} is not valid: ${checked.reason}`, 'Fix the value and run the command again; nothing was saved or written.')
  return {keyword: keyword.name, value: checked.value}
}

/** The saved form of one option (`Keyword value`), as settings.json holds it and the config line reads. */
export function optionLine(option: SshOption): string {
  return `${option.keyword} ${option.value}`
}

/**
 * The saved list after `--clear-ssh-options` (`clear`) and the given options, in order (see the header for
 * what replaces and what adds). `saved` and the result are canonical lines (`Keyword value`).
 */
export function applySshOptions(saved: readonly string[], given: readonly string[], clear = false): string[] {
  let list = clear ? [] : saved.map((line) => parseSshOption(line))
  for (const text of given) {
    const option = parseSshOption(text)
    const keyword = BY_NAME.get(option.keyword.toLowerCase())!
    // A value that replaces another takes its place, so the lines keep the order they were first given in.
    const put = (replaces: (o: SshOption) => boolean, next: SshOption) => {
      const at = list.findIndex(replaces)
      if (at === -1) list.push(next)
      else list[at] = next
    }
    if (option.value === '') {
      list = list.filter((o) => o.keyword !== option.keyword)
    } else if (keyword.kind === 'setenv') {
      for (const variable of option.value.split(' ')) {
        const name = variable.slice(0, variable.indexOf('='))
        put((o) => o.keyword === 'SetEnv' && o.value.slice(0, o.value.indexOf('=')) === name, {keyword: 'SetEnv', value: variable})
      }
    } else if (keyword.repeat) {
      put((o) => o.keyword === option.keyword && o.value === option.value, option)
    } else {
      put((o) => o.keyword === option.keyword, option)
    }
  }
  return list.map(optionLine)
}

/** Checks a saved list (settings.json): undefined when every line is a valid option, else the reason. */
export function checkSavedSshOptions(value: unknown): string | undefined {
  if (!Array.isArray(value)) return 'must be a list of "Keyword value" strings'
  for (const line of value) {
    if (typeof line !== 'string') return 'must be a list of "Keyword value" strings'
    try {
      if (parseSshOption(line).value === '') return `${JSON.stringify(line)} has no value`
    } catch (error) {
      return (error as Error).message.replace(/^--ssh-option /, '')
    }
  }
  return undefined
}

/**
 * The config lines (`Keyword value`, no indentation) of a saved list: in the order saved, SetEnv's
 * variables on one line where the first one was (ssh uses only the first SetEnv line).
 */
export function sshOptionLines(saved: readonly string[]): string[] {
  const options = saved.map((line) => parseSshOption(line))
  const variables = options.filter((o) => o.keyword === 'SetEnv').map((o) => o.value)
  const lines: string[] = []
  let setEnvDone = false
  for (const option of options) {
    if (option.keyword !== 'SetEnv') lines.push(optionLine(option))
    else if (!setEnvDone) {
      setEnvDone = true
      lines.push(`SetEnv ${variables.join(' ')}`)
    }
  }
  return lines
}

const normalWord = (value: string) => value.replace(/[[\]]/g, '').toLowerCase()
const normalYes = (value: string) => (/^(yes|true)$/i.test(value) ? 'yes' : /^(no|false)$/i.test(value) ? 'no' : value.toLowerCase())

/**
 * The user's options in an entry (`mine`, lowercase keyword -> each line's value) that `ssh -G` (`got`)
 * does not show in effect: a line earlier in the config set the keyword first, or ssh reads it otherwise.
 * Pure. Forwards are compared without the brackets ssh -G adds; SetEnv and SendEnv by variable.
 */
export function sshOptionDifferences(got: ReadonlyMap<string, readonly string[]>, mine: ReadonlyMap<string, readonly string[]>): Array<{option: string; keyword: string; expected: string; actual: string}> {
  const result: Array<{option: string; keyword: string; expected: string; actual: string}> = []
  for (const [keyword, written] of mine) {
    const definition = BY_NAME.get(keyword)
    if (!definition || written.length === 0) continue
    const values = got.get(keyword) ?? []
    const actual = values.length === 0 ? 'none' : definition.repeat || definition.kind === 'setenv' ? values.join(', ') : values[0]!
    const differs = (expected: string) => result.push({option: definition.name, keyword, expected, actual})
    switch (definition.kind) {
      case 'local-forward':
      case 'remote-forward':
      case 'dynamic-forward': {
        for (const line of written) {
          const want = normalWord(line)
          // A RemoteForward without a target (SOCKS) is printed with one: its listening side is what counts.
          const found = values.some((v) => normalWord(v) === want || (definition.kind === 'remote-forward' && !line.includes(' ') && normalWord(v).split(' ')[0] === want))
          if (!found) differs(line)
        }
        break
      }
      case 'setenv':
      case 'sendenv': {
        const have = new Set(values.flatMap((v) => v.split(' ')))
        const want = written.flatMap((w) => w.split(' ')).filter((w) => !w.startsWith('-'))
        const missing = want.filter((w) => !have.has(w))
        if (missing.length > 0) differs(written.join(' '))
        break
      }
      default:
        if (values[0] === undefined || normalYes(values[0]) !== normalYes(written[0]!)) differs(written[0]!)
    }
  }
  return result
}
