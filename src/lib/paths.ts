/** Where `ona` keeps and finds things, derived from the environment so tests can use a scratch HOME. */
import os from 'node:os'
import path from 'node:path'

export interface Paths {
  home: string
  /** `~/.ssh/config` unless --ssh-config or ONA_SSH_CONFIG says otherwise. */
  sshConfig: string
  /** `$XDG_CONFIG_HOME/ona` (or `~/.config/ona`): token fallback file, user preflight endpoints. */
  configDir: string
  /** `$XDG_STATE_HOME/ona` (or `~/.local/state/ona`): watch lock, preflight cache. */
  stateDir: string
}

export function resolvePaths(env: NodeJS.ProcessEnv, overrides: {sshConfig?: string} = {}): Paths {
  const home = env.HOME && env.HOME !== '' ? env.HOME : os.homedir()
  const configHome = env.XDG_CONFIG_HOME && path.isAbsolute(env.XDG_CONFIG_HOME) ? env.XDG_CONFIG_HOME : path.join(home, '.config')
  const stateHome = env.XDG_STATE_HOME && path.isAbsolute(env.XDG_STATE_HOME) ? env.XDG_STATE_HOME : path.join(home, '.local', 'state')
  const sshConfig = overrides.sshConfig ?? (env.ONA_SSH_CONFIG && env.ONA_SSH_CONFIG !== '' ? env.ONA_SSH_CONFIG : path.join(home, '.ssh', 'config'))
  return {
    home,
    sshConfig: expandHome(sshConfig, home),
    configDir: path.join(configHome, 'ona'),
    stateDir: path.join(stateHome, 'ona'),
  }
}

export function expandHome(p: string, home: string): string {
  if (p === '~') return home
  if (p.startsWith('~/')) return path.join(home, p.slice(2))
  return path.resolve(p)
}
