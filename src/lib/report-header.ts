/**
 * The header every report ona prints with `--json` begins with (`ona preflight`, `ona doctor`): the schema
 * version, the verdict and the exit code it gives, when it started, how long it took and its time budget.
 * One type and one builder, so the reports keep the same header fields, in the same order, with the same
 * meaning. Imports nothing: both report modules use it without a cycle.
 */

export type Verdict = 'pass' | 'warn' | 'fail'

export interface ReportHeader {
  schemaVersion: 1
  /** fail when something failed that makes the command fail; warn when anything else was not a pass; else pass. */
  verdict: Verdict
  /** 1 when the verdict is fail, else 0. */
  exitCode: 0 | 1
  startedAt: string
  durationMs: number
  /** The report's overall time budget (every probe is capped within it). */
  timeoutMs: number
}

/** The header of a report that started at `started` (ms since the epoch) and ends now. */
export function reportHeader(options: {started: number; timeoutMs: number; failed: boolean; warned: boolean}): ReportHeader {
  return {
    schemaVersion: 1,
    verdict: options.failed ? 'fail' : options.warned ? 'warn' : 'pass',
    exitCode: options.failed ? 1 : 0,
    startedAt: new Date(options.started).toISOString(),
    durationMs: Date.now() - options.started,
    timeoutMs: options.timeoutMs,
  }
}
