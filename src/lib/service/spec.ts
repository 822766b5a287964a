/**
 * What a per-user service that runs the watcher needs, whatever the platform: absolute paths of node and
 * of ona's launcher (launchd's and Task Scheduler's minimal PATH find neither Homebrew nor nvm node), the
 * arguments, the environment the user's shell had (environment.ts), the names derived from what it
 * serves (naming.ts), and where logs go.
 */
import type {Context} from '../context.js'
import {isMac, isWindows, pathFor} from '../platform/platform.js'
import {WATCH_NODE_FLAGS} from '../watch/runtime.js'
import {serviceEnvironment} from './environment.js'
import {markerText, serviceNames, serviceSuffix, type ServiceTarget} from './naming.js'

export interface ServiceSpec {
  platform: Context['platform']
  /** The API and SSH config this service keeps current. */
  target: ServiceTarget
  /** The service's names (unit, launchd label, task), unique per target. */
  names: {systemd: string; launchd: string; task: string}
  /** The line that records the target in the definition (naming.ts). */
  marker: string
  /** Absolute path of the node binary that runs ona now. */
  node: string
  /** Node's own flags before the launcher: the watcher's memory settings (watch/runtime.ts). */
  nodeFlags: readonly string[]
  /** Absolute path of ona's launcher (bin/run.js). */
  script: string
  /** The command line after the script: `ssh-sync --watch --service --ssh-config <file> [...]`. */
  args: string[]
  /** Variables the definition sets: ONA_API_URL, then what the user's shell had (environment.ts). */
  env: Record<string, string>
  /** Variables of the shell left out because their value cannot be written on one line. */
  skippedEnv: string[]
  home: string
  stateDir: string
  /** Where the platform keeps this service's logs (systemd: the journal, so no file). */
  logFile?: string
  /** The running systemd's version (RestartSteps= needs 254); undefined: not known. */
  systemdVersion?: number
}

export function serviceSpec(ctx: Context, options: {node: string; script: string; target: ServiceTarget; systemdVersion?: number}): ServiceSpec {
  const sep = pathFor(ctx.platform)
  const {target} = options
  const {env: copied, skipped} = serviceEnvironment(ctx.env)
  // The API is pinned here and the config by --ssh-config: a different shell later cannot move the service.
  const env: Record<string, string> = {ONA_API_URL: target.apiUrl, ...copied}
  const suffix = serviceSuffix(target, ctx.platform)
  // --service: after `ona ssh-sync --remove` the service ends at its next start instead of restoring the block.
  const args = ['ssh-sync', '--watch', '--service', '--ssh-config', target.sshConfig]
  // launchd restarts every non-zero exit (KeepAlive has no per-code rule): an expired token ends with 0 there.
  if (isMac(ctx.platform)) args.push('--auth-exit-code', '0')
  const logName = `watch${suffix}.log`
  let logFile: string | undefined
  if (isMac(ctx.platform)) logFile = sep.join(ctx.paths.home, 'Library', 'Logs', 'ona', logName)
  else if (isWindows(ctx.platform)) logFile = sep.join(ctx.paths.stateDir, 'logs', logName)
  return {
    platform: ctx.platform,
    target,
    names: serviceNames(suffix),
    marker: markerText(target),
    node: options.node,
    nodeFlags: WATCH_NODE_FLAGS,
    script: options.script,
    args,
    env,
    skippedEnv: skipped,
    home: ctx.paths.home,
    stateDir: ctx.paths.stateDir,
    logFile,
    systemdVersion: options.systemdVersion,
  }
}
