/**
 * The per-entry options of one environment's Host entry beyond its address: the key to offer
 * (`IdentityFile`, `IdentitiesOnly yes`) and, with resolve-on-connect, the `ProxyCommand` that runs ona.
 *
 * Values are written as tokens that mean the same to every reader: OpenSSH on Linux and macOS (which
 * runs a ProxyCommand through `$SHELL -c`), Windows OpenSSH (no shell), and IDE clients that parse the
 * config with the `ssh-config` library and spawn the ProxyCommand as argv (VS Code forks). So: absolute
 * paths, forward slashes on Windows, a path outside the plain alphabet in double quotes (spaces, `'`,
 * `/home/jürgen`: OpenSSH takes any byte inside them but `"`), written as its UTF-8 bytes. Refused, with
 * the reason, is only what no quoting carries to every reader: a double quote, a control character, `%`
 * (ssh expands it as a token), a backslash outside Windows, and in a ProxyCommand (a shell reads it)
 * also `$` and backticks.
 */
import {OnaError} from '../errors.js'
import {sshOptionLines} from './ssh-options.js'
import type {ValidEnvironment} from './validate.js'

export interface ProxyCommandSpec {
  /** Absolute path of the node binary. */
  node: string
  /** Absolute path of ona's launcher (bin/run.js). */
  script: string
  apiUrl: string
  /** The SSH config the block lives in (the proxy updates it when the address moved). */
  sshConfig: string
  /**
   * ona's config directory as the writer resolved it (settings, token file, key id). ssh runs the
   * ProxyCommand with whatever environment it was started with (VS Code from the desktop, cron: no
   * ONA_CONFIG_DIR or XDG_CONFIG_HOME), so the proxy is told where it is rather than working it out again.
   */
  configDir?: string
}

export interface EntryOptions {
  /** The private key every entry offers (with IdentitiesOnly yes). */
  identityFile?: string
  /** With resolve-on-connect: the command each entry connects through. */
  proxyCommand?: ProxyCommandSpec
  /** Write paths for Windows OpenSSH (forward slashes, drive letters allowed). */
  windows?: boolean
  /** The user's `--ssh-option` lines (settings.json, already checked), after ona's own lines in every entry. */
  sshOptions?: readonly string[]
  /** Each entry's Host line also names its friendly alias, when the environment has one (friendly.ts). */
  friendlyAliases?: boolean
}

const PLAIN = /^[A-Za-z0-9_./:@+=,~-]+$/

/**
 * Why a path cannot be written as one config token, or undefined when it can. `shell`: the path goes into
 * a ProxyCommand, which a POSIX ssh hands to `$SHELL -c` (inside double quotes a shell still reads `$` and
 * backticks).
 */
