/**
 * The environment a service runs the watcher with. A service manager starts it with almost nothing
 * (systemd: the user manager's environment; launchd: PATH=/usr/bin:/bin:/usr/sbin:/sbin; Task Scheduler:
 * the logon environment), so what made `ona ssh-sync --watch` work in the user's shell is copied into the
 * definition at install time: the proxy and its exceptions, extra CA certificates, ona's own settings and
 * the XDG base directories. Never a token: the service reads it from the keychain or the token file, as
 * `ona ssh-sync` does.
 *
 * A proxy URL may carry a user and password (`http://user:pass@proxy:3128`). The service needs them to get
 * through that proxy, so they are written (the definition is private to the user, mode 0600), but every
 * place ona shows the definition (`--dry-run`, `--json`) masks them.
 */
import {TOKEN_ENV_VARS} from '../auth/token.js'

/** Copied when set: proxy, CA and the base directories ona's paths derive from. */
const COPIED = [
  'HTTPS_PROXY', 'https_proxy', 'HTTP_PROXY', 'http_proxy', 'NO_PROXY', 'no_proxy', 'ALL_PROXY', 'all_proxy',
  'NODE_USE_ENV_PROXY', 'NODE_EXTRA_CA_CERTS', 'SSL_CERT_FILE', 'SSL_CERT_DIR',
  // The base directories only: XDG_RUNTIME_DIR, XDG_SESSION_* and the like belong to one login session.
  'XDG_CONFIG_HOME', 'XDG_STATE_HOME', 'XDG_CACHE_HOME', 'XDG_DATA_HOME',
] as const

/**
 * ONA_* variables that are never copied: secrets, and the ones the definition pins itself (the API URL and
 * the SSH config are fixed per service, so a shell's different value must not move the service elsewhere).
 */
const NOT_COPIED = new Set<string>([...TOKEN_ENV_VARS, 'ONA_API_URL', 'ONA_BASE_URL', 'ONA_SSH_CONFIG'])

/** Anything that looks like a secret by its name stays out, whatever ona version introduced it. */
const SECRET_NAME = /TOKEN|SECRET|PASSW|CREDENTIAL|API_KEY|PRIVATE/i

/** Whether `name` is a variable a service carries (before looking at its value). */
export function isCopiedVariable(name: string): boolean {
  if ((COPIED as readonly string[]).includes(name)) return true
  return name.startsWith('ONA_') && !NOT_COPIED.has(name) && !SECRET_NAME.test(name)
}

/**
 * The variables of `env` the service carries, sorted by name. Empty values and values with control
 * characters (which no definition format can hold on one line) are left out; `skipped` names the latter.
 */
export function serviceEnvironment(env: NodeJS.ProcessEnv): {env: Record<string, string>; skipped: string[]} {
  const out: Record<string, string> = {}
  const skipped: string[] = []
  for (const name of Object.keys(env).sort()) {
    const value = env[name]
    if (value === undefined || value === '' || !isCopiedVariable(name)) continue
    // eslint-disable-next-line no-control-regex
    if (/[\u0000-\u001f\u007f]/.test(value)) {
      skipped.push(name)
      continue
    }
    out[name] = value
  }
  return {env: out, skipped}
}

/** `scheme://user:password@host...` -> `scheme://****@host...`: the user part can be a token too. */
export function maskCredentials(value: string): string {
  return value.replace(/^([a-z][a-z0-9+.-]*:\/\/)?[^/@\s]+@/i, (_m, scheme: string | undefined) => `${scheme ?? ''}****@`)
}

/** The same environment with every value's credentials masked (for display). */
export function maskedEnvironment(env: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(env).map(([k, v]) => [k, maskCredentials(v)]))
}
