/**
 * Windows: a Task Scheduler task (`ona-watch[-<suffix>]`, naming.ts) started at logon of this user, never
 * stopped for running long, and not started twice. Task Scheduler does not capture output, so the action is
 * `cmd.exe /d /c` with the output appended to `%LOCALAPPDATA%\ona\logs\watch[-<suffix>].log`.
 *
 * Restarts: Task Scheduler's RestartOnFailure retries a task whose action failed to *start* (at most 255
 * times: the schema's Count is an unsignedByte); a program that runs and then exits, whatever its exit code,
 * is not started again until the next logon. So exit 4 (an expired token) is never restarted in a loop here,
 * and neither is a crash: the log and `ona service status` (the task's Last Result) say why it stopped.
 */
import path from 'node:path'

import type {ServiceSpec} from './spec.js'

export function taskXmlPath(spec: ServiceSpec): string {
  return path.win32.join(spec.stateDir, `${spec.names.task}.xml`)
}

function xml(value: string): string {
  return value.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;').replaceAll('"', '&quot;')
}

/** cmd.exe quoting: each argument in double quotes (paths with spaces), `%` doubled is not needed in /c. */
function cmdQuote(value: string): string {
  return `"${value.replaceAll('"', '""')}"`
}

export function renderTaskXml(spec: ServiceSpec, user: string): string {
  const set = Object.entries(spec.env)
    .sort(([a], [b]) => (a < b ? -1 : 1))
    .map(([k, v]) => `set "${k}=${v}" && `)
    .join('')
  const command = `${set}${[spec.node, ...spec.nodeFlags, spec.script, ...spec.args].map(cmdQuote).join(' ')} >> ${cmdQuote(spec.logFile ?? 'NUL')} 2>&1`
  return [
    '<?xml version="1.0" encoding="UTF-16"?>',
    '<!-- Written by `ona service install`; `ona service uninstall` removes it. -->',
    `<!-- ${spec.marker} -->`,
    '<Task version="1.2" xmlns="http://schemas.microsoft.com/windows/2004/02/mit/task">',
    '  <RegistrationInfo>',
    '    <Description>ona: keep the SSH aliases of your environments current</Description>',
    `    <URI>\\${xml(spec.names.task)}</URI>`,
    '  </RegistrationInfo>',
    '  <Triggers>',
    '    <LogonTrigger>',
    '      <Enabled>true</Enabled>',
    `      <UserId>${xml(user)}</UserId>`,
    '    </LogonTrigger>',
    '  </Triggers>',
    '  <Principals>',
    '    <Principal id="Author">',
    `      <UserId>${xml(user)}</UserId>`,
    '      <LogonType>InteractiveToken</LogonType>',
    '      <RunLevel>LeastPrivilege</RunLevel>',
    '    </Principal>',
    '  </Principals>',
    '  <Settings>',
    '    <MultipleInstancesPolicy>IgnoreNew</MultipleInstancesPolicy>',
    '    <DisallowStartIfOnBatteries>false</DisallowStartIfOnBatteries>',
    '    <StopIfGoingOnBatteries>false</StopIfGoingOnBatteries>',
    '    <StartWhenAvailable>true</StartWhenAvailable>',
    '    <RunOnlyIfNetworkAvailable>false</RunOnlyIfNetworkAvailable>',
    '    <ExecutionTimeLimit>PT0S</ExecutionTimeLimit>',
    '    <RestartOnFailure>',
    '      <Interval>PT1M</Interval>',
    '      <Count>255</Count>',
    '    </RestartOnFailure>',
    '    <Hidden>true</Hidden>',
    '    <Enabled>true</Enabled>',
    '  </Settings>',
    '  <Actions Context="Author">',
    '    <Exec>',
    '      <Command>cmd.exe</Command>',
    `      <Arguments>/d /c "${xml(command)}"</Arguments>`,
    `      <WorkingDirectory>${xml(spec.home)}</WorkingDirectory>`,
    '    </Exec>',
    '  </Actions>',
    '</Task>',
    '',
  ].join('\r\n')
}

export function taskCommands(task: string, xmlFile: string): {install: string[][]; uninstall: string[][]; afterRemove: string[][]; status: string[]} {
  return {
    install: [
      ['schtasks', '/Create', '/TN', task, '/XML', xmlFile, '/F'],
      ['schtasks', '/Run', '/TN', task],
    ],
    uninstall: [
      ['-schtasks', '/End', '/TN', task],
      ['schtasks', '/Delete', '/TN', task, '/F'],
    ],
    afterRemove: [],
    status: ['schtasks', '/Query', '/TN', task, '/FO', 'LIST', '/V'],
  }
}
