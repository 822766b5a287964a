/**
 * Linux: a systemd user unit (`~/.config/systemd/user/ona-watch.service`), started at login
 * (`WantedBy=default.target`), restarted on failure, logging to the journal (`journalctl --user -u
 * ona-watch`). Exit 0 (stopped by `ona ssh-sync --remove` or `systemctl --user stop`) is not restarted;
 * exit 4 (the token expired: only `ona login` helps) is not restarted either.
 */
import path from 'node:path'

import type {ServiceSpec} from './spec.js'
import {SERVICE_NAME} from './spec.js'

export function systemdUnitPath(spec: ServiceSpec): string {
  const configHome = spec.env.XDG_CONFIG_HOME ?? spec.platform.env.XDG_CONFIG_HOME
  const base = configHome && path.posix.isAbsolute(configHome) ? configHome : path.posix.join(spec.home, '.config')
  return path.posix.join(base, 'systemd', 'user', SERVICE_NAME.systemd)
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

export function systemdCommands(): {install: string[][]; uninstall: string[][]; status: string[]} {
  return {
    install: [
      ['systemctl', '--user', 'daemon-reload'],
      ['systemctl', '--user', 'enable', '--now', SERVICE_NAME.systemd],
    ],
    uninstall: [['systemctl', '--user', 'disable', '--now', SERVICE_NAME.systemd]],
    status: ['systemctl', '--user', 'is-active', SERVICE_NAME.systemd],
  }
}
