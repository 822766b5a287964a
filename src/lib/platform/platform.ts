/**
 * What differs per operating system, as pure functions of an injected {@link Platform}: the real process
 * builds one from `process`, tests build Windows and macOS ones by hand and run those branches on Linux.
 * Nothing here reads `process.platform`, `process.env` or `os.homedir()` except {@link currentPlatform}.
 */
import os from 'node:os'
import path from 'node:path'

export interface Platform {
  /** `process.platform` of the machine the paths are for. */
  name: NodeJS.Platform
  /** The account's home as the OS knows it (`os.homedir()`: the passwd entry, or `%USERPROFILE%`). */
  homedir: string
  env: NodeJS.ProcessEnv
  /**
   * The password database for `~user` (a user's home, or undefined for no such user). Undefined: the
   * machine's (passwd.ts); tests inject their own.
   */
  passwd?: (name: string) => string | undefined
}

export function currentPlatform(env: NodeJS.ProcessEnv = process.env): Platform {
  return {name: process.platform, homedir: os.homedir(), env}
}

export const isWindows = (p: Platform): boolean => p.name === 'win32'
export const isMac = (p: Platform): boolean => p.name === 'darwin'

/** `path.win32` on Windows, `path.posix` elsewhere, whatever machine the code runs on. */
export function pathFor(p: Platform): path.PlatformPath {
  return isWindows(p) ? path.win32 : path.posix
}

function nonEmpty(value: string | undefined): string | undefined {
  return value !== undefined && value.trim() !== '' ? value : undefined
}

/**
 * The home directory `ona` shows and expands `~` with. POSIX: `$HOME` (tests and sandboxes point it at a
 * scratch directory), else the passwd entry. Windows: `%USERPROFILE%`, never `$HOME`: MSYS and Git Bash
 * set HOME to something OpenSSH, VS Code and Gateway do not read.
 */
export function homeDir(p: Platform): string {
  if (isWindows(p)) return nonEmpty(p.env.USERPROFILE) ?? p.homedir
  return nonEmpty(p.env.HOME) ?? p.homedir
}

/**
 * Expands `~` and `~/...` (and `~\...` on Windows) against `home` and makes the path absolute. `~user`
 * is left alone, as OpenSSH's own tilde expansion only knows the current user here.
 */
export function expandHome(p: Platform, file: string, home = homeDir(p)): string {
  const sep = pathFor(p)
  if (file === '~') return home
  if (file.startsWith('~/') || (isWindows(p) && file.startsWith('~\\'))) return sep.join(home, file.slice(2))
  return sep.resolve(file)
}

/** The SSH config OpenSSH (and VS Code Remote-SSH, JetBrains Gateway) read by default for this user. */
export function defaultSshConfig(p: Platform): string {
  return pathFor(p).join(homeDir(p), '.ssh', 'config')
}

/**
 * `ona`'s own configuration directory (token fallback file, preflight.json, settings):
 * `ONA_CONFIG_DIR` when set, else `%APPDATA%\ona` on Windows, `~/Library/Application Support/ona` on
 * macOS, `$XDG_CONFIG_HOME/ona` (default `~/.config/ona`) elsewhere.
 */
export function configDir(p: Platform): string {
  const sep = pathFor(p)
  const override = absoluteEnv(p, 'ONA_CONFIG_DIR')
  if (override) return override
  const home = homeDir(p)
  if (isWindows(p)) return sep.join(absoluteEnv(p, 'APPDATA') ?? sep.join(home, 'AppData', 'Roaming'), 'ona')
  if (isMac(p)) return sep.join(home, 'Library', 'Application Support', 'ona')
  return sep.join(absoluteEnv(p, 'XDG_CONFIG_HOME') ?? sep.join(home, '.config'), 'ona')
}

/**
 * Machine-local state (locks, preflight cache, watcher status): `ONA_STATE_DIR` when set, else
 * `%LOCALAPPDATA%\ona` on Windows (not roamed between machines), `~/Library/Application Support/ona/state`
 * on macOS, `$XDG_STATE_HOME/ona` (default `~/.local/state/ona`) elsewhere.
 */
export function stateDir(p: Platform): string {
  const sep = pathFor(p)
  const override = absoluteEnv(p, 'ONA_STATE_DIR')
  if (override) return override
  const home = homeDir(p)
  if (isWindows(p)) return sep.join(absoluteEnv(p, 'LOCALAPPDATA') ?? sep.join(home, 'AppData', 'Local'), 'ona')
  if (isMac(p)) return sep.join(home, 'Library', 'Application Support', 'ona', 'state')
  return sep.join(absoluteEnv(p, 'XDG_STATE_HOME') ?? sep.join(home, '.local', 'state'), 'ona')
}

/**
 * Disposable caches (Node's compile cache): `%LOCALAPPDATA%\ona\cache` on Windows, `~/Library/Caches/ona`
 * on macOS, `$XDG_CACHE_HOME/ona` (default `~/.cache/ona`) elsewhere.
 */
export function cacheDir(p: Platform): string {
  const sep = pathFor(p)
  const home = homeDir(p)
  if (isWindows(p)) return sep.join(absoluteEnv(p, 'LOCALAPPDATA') ?? sep.join(home, 'AppData', 'Local'), 'ona', 'cache')
  if (isMac(p)) return sep.join(home, 'Library', 'Caches', 'ona')
  return sep.join(absoluteEnv(p, 'XDG_CACHE_HOME') ?? sep.join(home, '.cache'), 'ona')
}

/** The hosts file the system resolver reads before DNS (the preflight consults it as ssh would). */
export function hostsFile(p: Platform): string {
  if (!isWindows(p)) return '/etc/hosts'
  const root = absoluteEnv(p, 'SystemRoot') ?? absoluteEnv(p, 'windir') ?? 'C:\\Windows'
  return path.win32.join(root, 'System32', 'drivers', 'etc', 'hosts')
}

/**
 * The signals that mean "stop now, cleanly" (release locks, remove temp files): Ctrl-C, termination, a
 * closed terminal; on Windows also Ctrl-Break (SIGBREAK), and console close, which Node reports as SIGHUP.
 */
export function shutdownSignals(p: Platform): NodeJS.Signals[] {
  return isWindows(p) ? ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGBREAK'] : ['SIGINT', 'SIGTERM', 'SIGHUP']
}

/**
 * An environment variable that names an absolute directory. Windows variables are case-insensitive
 * (`Path`, `SystemRoot`), and a relative value is ignored as the XDG spec requires.
 */
function absoluteEnv(p: Platform, name: string): string | undefined {
  let value = p.env[name]
  if (value === undefined && isWindows(p)) {
    const key = Object.keys(p.env).find((k) => k.toLowerCase() === name.toLowerCase())
    value = key === undefined ? undefined : p.env[key]
  }
  value = nonEmpty(value)
  return value !== undefined && pathFor(p).isAbsolute(value) ? value : undefined
}

/** Case-insensitive environment lookup on Windows (`PATH` is often spelled `Path` there). */
export function envValue(p: Platform, name: string): string | undefined {
  if (!isWindows(p)) return p.env[name]
  const key = Object.keys(p.env).find((k) => k.toLowerCase() === name.toLowerCase())
  return key === undefined ? undefined : p.env[key]
}
