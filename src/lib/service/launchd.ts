/**
 * macOS: a launchd agent (`~/Library/LaunchAgents/dev.ona.watch.plist`), loaded at login (RunAtLoad),
 * restarted when it exits with an error (KeepAlive/SuccessfulExit false: exit 0, as after
 * `ona ssh-sync --remove`, stays stopped), no faster than every ThrottleInterval seconds, logging to
 * `~/Library/Logs/ona/watch.log`. launchd starts agents with PATH=/usr/bin:/bin:/usr/sbin:/sbin, so node is
 * named by absolute path and its directory is put on PATH for anything it spawns (ssh-keygen stays in /usr/bin).
 */
import path from 'node:path'

import type {ServiceSpec} from './spec.js'
import {SERVICE_NAME} from './spec.js'

export function launchdPlistPath(spec: ServiceSpec): string {
  return path.posix.join(spec.home, 'Library', 'LaunchAgents', `${SERVICE_NAME.launchd}.plist`)
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
    '<plist version="1.0">',
    '<dict>',
    '  <key>Label</key>',
    `  <string>${SERVICE_NAME.launchd}</string>`,
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

export function launchdCommands(spec: ServiceSpec, uid: number): {install: string[][]; uninstall: string[][]; status: string[]} {
  const plist = launchdPlistPath(spec)
  return {
    // bootout first so a second install replaces a loaded agent; its failure (not loaded) is ignored.
    install: [
      ['-launchctl', 'bootout', `gui/${uid}/${SERVICE_NAME.launchd}`],
      ['launchctl', 'bootstrap', `gui/${uid}`, plist],
    ],
    uninstall: [['-launchctl', 'bootout', `gui/${uid}/${SERVICE_NAME.launchd}`]],
    status: ['launchctl', 'print', `gui/${uid}/${SERVICE_NAME.launchd}`],
  }
}
