/**
 * Talking to the platform's service manager (systemctl --user, launchctl, schtasks): what a failure means,
 * and what state a service is in. Pure functions over a command's exit code and output, so every platform's
 * cases are tested on Linux; the real systemctl is also run by the tests (without a user bus it fails the
 * way it does in containers and SSH sessions).
 */
import {OnaError} from '../errors.js'

export type ManagerKind = 'systemd' | 'launchd' | 'task'

export interface CommandResult {
  code: number
  stdout: string
  stderr: string
}

/** Why the manager could not be reached, when the output says so; undefined for any other failure. */
export function unreachableReason(kind: ManagerKind, result: CommandResult): {reason: string; hint: string} | undefined {
  const text = `${result.stderr}\n${result.stdout}`
  const terminal = 'or run `ona ssh-sync --watch` in a terminal (tmux or screen keeps it running after you log out)'
  if (kind === 'systemd') {
    if (result.code === 127 || /ENOENT|command not found/i.test(text)) {
      return {reason: 'systemctl is not installed: this system does not run systemd', hint: `Start \`ona ssh-sync --watch\` from your own init system or login script, ${terminal}.`}
    }
    if (/not been booted with systemd|Can't operate|System has not been booted/i.test(text)) {
      return {
        reason: 'this system was not booted with systemd (a container, or WSL without systemd)',
        hint: `On WSL, put \`systemd=true\` under \`[boot]\` in /etc/wsl.conf and restart it (\`wsl --shutdown\`), then run \`ona service install\` again; ${terminal}.`,
      }
    }
    if (/Failed to connect to (user scope )?bus|DBUS_SESSION_BUS_ADDRESS|XDG_RUNTIME_DIR|No medium found|Transport endpoint/i.test(text)) {
      return {
        reason: 'there is no systemd user session for this login (no user bus: an SSH session without lingering, a container, su/sudo)',
        hint: `Run \`loginctl enable-linger $USER\`, log in again (or set XDG_RUNTIME_DIR=/run/user/$(id -u)) and run \`ona service install\` again; ${terminal}.`,
      }
    }
    return undefined
  }
  if (kind === 'launchd') {
    if (result.code === 127 || /ENOENT/.test(text)) return {reason: 'launchctl is not installed', hint: `Run ona on macOS, ${terminal}.`}
    // 125: "Domain does not support specified action"; an SSH login has no gui/<uid> domain to bootstrap into.
    if (/Could not find domain|Domain does not support|Bootstrap failed: 125|Operation not permitted while System Integrity/i.test(text)) {
      return {
        reason: 'launchd has no login session (gui domain) for this user here (an SSH session, or nobody logged in at the Mac)',
        hint: `Run \`ona service install\` in Terminal on the Mac itself (it loads at the next login otherwise), ${terminal}.`,
      }
    }
    return undefined
  }
  if (result.code === 127 || /ENOENT/.test(text)) return {reason: 'schtasks is not available', hint: `Run ona on Windows, ${terminal}.`}
  if (/Access is denied|service is not available|Task Scheduler service is not running|The RPC server is unavailable/i.test(text)) {
    return {
      reason: 'the Task Scheduler did not accept the request from this session (access denied, or its service is not running)',
      hint: `Run \`ona service install\` in a console of your own, not elevated and not through another account, ${terminal}.`,
    }
  }
  return undefined
}

/** The typed error for a failed manager command: ERR_SERVICE_MANAGER_UNREACHABLE when it says why, else ERR_SERVICE. */
export function managerError(kind: ManagerKind, command: string[], result: CommandResult, what: string): OnaError {
  const output = (result.stderr || result.stdout).trim().slice(0, 400)
  const unreachable = unreachableReason(kind, result)
  if (unreachable) {
    return new OnaError('ERR_SERVICE_MANAGER_UNREACHABLE', `${what}: ${unreachable.reason} (\`${command.join(' ')}\`: ${output || `exit ${result.code}`})`, {
      hint: unreachable.hint,
      details: {command: command[0], code: result.code},
    })
  }
  return new OnaError('ERR_SERVICE', `${what}: \`${command.join(' ')}\` failed (exit ${result.code}): ${output}`, {details: {command: command[0], code: result.code}})
}

/** What the manager says about one service. */
export interface ManagerState {
  /** running; stopped (loaded, not running); failed; not-loaded (the manager does not know it); unreachable; unknown. */
  state: 'running' | 'stopped' | 'failed' | 'not-loaded' | 'unreachable' | 'unknown'
  /** The exit code of the last run, when the manager keeps it. */
  lastExit?: number
  /** Why the manager could not be asked (state unreachable). */
  detail?: string
}

/** Reads the answer to the status command of each platform (systemd.ts, launchd.ts, task-scheduler.ts). */
export function parseManagerState(kind: ManagerKind, result: CommandResult): ManagerState {
  const unreachable = result.code !== 0 ? unreachableReason(kind, result) : undefined
  if (unreachable) return {state: 'unreachable', detail: unreachable.reason}
  if (kind === 'systemd') {
    if (result.code !== 0) return {state: 'unknown', detail: (result.stderr || result.stdout).trim().slice(0, 200)}
    const props = Object.fromEntries(result.stdout.split('\n').map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1).trim()]))
    const lastExit = /^\d+$/.test(props.ExecMainStatus ?? '') ? Number(props.ExecMainStatus) : undefined
    const withExit = lastExit === undefined ? {} : {lastExit}
    if (props.LoadState === 'not-found') return {state: 'not-loaded'}
    if (props.ActiveState === 'active' || props.ActiveState === 'activating' || props.ActiveState === 'reloading') return {state: 'running', ...withExit}
    if (props.ActiveState === 'failed') return {state: 'failed', ...withExit}
    if (props.ActiveState === 'inactive' || props.ActiveState === 'deactivating') return {state: 'stopped', ...withExit}
    return {state: 'unknown', ...withExit}
  }
  if (kind === 'launchd') {
    // 113: "Could not find service ... in domain": not loaded.
    if (result.code === 113 || /Could not find service/i.test(result.stderr)) return {state: 'not-loaded'}
    if (result.code !== 0) return {state: 'unknown', detail: (result.stderr || result.stdout).trim().slice(0, 200)}
    return launchdState(result.stdout)
  }
  return taskState(result)
}

