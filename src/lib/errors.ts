/**
 * Every error `ona` expects to meet, in one place: a stable code (scripts match on it), a message that
 * says what failed and a hint that says what to do next. Commands print message and hint, never a stack.
 *
 * Codes are part of the public interface: never rename one, only add.
 */

/** Exit codes, as gh uses them: 0 ok, 1 error, 2 usage, 4 authentication. */
export const EXIT = {
  OK: 0,
  ERROR: 1,
  USAGE: 2,
  AUTH: 4,
} as const

export type ExitCode = (typeof EXIT)[keyof typeof EXIT]

/** The table of known codes: default hint and exit code of each. */
export const ERROR_CODES = {
  // SSH config file and block engine
  ERR_SSH_CONFIG_MARKERS: {exit: EXIT.ERROR, hint: 'Fix or delete the `ona` marker lines by hand, then run the command again; the file was not changed.'},
  ERR_SSH_CONFIG_BOM: {exit: EXIT.ERROR, hint: 'Save the file as UTF-8 without a byte-order mark (OpenSSH rejects the first line otherwise); the file was not changed.'},
  ERR_SSH_CONFIG_UNREADABLE: {exit: EXIT.ERROR, hint: 'Check that the path exists and is readable, or choose another file with --ssh-config.'},
  ERR_SSH_CONFIG_NOT_FILE: {exit: EXIT.ERROR, hint: 'Point --ssh-config at a regular file (or a symlink to one).'},
  ERR_SSH_CONFIG_SYMLINK_LOOP: {exit: EXIT.ERROR, hint: 'The SSH config path is a symlink loop; fix the link or choose another file with --ssh-config.'},
  // Each write failure gets a hint for its cause (full disk, read-only, permissions): see writeError in fs/safe-write.ts.
  ERR_SSH_CONFIG_WRITE: {exit: EXIT.ERROR, hint: 'Check the permissions of the file and its directory; the SSH config was not changed.'},
  ERR_SSH_CONFIG_CONFLICT: {exit: EXIT.ERROR, hint: 'Another program kept changing the SSH config while `ona` was writing it; run the command again.'},
  ERR_SSH_CONFIG_LOCKED: {exit: EXIT.ERROR, hint: 'Another `ona` is writing the SSH config; wait for it to finish and run the command again.'},
  ERR_INVALID_ENVIRONMENT: {exit: EXIT.ERROR, hint: 'The environment was skipped; report it to your administrator if it persists.'},

  // Authentication and credentials
  ERR_NOT_LOGGED_IN: {exit: EXIT.AUTH, hint: 'Run `ona login` (or set ONA_TOKEN) first.'},
  ERR_AUTH_EXPIRED: {exit: EXIT.AUTH, hint: 'Your token expired or was revoked: run `ona login`.'},
  ERR_PERMISSION_DENIED: {exit: EXIT.AUTH, hint: 'Your token lacks permission for this call; check its scope or your organisation role.'},
  ERR_TOKEN_FILE_PERMISSIONS: {exit: EXIT.AUTH, hint: 'Run `chmod 600` on the token file (it must not be readable by group or others), or run `ona login` again.'},
  ERR_KEYCHAIN: {exit: EXIT.ERROR, hint: 'The OS keychain failed; `ona` can keep the token in a private file instead (run `ona login` again).'},
  // Each platform gets its own hint (macOS: an access prompt nobody answered); see auth/token-store.ts.
  ERR_KEYCHAIN_TIMEOUT: {exit: EXIT.ERROR, hint: 'The OS keychain did not answer; run the command again in a terminal, or set ONA_KEYRING=off and run `ona login` to keep the token in a private file.'},
  ERR_TOKEN_EMPTY: {exit: EXIT.USAGE, hint: 'Pass a personal access token on standard input: `ona login --token-stdin < token.txt`.'},

  // Management-plane API
  ERR_API_UNAVAILABLE: {exit: EXIT.ERROR, hint: 'The management plane is unreachable or overloaded; check your network (`ona preflight`) and try again.'},
  ERR_API_NOT_FOUND: {exit: EXIT.ERROR, hint: 'Check the id; list your environments with `ona ssh-sync --dry-run`.'},
  ERR_API_RATE_LIMITED: {exit: EXIT.ERROR, hint: 'The management plane is rate-limiting this token; wait a minute and try again.'},
  ERR_API_BAD_RESPONSE: {exit: EXIT.ERROR, hint: 'The management plane sent a response `ona` does not understand; check --api-url, or update `ona`.'},
  ERR_API_RESPONSE_TOO_LARGE: {exit: EXIT.ERROR, hint: 'The reply was cut off unread at the size limit: check that --api-url points at the management plane (not a proxy or web page), and report it if it does.'},
  ERR_API_REQUEST: {exit: EXIT.ERROR, hint: 'The management plane rejected the request; update `ona` or report it.'},
  ERR_API_TIMEOUT: {exit: EXIT.ERROR, hint: 'The management plane did not answer in time; check your network (`ona preflight`) or proxy settings.'},
  // The overall deadline of a one-shot command (--timeout / ONA_TIMEOUT, see deadline.ts): nothing was written.
  ERR_DEADLINE_EXCEEDED: {exit: EXIT.ERROR, hint: 'Raise --timeout (or ONA_TIMEOUT; 0 means no deadline), check the network and proxy with `ona preflight`, or try again later.'},
  ERR_INSECURE_HTTP: {exit: EXIT.USAGE, hint: 'Use an https:// API URL, or set ONA_ALLOW_INSECURE_HTTP=1 to send the token over plain http anyway.'},
  ERR_API_URL: {exit: EXIT.USAGE, hint: 'Give an http(s) URL such as https://app.ona.com/api with --api-url or ONA_API_URL.'},
  ERR_PROXY: {exit: EXIT.ERROR, hint: 'Check HTTPS_PROXY / NO_PROXY; `ona preflight` tests the proxy path.'},
  ERR_API_TLS: {exit: EXIT.ERROR, hint: 'If a proxy or firewall inspects TLS, point NODE_EXTRA_CA_CERTS at its CA certificate (PEM file) and try again.'},

  // Usage and local state
  ERR_USAGE: {exit: EXIT.USAGE, hint: 'See `ona help`.'},
  ERR_WATCH_RUNNING: {exit: EXIT.ERROR, hint: 'Another `ona ssh-sync --watch` already keeps this SSH config current; stop it first.'},
  ERR_STATE_DIR_UNSAFE: {exit: EXIT.ERROR, hint: 'Make the directory yours and closed to others (`chmod 700 <dir>`), or point ONA_STATE_DIR at a directory only you can write.'},
  ERR_WATCH_SOCKET: {exit: EXIT.ERROR, hint: 'Set XDG_RUNTIME_DIR, or ONA_STATE_DIR to a short local directory only you can use (chmod 700), and start the watcher again.'},
  ERR_PREFLIGHT_FAILED: {exit: EXIT.ERROR, hint: 'Run `ona preflight` for the full report.'},
  ERR_PREFLIGHT_CONFIG: {exit: EXIT.USAGE, hint: 'Fix the named entry in preflight.json (each needs a "url", or a "host" with optional "port" and "protocol").'},
  ERR_PREFLIGHT_OPTIONS: {exit: EXIT.USAGE, hint: 'Check the preflight flags: --resolver takes ip[:port], --timeout a duration such as 3s or 500ms (a plain number is seconds).'},
  ERR_SSH_NOT_FOUND: {exit: EXIT.ERROR, hint: 'Install the OpenSSH client (`ssh`) and make sure it is on PATH.'},
  ERR_SERVICE: {exit: EXIT.ERROR, hint: 'Run `ona service status`; the service file is named in the message (`ona service install --no-start` writes it without starting it).'},
  // Each case gets its own hint (no user bus, no systemd, no launchd login session...): see service/manager.ts.
  ERR_SERVICE_MANAGER_UNREACHABLE: {exit: EXIT.ERROR, hint: 'The service manager cannot be reached from this session: run `ona ssh-sync --watch` in a terminal instead.'},
  ERR_SERVICE_CONFLICT: {exit: EXIT.ERROR, hint: 'Run `ona service status` to see which API and SSH config each service keeps current.'},
  ERR_SSH_OPTION: {exit: EXIT.USAGE, hint: 'Give KEY=VALUE with a keyword ona takes (`ona ssh-sync --help` lists them); nothing was saved or written.'},
  ERR_SETTINGS: {exit: EXIT.ERROR, hint: 'Fix or delete ona\'s settings.json (it is rewritten by `ona ssh-sync --resolve-on-connect`, `--identity-file`, `--friendly-aliases` and `--ssh-option`).'},

  // Connecting: keys, names, start on demand
  ERR_KEY: {exit: EXIT.ERROR, hint: 'Check the key file and its `.pub` beside it (`ssh-keygen -y -f KEY > KEY.pub` writes one), or leave --identity-file out to use ona\'s own key.'},
  ERR_ENVIRONMENT_NOT_FOUND: {exit: EXIT.ERROR, hint: 'Check the id or name; `ona environment list` shows your environments.'},
  ERR_ENVIRONMENT_AMBIGUOUS: {exit: EXIT.USAGE, hint: 'Give more of the id, or the full id; `ona environment list` shows them.'},
  ERR_ENVIRONMENT_NOT_RUNNING: {exit: EXIT.ERROR, hint: 'Start it (leave out --no-start), or wait until it is running.'},
  ERR_ENVIRONMENT_START_TIMEOUT: {exit: EXIT.ERROR, hint: 'The environment is still starting; try again in a moment, or raise --start-timeout.'},
  ERR_CANCELLED: {exit: EXIT.USAGE, hint: 'Nothing was undone: a started environment keeps running, and the SSH config was left consistent.'},
  ERR_KEY_NOT_ACCEPTED: {exit: EXIT.ERROR, hint: 'The environment did not accept the SSH key; run `ona ssh` again, or check the environment\'s logs.'},
  // Editors (ona ide setup, ona ssh --ide)
  ERR_IDE_NOT_FOUND: {exit: EXIT.ERROR, hint: 'Start the editor once so it creates its user settings, or name another one: `ona ide setup vscode|cursor|windsurf|vscodium|code-insiders`.'},
  ERR_IDE_SETTINGS_INVALID: {exit: EXIT.ERROR, hint: 'Fix the named line (the editor shows the problem when you open the file), then run the command again; the file was not changed.'},
  ERR_IDE_SETTINGS_WRITE: {exit: EXIT.ERROR, hint: 'Check the permissions of the settings file and its folder; the file was not changed.'},
  ERR_IDE_STATE: {exit: EXIT.ERROR, hint: 'Check that ona\'s state directory (ONA_STATE_DIR) is writable, then run the command again.'},
  ERR_IDE_NOT_LAUNCHABLE: {exit: EXIT.ERROR, hint: 'Put the editor\'s command-line launcher on PATH (in VS Code and its forks: "Shell Command: Install \'code\' command in PATH"), or connect with plain `ona ssh <id>`.'},
  ERR_INTERNAL: {exit: EXIT.ERROR, hint: 'This is a bug in `ona`; please report it with the command you ran.'},
} as const satisfies Record<string, {exit: ExitCode; hint: string}>

