/**
 * Linux: a systemd user unit (`~/.config/systemd/user/ona-watch[-<suffix>].service`, naming.ts), started at
 * login (`WantedBy=default.target`), restarted on failure, logging to the journal (`journalctl --user -u
 * <unit>`). Exit 0 (stopped by `ona ssh-sync --remove` or `systemctl --user stop`) is not restarted; exit 4
 * (the token expired or was revoked: only `ona login` helps) is not restarted either
 * (RestartPreventExitStatus), and the unit stays "failed" with status 4, which `ona service status` reads.
 */
import path from 'node:path'

import type {ServiceSpec} from './spec.js'

/** Where the user manager reads units from: `$XDG_CONFIG_HOME/systemd/user` (default `~/.config/...`). */
export function systemdUnitDir(env: NodeJS.ProcessEnv, home: string): string {
  const configHome = env.XDG_CONFIG_HOME
  const base = configHome && path.posix.isAbsolute(configHome) ? configHome : path.posix.join(home, '.config')
  return path.posix.join(base, 'systemd', 'user')
}

export function systemdUnitPath(spec: ServiceSpec): string {
  return path.posix.join(systemdUnitDir({XDG_CONFIG_HOME: spec.env.XDG_CONFIG_HOME ?? spec.platform.env.XDG_CONFIG_HOME}, spec.home), spec.names.systemd)
}

/** systemd's own quoting for ExecStart= and Environment= (double quotes, backslash escapes, `%` doubled). */
function quote(value: string): string {
  return `"${value.replaceAll('\\', '\\\\').replaceAll('"', '\\"').replaceAll('%', '%%').replaceAll('$', '$$$$')}"`
}

export function renderSystemdUnit(spec: ServiceSpec): string {
  const exec = [spec.node, ...spec.nodeFlags, spec.script, ...spec.args].map(quote).join(' ')
  // Backoff: systemd 254+ grows the delay from RestartSec to RestartMaxDelaySec over RestartSteps restarts;
  // older ones restart every RestartSec (and never give up: StartLimitIntervalSec=0).
  const backoff = (spec.systemdVersion ?? 0) >= 254 ? ['RestartSec=5s', 'RestartSteps=6', 'RestartMaxDelaySec=5min'] : ['RestartSec=30s']
  const lines = [
    '# Written by `ona service install`; `ona service uninstall` removes it.',
    `# ${spec.marker}`,
    '[Unit]',
    'Description=ona: keep the SSH aliases of your environments current',
    'StartLimitIntervalSec=0',
    '',
    '[Service]',
    'Type=simple',
    `ExecStart=${exec}`,
    ...Object.entries(spec.env)
      .sort(([a], [b]) => (a < b ? -1 : 1))
      .map(([k, v]) => `Environment=${quote(`${k}=${v}`)}`),
    'Restart=on-failure',
    ...backoff,
    'RestartPreventExitStatus=4',
    // SIGTERM ends the watcher cleanly (lock released, exit 0) well within this.
    'TimeoutStopSec=15s',
    '',
    '[Install]',
    'WantedBy=default.target',
    '',
  ]
  return lines.join('\n')
}

/** What `ona service status` asks systemd about a unit (key=value lines). */
export const SYSTEMD_PROPERTIES = 'LoadState,ActiveState,SubState,Result,ExecMainStatus,NRestarts'

export function systemdCommands(unit: string): {install: string[][]; uninstall: string[][]; afterRemove: string[][]; status: string[]} {
  return {
    install: [
      ['systemctl', '--user', 'daemon-reload'],
      ['systemctl', '--user', 'enable', unit],
      // Not `enable --now`: a unit already running would keep the old definition (a changed proxy, a moved node).
      ['systemctl', '--user', 'restart', unit],
    ],
    uninstall: [['systemctl', '--user', 'disable', '--now', unit]],
    // The unit file is gone: systemd forgets it (and a "failed" state) only after a reload.
    afterRemove: [['-systemctl', '--user', 'daemon-reload'], ['-systemctl', '--user', 'reset-failed', unit]],
    status: ['systemctl', '--user', 'show', unit, `--property=${SYSTEMD_PROPERTIES}`],
  }
}
