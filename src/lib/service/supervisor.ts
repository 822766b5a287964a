/**
 * Windows: the task's action is this small supervisor (`ona service run --definition <task xml>`), not the
 * watcher itself. Task Scheduler's RestartOnFailure covers only an action that fails to *start*; a watcher
 * that crashes later (any exit but 0 and 4) would stay down until the next logon. The supervisor runs the
 * watcher as a child and applies the restart policy the systemd unit has:
 *
 * - exit 0 (stopped by `ona ssh-sync --remove`, or asked to stop): not restarted; the supervisor ends with 0;
 * - exit 4 (the token expired or was revoked: only `ona login` helps): not restarted; the supervisor ends
 *   with 4, which the task keeps as its Last Result and `ona service status` reads (with the watcher's own
 *   record of why, exit-record.ts);
 * - anything else (a crash, a signal): restarted after a delay that doubles from 5 s up to 5 min, and
 *   starts again from 5 s once a run lasted 10 min. Measured on the monotonic clock, never the wall clock.
 *
 * The environment the watcher needs (proxy, CA, ONA_*) is read from the definition file ona wrote, not put
 * on a command line: Task Scheduler expands `%NAME%` in an action's arguments and `cmd.exe /c` expands it
 * again, so a proxy password or NO_PROXY list with `%` or `"` cannot survive either (task-scheduler.ts).
 *
 * The loop (`superviseWatcher`) takes the child's start and the sleep as parameters, so the same policy is
 * tested on Linux with real child processes.
 */
import {closeSync, openSync, writeSync} from 'node:fs'
import {performance} from 'node:perf_hooks'

import {EXIT} from '../errors.js'

export interface RestartPolicy {
  firstDelayMs: number
  maxDelayMs: number
  /** A run at least this long counts as healthy: the next delay starts from the first again. */
  steadyMs: number
}

export const RESTART_POLICY: RestartPolicy = {firstDelayMs: 5000, maxDelayMs: 300_000, steadyMs: 600_000}

/** How one run of the watcher ended. */
export interface ChildExit {
  /** Exit code; null when a signal ended it (or it could not be started). */
  code: number | null
  signal?: string | null
  /** How long it ran, on the monotonic clock. */
  ranMs: number
  /** Why it could not be started at all (spawn error). */
  error?: string
}

export type Decision = {action: 'stop'; exitCode: number; why: string} | {action: 'restart'; delayMs: number; failures: number; why: string}

/** What to do after a run ended; `failures` counts the crashes in a row before this one. */
export function nextStep(exit: ChildExit, failures: number, policy: RestartPolicy = RESTART_POLICY): Decision {
  if (exit.code === 0) return {action: 'stop', exitCode: 0, why: 'the watcher ended cleanly (exit 0): not restarted'}
  if (exit.code === EXIT.AUTH) return {action: 'stop', exitCode: EXIT.AUTH, why: 'the token expired or was revoked (exit 4): not restarted; run `ona login`, then `ona service install`'}
  const inRow = exit.ranMs >= policy.steadyMs ? 1 : failures + 1
  const delayMs = Math.min(policy.maxDelayMs, policy.firstDelayMs * 2 ** Math.min(inRow - 1, 30))
  const how = exit.error ? `could not start (${exit.error})` : exit.signal ? `was ended by ${exit.signal}` : `exited with ${exit.code}`
  return {action: 'restart', delayMs, failures: inRow, why: `the watcher ${how} after ${Math.round(exit.ranMs / 1000)} s: restarted in ${Math.round(delayMs / 1000)} s`}
}

export interface SuperviseOptions {
  /** Starts the watcher once; resolves when it ended. */
  start: () => Promise<ChildExit>
  /** Waits `ms` (resolves early when `signal` aborts). */
  sleep: (ms: number, signal?: AbortSignal) => Promise<void>
  log: (line: string) => void
  /** Aborted: no further start; the loop ends with 0 once the running watcher ended. */
  signal?: AbortSignal
  policy?: RestartPolicy
}

