/**
 * macOS: a launchd agent (`~/Library/LaunchAgents/dev.ona.watch[.<suffix>].plist`, naming.ts), loaded at
 * login (RunAtLoad), restarted when it exits with an error (KeepAlive/SuccessfulExit false: exit 0, as after
 * `ona ssh-sync --remove`, stays stopped), no faster than every ThrottleInterval seconds, logging to
 * `~/Library/Logs/ona/watch[-<suffix>].log`. KeepAlive has no rule for one exit code, so an expired or revoked
 * token (exit 4 elsewhere) ends the watcher with exit 0 here (`--auth-exit-code 0`): it says why in the log,
 * records it for `ona service status`, and is not restarted. launchd starts agents with PATH=/usr/bin:/bin:/usr/sbin:/sbin, so node is
 * named by absolute path and its directory is put on PATH for anything it spawns (ssh-keygen stays in /usr/bin).
 */
import path from 'node:path'

import type {ServiceSpec} from './spec.js'

export function launchAgentsDir(home: string): string {
  return path.posix.join(home, 'Library', 'LaunchAgents')
}

export function launchdPlistPath(spec: ServiceSpec): string {
  return path.posix.join(launchAgentsDir(spec.home), `${spec.names.launchd}.plist`)
}

function xml(value: string): string {
  return value.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;').replaceAll('"', '&quot;')
}

export function renderLaunchdPlist(spec: ServiceSpec): string {
  const env: Record<string, string> = {PATH: `${path.posix.dirname(spec.node)}:/usr/bin:/bin:/usr/sbin:/sbin`, ...spec.env}
  const args = [spec.node, ...spec.nodeFlags, spec.script, ...spec.args]
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    '<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">',
    '<!-- Written by `ona service install`; `ona service uninstall` removes it. -->',
    `<!-- ${spec.marker} -->`,
    '<plist version="1.0">',
    '<dict>',
    '  <key>Label</key>',
    `  <string>${xml(spec.names.launchd)}</string>`,
    '  <key>ProgramArguments</key>',
    '  <array>',
    ...args.map((a) => `    <string>${xml(a)}</string>`),
    '  </array>',
    '  <key>EnvironmentVariables</key>',
    '  <dict>',
    ...Object.entries(env)
      .sort(([a], [b]) => (a < b ? -1 : 1))
      .flatMap(([k, v]) => [`    <key>${xml(k)}</key>`, `    <string>${xml(v)}</string>`]),
    '  </dict>',
    '  <key>RunAtLoad</key>',
    '  <true/>',
    '  <key>KeepAlive</key>',
    '  <dict>',
    '    <key>SuccessfulExit</key>',
    '    <false/>',
    '  </dict>',
    '  <key>ThrottleInterval</key>',
    '  <integer>30</integer>',
    '  <key>ProcessType</key>',
    '  <string>Background</string>',
    '  <key>StandardOutPath</key>',
    `  <string>${xml(spec.logFile ?? '/dev/null')}</string>`,
    '  <key>StandardErrorPath</key>',
    `  <string>${xml(spec.logFile ?? '/dev/null')}</string>`,
    '</dict>',
    '</plist>',
    '',
  ].join('\n')
}

export function launchdCommands(label: string, plist: string, uid: number): {install: string[][]; uninstall: string[][]; afterRemove: string[][]; status: string[]} {
  return {
    // bootout first so a second install replaces a loaded agent; its failure (not loaded) is ignored.
    install: [
      ['-launchctl', 'bootout', `gui/${uid}/${label}`],
      ['launchctl', 'bootstrap', `gui/${uid}`, plist],
    ],
    uninstall: [['-launchctl', 'bootout', `gui/${uid}/${label}`]],
    afterRemove: [],
    status: ['launchctl', 'print', `gui/${uid}/${label}`],
  }
}
