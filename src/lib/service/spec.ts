/**
 * What a per-user service that runs the watcher needs, whatever the platform: absolute paths of node and
 * of ona's launcher (launchd's and Task Scheduler's minimal PATH find neither Homebrew nor nvm node), the
 * arguments, the few environment variables that select the API and the config, and where logs go.
 */
import type {Context} from '../context.js'
import {isMac, isWindows, pathFor} from '../platform/platform.js'
import {WATCH_NODE_FLAGS} from '../watch/runtime.js'

export interface ServiceSpec {
  platform: Context['platform']
  /** Absolute path of the node binary that runs ona now. */
  node: string
  /** Node's own flags before the launcher: the watcher's memory settings (watch/runtime.ts). */
  nodeFlags: readonly string[]
  /** Absolute path of ona's launcher (bin/run.js). */
  script: string
  /** The command line after the script: `ssh-sync --watch [...]`. */
  args: string[]
  /** Variables the unit sets (only those that change what the watcher does). */
  env: Record<string, string>
  home: string
  stateDir: string
  /** Where the platform keeps this service's logs (systemd: the journal, so no file). */
  logFile?: string
  /** The running systemd's version (RestartSteps= needs 254); undefined: not known. */
  systemdVersion?: number
}

/** Variables passed through to the service when set: they select the API, the config, the dirs. */
const PASSED = ['ONA_API_URL', 'ONA_SSH_CONFIG', 'ONA_CONFIG_DIR', 'ONA_STATE_DIR', 'ONA_KEYRING', 'XDG_CONFIG_HOME', 'XDG_STATE_HOME']

export function serviceSpec(ctx: Context, options: {node: string; script: string; sshConfig?: string; apiUrl?: string; systemdVersion?: number}): ServiceSpec {
  const sep = pathFor(ctx.platform)
  const env: Record<string, string> = {}
  for (const name of PASSED) {
    const value = ctx.env[name]
    if (value !== undefined && value !== '') env[name] = value
  }
  if (options.apiUrl) env.ONA_API_URL = options.apiUrl
  // --service: after `ona ssh-sync --remove` the service ends at its next start instead of restoring the block.
  const args = ['ssh-sync', '--watch', '--service']
  if (options.sshConfig) args.push('--ssh-config', options.sshConfig)
  let logFile: string | undefined
  if (isMac(ctx.platform)) logFile = sep.join(ctx.paths.home, 'Library', 'Logs', 'ona', 'watch.log')
  else if (isWindows(ctx.platform)) logFile = sep.join(ctx.paths.stateDir, 'logs', 'watch.log')
  return {platform: ctx.platform, node: options.node, nodeFlags: WATCH_NODE_FLAGS, script: options.script, args, env, home: ctx.paths.home, stateDir: ctx.paths.stateDir, logFile, systemdVersion: options.systemdVersion}
}

/** The service's name on each platform. */
export const SERVICE_NAME = {systemd: 'ona-watch.service', launchd: 'dev.ona.watch', task: 'ona-watch'} as const