export function checkPathToken(value: string, what: string, windows = false, shell = false): string | undefined {
  const shown = JSON.stringify(value)
  if (value === '') return `${what} is empty`
  if (/[\r\n\0]/.test(value)) return `${what} ${shown} contains a line break or NUL`
  // eslint-disable-next-line no-control-regex
  if (/[\x00-\x1f\x7f]/.test(value)) return `${what} ${shown} contains a control character`
  if (value.includes('%')) return `${what} ${shown} contains '%', which ssh expands as a token`
  if (value.includes('"')) return `${what} ${shown} contains a double quote, which cannot be written inside one`
  const normal = windows ? value.replace(/\\/g, '/') : value
  if (!windows && value.includes('\\')) return `${what} ${shown} contains a backslash, which ssh reads as an escape`
  if (shell && !windows && /[$`]/.test(value)) return `${what} ${shown} contains $ or a backtick, which the shell running the ProxyCommand would expand`
  const absolute = windows ? /^[A-Za-z]:\//.test(normal) || normal.startsWith('//') : normal.startsWith('/')
  if (!absolute) return `${what} ${shown} is not an absolute path`
  if (/^\s|\s$/.test(normal)) return `${what} ${shown} starts or ends with a space`
  return undefined
}

/** A string as the bytes ona writes: the config is handled as latin1 text (one char per byte), paths are UTF-8. */
export function utf8Bytes(value: string): string {
  return Buffer.from(value, 'utf8').toString('latin1')
}

/**
 * One path as a config token: forward slashes on Windows, double quotes when it holds anything outside the
 * plain alphabet (a space, `'`, a letter such as `ü`), as UTF-8 bytes (see utf8Bytes).
 */
export function pathToken(value: string, windows = false): string {
  const normal = windows ? value.replace(/\\/g, '/') : value
  return PLAIN.test(normal) ? normal : `"${utf8Bytes(normal)}"`
}

function checkPlainToken(value: string, what: string): string | undefined {
  if (!PLAIN.test(value)) return `${what} ${JSON.stringify(value)} has characters other than letters, digits and ._/:@+=,~-`
  return undefined
}

/** The ProxyCommand's tokens for one environment, as the config line holds them (quoted where needed). */
export function proxyCommandTokens(env: Pick<ValidEnvironment, 'id'>, spec: ProxyCommandSpec, windows = false): string[] {
  return [
    pathToken(spec.node, windows),
    pathToken(spec.script, windows),
    'ssh-proxy',
    env.id,
    '--api-url',
    spec.apiUrl,
    '--ssh-config',
    pathToken(spec.sshConfig, windows),
    ...(spec.configDir === undefined ? [] : ['--config-dir', pathToken(spec.configDir, windows)]),
  ]
}

/** The same tokens as argv (quotes removed), which is what `ssh-config` hands an IDE. */
export function proxyCommandArgv(env: Pick<ValidEnvironment, 'id'>, spec: ProxyCommandSpec, windows = false): string[] {
  return proxyCommandTokens(env, spec, windows).map((t) => (t.startsWith('"') ? t.slice(1, -1) : t))
}

/** Refuses options that cannot be written safely, naming the value and what to do. */
export function validateEntryOptions(options: EntryOptions): void {
  const windows = options.windows ?? false
  if (options.identityFile !== undefined) {
    const reason = checkPathToken(options.identityFile, 'the SSH key path', windows)
    if (reason) throw new OnaError('ERR_KEY', `cannot name the key in the SSH config: ${reason}`, {hint: 'Choose a key at a path without that character with --identity-file, or set ONA_CONFIG_DIR to such a path for ona\'s own key.'})
  }
  const spec = options.proxyCommand
  if (spec) {
    const reason =
      checkPathToken(spec.node, 'the node path', windows, true) ??
      checkPathToken(spec.script, 'the ona path', windows, true) ??
      checkPathToken(spec.sshConfig, 'the SSH config path', windows, true) ??
      (spec.configDir === undefined ? undefined : checkPathToken(spec.configDir, 'the ona config directory', windows, true)) ??
      checkPlainToken(spec.apiUrl, 'the API URL')
    if (reason) {
      throw new OnaError('ERR_USAGE', `cannot write a ProxyCommand: ${reason}`, {
        hint: 'Install ona and node at paths without that character (and ona\'s config directory, ONA_CONFIG_DIR), or sync without --resolve-on-connect (`ona ssh-sync --no-resolve-on-connect`).',
      })
    }
  }
}

/** The lines (without indentation) that follow HostKeyAlias in one environment's entry. */
export function renderEntryOptions(env: Pick<ValidEnvironment, 'id'>, options: EntryOptions): string[] {
  const windows = options.windows ?? false
  const lines: string[] = []
  if (options.identityFile !== undefined) lines.push(`IdentityFile ${pathToken(options.identityFile, windows)}`, 'IdentitiesOnly yes')
  if (options.proxyCommand) lines.push(`ProxyCommand ${proxyCommandTokens(env, options.proxyCommand, windows).join(' ')}`)
  if (options.sshOptions) lines.push(...sshOptionLines(options.sshOptions))
  return lines
}

/** What the `ssh-config` parser must read back for each option key (lowercase), for the pre-write check (as bytes: utf8Bytes). */
export function expectedEntryValues(env: Pick<ValidEnvironment, 'id'>, options: EntryOptions): Map<string, string> {
  const windows = options.windows ?? false
  const values = new Map<string, string>()
  if (options.identityFile !== undefined) {
    values.set('identityfile', utf8Bytes(windows ? options.identityFile.replace(/\\/g, '/') : options.identityFile))
    values.set('identitiesonly', 'yes')
  }
  if (options.proxyCommand) values.set('proxycommand', proxyCommandArgv(env, options.proxyCommand, windows).join('\u0000'))
  // The user's options: one value per line (words joined by a space), lines joined by a line break.
  for (const line of sshOptionLines(options.sshOptions ?? [])) {
    const space = line.indexOf(' ')
    const keyword = line.slice(0, space).toLowerCase()
    const had = values.get(keyword)
    values.set(keyword, had === undefined ? line.slice(space + 1) : `${had}\n${line.slice(space + 1)}`)
  }
  return values
}