export type ErrorCode = keyof typeof ERROR_CODES

export interface OnaErrorOptions {
  /** Overrides the code's default hint when the situation allows a more precise one. */
  hint?: string
  cause?: unknown
  /** Structured detail for --json output (never a secret). */
  details?: Record<string, unknown>
}

/** The one error type the library throws for expected failures. */
export class OnaError extends Error {
  readonly code: ErrorCode
  readonly hint: string
  readonly exitCode: ExitCode
  readonly details: Record<string, unknown> | undefined

  constructor(code: ErrorCode, message: string, options: OnaErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : {cause: options.cause})
    this.name = 'OnaError'
    this.code = code
    this.hint = options.hint ?? ERROR_CODES[code].hint
    this.exitCode = ERROR_CODES[code].exit
    this.details = options.details
  }

  toJSON(): {code: ErrorCode; message: string; hint: string; details?: Record<string, unknown>} {
    return {code: this.code, message: this.message, hint: this.hint, ...(this.details ? {details: this.details} : {})}
  }
}

export function isOnaError(error: unknown): error is OnaError {
  return error instanceof OnaError
}

/** A warning is not fatal: the work went on, but the user should know (override lines, skipped environments). */
export interface Warning {
  code: string
  message: string
  /** Where the cause is, when it is a line of a file. */
  file?: string
  line?: number
  /** W_SSH_DIFFERS: which option of which alias, what ona wrote and what `ssh -G` says ssh will use. */
  option?: string
  alias?: string
  expected?: string
  actual?: string
  /**
   * W_UNCLAIMED: the aliases of an earlier ona's block that no install has claimed yet. W_OVERRIDE,
   * W_FOREIGN_CONFIG and a grouped W_SSH_DIFFERS: every ona alias the line (or block) decides.
   */
  aliases?: string[]
  /** W_FOREIGN_CONFIG: the tool whose block it is (`vendor-cli`, `coder`, `devpod`, `gh`). */
  tool?: string
  /** W_FOREIGN_CONFIG, W_OVERRIDE of a connection option: what ssh does because of it, and what to do. */
  effect?: string
  fix?: string
  /** W_FOREIGN_CONFIG: each line of the block that decides an option, with its file:line. */
  settings?: Array<{option: string; value: string; file: string; line: number; effect: string}>
  /** W_FRIENDLY_ALIAS: each friendly alias not written, with the environments whose names give it (or the install holding it). */
  collisions?: Array<{alias: string; environments: string[]; holder?: string; userHost?: {file?: string; line: number; text: string}}>
  /** A grouped W_SSH_DIFFERS: each alias's own values (ssh -G answers per alias). */
  items?: Array<{alias: string; expected: string; actual: string}>
}