/** Runs the watcher until the policy says stop; resolves with the supervisor's exit code. */
export async function superviseWatcher(options: SuperviseOptions): Promise<number> {
  let failures = 0
  for (;;) {
    if (options.signal?.aborted) return 0
    const exit = await options.start()
    if (options.signal?.aborted) return 0
    const step = nextStep(exit, failures, options.policy)
    options.log(step.why)
    if (step.action === 'stop') return step.exitCode
    failures = step.failures
    await options.sleep(step.delayMs, options.signal)
  }
}

/** Appends one timestamped line of the supervisor's own to the log (best effort). */
function logLine(fd: number | undefined, line: string): void {
  if (fd === undefined) return
  try {
    writeSync(fd, `${new Date().toISOString()} ona service: ${line}\n`)
  } catch {
    // A log that cannot be written must not stop the watcher.
  }
}

/**
 * `ona service run --definition <file>`: reads the run the definition describes (task-scheduler.ts), and
 * supervises the watcher with it: node (the one running this), its flags, ona's launcher and the watcher's
 * arguments, this process's environment plus the definition's variables, output appended to the log.
 * Resolves with the exit code the supervisor should end with. SIGINT/SIGTERM/SIGBREAK stop the watcher
 * (which releases its lock) and end the supervisor with 0.
 */
export async function runDefinition(file: string, options: {policy?: RestartPolicy} = {}): Promise<number> {
  const [{readFile}, {spawn}, path, {parseTaskRun}, {OnaError}, {mkdirOwned}] = await Promise.all([
    import('node:fs/promises'),
    import('node:child_process'),
    import('node:path'),
    import('./task-scheduler.js'),
    import('../errors.js'),
    import('../fs/safe-write.js'),
  ])
  const bytes = await readFile(file).catch((error: NodeJS.ErrnoException) => {
    throw new OnaError('ERR_SERVICE', `cannot read the service definition ${file} (${error.code ?? 'unknown'})`, {hint: 'Run `ona service install` again.', details: {file}})
  })
  const run = parseTaskRun(decodeDefinition(bytes))
  if (!run) throw new OnaError('ERR_SERVICE', `${file} does not describe what the service runs (no ona-run line)`, {hint: 'Run `ona service install` again: it rewrites the file.', details: {file}})
  let fd: number | undefined
  if (run.log !== 'NUL') {
    await mkdirOwned(path.dirname(run.log)).catch(() => undefined)
    try {
      fd = openSync(run.log, 'a', 0o600)
    } catch {
      fd = undefined
    }
  }
  const abort = new AbortController()
  let child: import('node:child_process').ChildProcess | undefined
  const stop = () => {
    abort.abort()
    child?.kill('SIGTERM')
  }
  const signals: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', ...(process.platform === 'win32' ? (['SIGBREAK'] as NodeJS.Signals[]) : [])]
  for (const signal of signals) process.once(signal, stop)
  try {
    return await superviseWatcher({
      signal: abort.signal,
      policy: options.policy,
      log: (line) => logLine(fd, line),
      sleep: (ms, signal) =>
        new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, ms)
          signal?.addEventListener('abort', () => (clearTimeout(timer), resolve()), {once: true})
        }),
      start: () =>
        new Promise<ChildExit>((resolve) => {
          const began = performance.now()
          const output = fd ?? 'ignore'
          child = spawn(process.execPath, [...run.nodeFlags, run.script, ...run.args], {env: {...process.env, ...run.env}, stdio: ['ignore', output, output], windowsHide: true})
          let failed: string | undefined
          child.once('error', (error: NodeJS.ErrnoException) => (failed = error.code ?? error.message))
          child.once('close', (code, signal) => {
            child = undefined
            resolve({code: failed ? null : code, signal, ranMs: performance.now() - began, ...(failed ? {error: failed} : {})})
          })
        }),
    })
  } finally {
    for (const signal of signals) process.off(signal, stop)
    if (fd !== undefined) closeSync(fd)
  }
}

/** A definition's text: UTF-16 with a byte-order mark (what ona writes for schtasks), else UTF-8. */
export function decodeDefinition(bytes: Buffer): string {
  return bytes[0] === 0xff && bytes[1] === 0xfe ? bytes.subarray(2).toString('utf16le') : bytes.toString('utf8')
}
