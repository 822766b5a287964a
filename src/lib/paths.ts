/**
 * Where `ona` keeps and finds things, derived from the injected platform (OS, home, environment) so tests
 * can use a scratch HOME and run the Windows and macOS rules on Linux. The rules are in platform/.
 */
import {OnaError} from './errors.js'
import {configDir, defaultSshConfig, expandHome as expandHomeFor, homeDir, stateDir, type Platform} from './platform/platform.js'

export interface Paths {
  home: string
  /**
   * `~/.ssh/config` (`%USERPROFILE%\.ssh\config` on Windows) unless --ssh-config, ONA_SSH_CONFIG or the
   * API origin's saved setting (settings.ts `useManagedFileSetting`) says otherwise.
   */
  sshConfig: string
  /** Where `sshConfig` came from: the flag, ONA_SSH_CONFIG, the origin's setting, an ona block found in the tree, or the default. */
  sshConfigFrom: 'flag' | 'env' | 'setting' | 'found' | 'default'
  /** Token fallback file, user preflight endpoints: see platform `configDir` (ONA_CONFIG_DIR overrides). */
  configDir: string
  /** Watch lock, preflight cache: see platform `stateDir` (ONA_STATE_DIR overrides). */
  stateDir: string
  /** The user config ssh reads when no `-F` is given (`~/.ssh/config`), whatever file `ona` manages. */
  userSshConfig: string
  /**
   * The system config ssh reads after it (`/etc/ssh/ssh_config`; `%ProgramData%\ssh\ssh_config` on Windows).
   * ONA_SYSTEM_SSH_CONFIG overrides it (tests; an empty value means none).
   */
  systemSshConfig: string | null
}

/**
 * `configDir` overrides the directory the platform rules give (the ProxyCommand is told the one it was
 * written with: ssh may run it without the variables that chose it).
 */
export function resolvePaths(platform: Platform, overrides: {sshConfig?: string; configDir?: string} = {}): Paths {
  const home = homeDir(platform)
  if (overrides.sshConfig !== undefined && overrides.sshConfig.trim() === '') {
    // path.resolve('') is the working directory, which then "is not a regular file".
    throw new OnaError('ERR_USAGE', '--ssh-config was given an empty path', {hint: 'Give the SSH config file to manage, e.g. --ssh-config ~/.ssh/config, or leave the flag out.'})
  }
  const fromEnv = platform.env.ONA_SSH_CONFIG && platform.env.ONA_SSH_CONFIG.trim() !== '' ? platform.env.ONA_SSH_CONFIG : undefined
  const sshConfig = overrides.sshConfig ?? fromEnv
  return {
    home,
    sshConfig: sshConfig === undefined ? defaultSshConfig(platform) : expandHomeFor(platform, sshConfig, home),
    sshConfigFrom: overrides.sshConfig !== undefined ? 'flag' : fromEnv !== undefined ? 'env' : 'default',
    configDir: overrides.configDir ?? configDir(platform),
    stateDir: stateDir(platform),
    userSshConfig: defaultSshConfig(platform),
    systemSshConfig: systemSshConfig(platform),
  }
}

function systemSshConfig(platform: Platform): string | null {
  const fromEnv = platform.env.ONA_SYSTEM_SSH_CONFIG
  if (fromEnv !== undefined) return fromEnv.trim() === '' ? null : fromEnv
  if (platform.name === 'win32') return `${platform.env.ProgramData ?? 'C:\\ProgramData'}\\ssh\\ssh_config`
  return '/etc/ssh/ssh_config'
}

/** `~` and `~/x` against `home` (POSIX rules; use platform `expandHome` where Windows' `~\x` matters). */
export function expandHome(p: string, home: string): string {
  return expandHomeFor({name: 'linux', homedir: home, env: {}}, p, home)
}
