/**
 * Windows: a Task Scheduler task (`ona-watch[-<suffix>]`, naming.ts) started at logon of this user, never
 * stopped for running long, and not started twice.
 *
 * The action runs node with ona's supervisor, `ona service run --definition <this xml>` (supervisor.ts),
 * which starts the watcher, appends its output to `%LOCALAPPDATA%\ona\logs\watch[-<suffix>].log` (Task
 * Scheduler captures none), and restarts it after a crash with a growing delay, never after exit 0 or 4.
 * Task Scheduler's own RestartOnFailure only retries an action that failed to start, so it is kept for that.
 *
 * What the watcher runs with (its arguments and the proxy, CA and ONA_* variables) is written in this file
 * as one comment, `<!-- ona-run {json} -->`, which the supervisor reads: nothing of it is on a command
 * line. Task Scheduler expands `%NAME%` in an action's Command, Arguments and WorkingDirectory, and an
 * earlier ona's `cmd.exe /d /c "set "K=V" && ..."` expanded it again (no escape exists for `%` in `/c`),
 * so a proxy password with `%`, or a value with `"`, arrived mangled. The action's own arguments are
 * paths quoted by the rules Windows programs parse their command line with (`CommandLineToArgvW`).
 */
import path from 'node:path'

import type {ServiceSpec} from './spec.js'

export function taskXmlPath(spec: ServiceSpec): string {
  return path.win32.join(spec.stateDir, `${spec.names.task}.xml`)
}

function xml(value: string): string {
  return value.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;').replaceAll('"', '&quot;')
}

/**
 * One argument as a Windows program's C runtime (and node) splits its command line: in double quotes,
 * a `"` as `\"`, and backslashes doubled only where they precede a quote.
 */
export function windowsArg(value: string): string {
  let out = '"'
  let backslashes = 0
  for (const ch of value) {
    if (ch === '\\') {
      backslashes++
      continue
    }
    out += ch === '"' ? `${'\\'.repeat(backslashes * 2 + 1)}"` : `${'\\'.repeat(backslashes)}${ch}`
    backslashes = 0
  }
  return `${out}${'\\'.repeat(backslashes * 2)}"`
}

/** What the supervisor starts: node's flags, ona's launcher and the watcher's arguments, its variables, the log. */
export interface TaskRun {
  nodeFlags: string[]
  script: string
  args: string[]
  env: Record<string, string>
  log: string
}

// Up to the line's end as the definition file ends lines (`\r\n` or `\n`) only: `.` with the `m` flag would also
// stop at U+2028/U+2029, which an earlier ona wrote unescaped inside JSON strings (a path or variable holding one).
const RUN_COMMENT = /^<!-- ona-run (\{[^\r\n]*\}) -->\r?$/m

/**
 * The `ona-run` comment: JSON whose `--` are written `-\u002d` (still JSON), as an XML comment may not hold `--`,
 * and whose U+2028/U+2029 (left raw by JSON.stringify) are written `\u2028`/`\u2029`, so the comment is one line
 * by every reader's rules.
 */
export function taskRunComment(spec: ServiceSpec): string {
  const run: TaskRun = {nodeFlags: [...spec.nodeFlags], script: spec.script, args: spec.args, env: spec.env, log: spec.logFile ?? 'NUL'}
  const json = JSON.stringify(run).replaceAll('--', '-\\u002d').replaceAll('\u2028', '\\u2028').replaceAll('\u2029', '\\u2029')
  return `<!-- ona-run ${json} -->`
}

/** The run a definition's comment describes; undefined when it has none or it is not what ona writes. */
export function parseTaskRun(content: string): TaskRun | undefined {
  const match = RUN_COMMENT.exec(content)
  if (!match) return undefined
  try {
    const value = JSON.parse(match[1]!) as Partial<TaskRun>
    const strings = (list: unknown): list is string[] => Array.isArray(list) && list.every((a) => typeof a === 'string')
    const env = value.env && typeof value.env === 'object' ? Object.entries(value.env) : undefined
    if (!strings(value.nodeFlags) || typeof value.script !== 'string' || !strings(value.args) || !env || !env.every(([, v]) => typeof v === 'string') || typeof value.log !== 'string') return undefined
    return {nodeFlags: value.nodeFlags, script: value.script, args: value.args, env: Object.fromEntries(env) as Record<string, string>, log: value.log}
  } catch {
    return undefined
  }
}

/** The action: node, its flags, ona's launcher, `service run --definition <this file>`. */
export function taskAction(spec: ServiceSpec): {command: string; args: string[]; workingDirectory: string} {
  return {command: spec.node, args: [...spec.nodeFlags, spec.script, 'service', 'run', '--definition', taskXmlPath(spec)], workingDirectory: spec.home}
}

/**
 * A path of the action that Task Scheduler would change: it expands `%NAME%` (with no escape) in Command,
 * Arguments and WorkingDirectory. Undefined when there is none; such a path cannot be written in a task.
 */
export function expandedByTaskScheduler(spec: ServiceSpec): string | undefined {
  const action = taskAction(spec)
  return [action.command, ...action.args, action.workingDirectory].find((value) => /%[^%\s]+%/.test(value))
}

export function renderTaskXml(spec: ServiceSpec, user: string): string {
  const action = taskAction(spec)
  return [
    '<?xml version="1.0" encoding="UTF-16"?>',
    '<!-- Written by `ona service install`; `ona service uninstall` removes it. -->',
    `<!-- ${spec.marker} -->`,
    taskRunComment(spec),
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
    // Only a failure to start the supervisor (node moved, a full disk): the supervisor restarts the watcher.
    '    <RestartOnFailure>',
    '      <Interval>PT1M</Interval>',
    '      <Count>255</Count>',
    '    </RestartOnFailure>',
    '    <Hidden>true</Hidden>',
    '    <Enabled>true</Enabled>',
    '  </Settings>',
    '  <Actions Context="Author">',
    '    <Exec>',
    `      <Command>${xml(action.command)}</Command>`,
    `      <Arguments>${xml(action.args.map(windowsArg).join(' '))}</Arguments>`,
    `      <WorkingDirectory>${xml(action.workingDirectory)}</WorkingDirectory>`,
    '    </Exec>',
    '  </Actions>',
    '</Task>',
    '',
  ].join('\r\n')
}

export function taskCommands(task: string, xmlFile: string): {install: string[][]; uninstall: string[][]; afterRemove: string[][]; status: string[]} {
  return {
    install: [
      // A running instance of an earlier definition ends first: with IgnoreNew, /Run would not start the new one.
      ['-schtasks', '/End', '/TN', task],
      ['schtasks', '/Create', '/TN', task, '/XML', xmlFile, '/F'],
      ['schtasks', '/Run', '/TN', task],
    ],
    uninstall: [
      ['-schtasks', '/End', '/TN', task],
      ['schtasks', '/Delete', '/TN', task, '/F'],
    ],
    afterRemove: [],
    // CSV without a header: columns by position, not by their (translated) names; see manager.ts.
    status: ['schtasks', '/Query', '/TN', task, '/FO', 'CSV', '/NH', '/V'],
  }
}