/**
 * `launchctl print gui/<uid>/<label>`: a brace-nested listing (not localised). Only the service's own
 * top-level lines count: nested blocks (its arguments, environment, endpoints) have lines of their own
 * such as `state = active`. `state = running` is running; `not running`, `spawn scheduled` (waiting out
 * ThrottleInterval before a restart) and the like are loaded, not running. `last exit code` is a number,
 * a number and its name (`78: EX_CONFIG`) or `(never exited)`; `last terminating signal` names a signal.
 */
export function launchdState(text: string): ManagerState {
  const top = new Map<string, string>()
  let depth = 0
  for (const line of text.split(/\r?\n/)) {
    const trimmed = line.trim()
    if (trimmed === '}' || trimmed === '};') {
      depth = Math.max(0, depth - 1)
      continue
    }
    if (depth === 1) {
      const match = /^([a-z][a-z ]*?) = (.*)$/.exec(trimmed)
      if (match && !match[2]!.endsWith('{') && !top.has(match[1]!)) top.set(match[1]!, match[2]!)
    }
    if (trimmed.endsWith('{')) depth++
  }
  const exitText = top.get('last exit code')
  const code = exitText === undefined ? undefined : /^(-?\d+)/.exec(exitText)?.[1]
  const withExit = code === undefined ? {} : {lastExit: Number(code)}
  const state = top.get('state')
  if (state === 'running') return {state: 'running', ...withExit}
  if (state === undefined) return {state: 'unknown', detail: 'launchctl print said no state', ...withExit}
  const signalled = top.has('last terminating signal')
  return {state: signalled || (code !== undefined && Number(code) !== 0) ? 'failed' : 'stopped', ...withExit}
}

/** The Status column's word for "Running" in the languages Windows ships (the column is translated). */
const TASK_RUNNING_WORDS = new Set(['running', 'wird ausgeführt', "en cours d'exécution", 'en ejecución', 'in esecuzione', 'em execução', 'wordt uitgevoerd', 'выполняется', 'uruchomione', '実行中', '正在运行', '正在執行', '실행 중'])

/** 0x41301 (SCHED_S_TASK_RUNNING): what Last Result shows while the task runs; 0x41303: it never ran. */
const TASK_RUNNING = 267009
const TASK_NEVER_RAN = 267011

/** One CSV line as schtasks writes it: fields in double quotes (`""` for a quote), separated by commas. */
export function csvFields(line: string): string[] {
  const fields: string[] = []
  let field = ''
  let quoted = false
  for (let i = 0; i < line.length; i++) {
    const ch = line[i]!
    if (quoted) {
      if (ch === '"' && line[i + 1] === '"') {
        field += '"'
        i++
      } else if (ch === '"') quoted = false
      else field += ch
    } else if (ch === '"') quoted = true
    else if (ch === ',') {
      fields.push(field)
      field = ''
    } else field += ch
  }
  fields.push(field)
  return fields
}

/**
 * `schtasks /Query /TN <task> /FO CSV /NH /V`: one row per trigger, columns by position (HostName,
 * TaskName, Next Run Time, Status, Logon Mode, Last Run Time, Last Result, ...), so the translated
 * headers of a German or French Windows do not matter. The Status column itself is translated: the
 * number in Last Result decides first (0x41301 while the task runs), a known word for "Running" second.
 * A task that does not exist is an error whose text is translated too: with a definition file on disk
 * (which `status` checked first), any "cannot find" in a language ona knows, or no output at all, is
 * "not loaded".
 */
export function taskState(result: CommandResult): ManagerState {
  if (result.code !== 0) {
    const text = `${result.stderr}\n${result.stdout}`
    if (/cannot find|does not exist|nicht finden|existiert nicht|introuvable|n'existe pas|no se puede encontrar|no existe/i.test(text)) return {state: 'not-loaded'}
    return {state: 'unknown', detail: (result.stderr || result.stdout).trim().slice(0, 200)}
  }
  const row = result.stdout
    .split(/\r?\n/)
    .map(csvFields)
    .find((fields) => fields.length >= 7 && /^-?\d+$/.test(fields[6]!))
  if (!row) return {state: 'unknown', detail: result.stdout.trim().slice(0, 200) || 'schtasks said nothing'}
  const status = row[3]!.trim().toLowerCase()
  const last = Number(row[6])
  const lastExit = last === TASK_RUNNING || last === TASK_NEVER_RAN ? {} : {lastExit: last}
  if (last === TASK_RUNNING || TASK_RUNNING_WORDS.has(status)) return {state: 'running', ...lastExit}
  if ('lastExit' in lastExit && lastExit.lastExit !== 0) return {state: 'failed', ...lastExit}
  return {state: 'stopped', ...lastExit}
}
