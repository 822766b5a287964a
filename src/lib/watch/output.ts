/**
 * What watch mode says, for a terminal and for log collectors: one line per change or incident on stdout,
 * each with a UTC timestamp; with `--json`, one JSON object per line instead (JSON Lines), the same events.
 *
 * Incidents (the event stream lost, the management plane failing, the SSH config unusable) are reported
 * once when they start and once, as `recovered`, when they end; the repeats in between are counted, not
 * printed, so a watcher left running through an outage writes two lines, not two thousand.
 */
import type {Context} from '../context.js'
import {formatSyncResult, type SyncResult} from '../sync/sync.js'
import {MESSAGE_MAX, printable} from '../printable.js'
import {BoundedSet} from './seen.js'

/** How many distinct warning texts a watcher remembers having shown. */
export const MAX_WARNED = 256

export type WatchEventType = 'started' | 'change' | 'warning' | 'error' | 'recovered' | 'stopped'

/** One line of `ona ssh-sync --watch --json`. The shape is locked by a test: add fields, never rename. */
export interface WatchLogEvent {
  time: string
  type: WatchEventType
  message: string
  /** Incidents: which kind ('stream', 'api', 'config', 'file'); recovered: how long it lasted. */
  incident?: IncidentKind
  durationMs?: number
  /** Changes: why the block was written, and what changed. */
  reason?: string
  added?: Array<{alias: string; address: string}>
  updated?: Array<{alias: string; from: string; to: string}>
  removed?: Array<{alias: string; address: string}>
  environments?: number
  code?: string
  sshConfig?: string
  pid?: number
  /**
   * Warnings from `ssh -G` (W_SSH_DIFFERS): which option of which alias, what ona wrote, what ssh will use,
   * and the file and line that set it when known.
   */
  option?: string
  alias?: string
  expected?: string
  actual?: string
  file?: string
  line?: number
}

export type IncidentKind = 'stream' | 'api' | 'config' | 'file'

export interface WatchReporter {
  emit(event: Omit<WatchLogEvent, 'time'>): void
  /**
   * A warning shown once, not on every write that meets it again. What was shown is remembered up to
   * MAX_WARNED texts (least recently met forgotten first), not for the life of the process.
   */
  warnOnce(message: string, code?: string): void
  change(result: SyncResult, reason: string): void
  /** Starts an incident (printed only if it is not already open). */
  incident(kind: IncidentKind, message: string, code?: string): void
  /** Ends an incident (prints `recovered` only if one was open). */
  recovered(kind: IncidentKind, message: string): void
  isOpen(kind: IncidentKind): boolean
}

export function createWatchReporter(ctx: Context, options: {json?: boolean; now?: () => number} = {}): WatchReporter {
  const now = options.now ?? Date.now
  const open = new Map<IncidentKind, {since: number; repeats: number}>()
  const write = (event: WatchLogEvent) => {
    if (options.json) ctx.io.print(JSON.stringify(event))
    else ctx.io.print(`${event.time} ${event.type === 'warning' || event.type === 'error' || event.type === 'recovered' ? `${event.type}: ` : ''}${printable(event.message, MESSAGE_MAX)}`)
  }
  const emit = (event: Omit<WatchLogEvent, 'time'>) => write({time: new Date(now()).toISOString().replace(/\.\d{3}Z$/, 'Z'), ...event})
  const warned = new BoundedSet<string>(MAX_WARNED)
  return {
    emit,
    warnOnce(message, code) {
      if (warned.add(message)) emit({type: 'warning', message, ...(code ? {code} : {})})
    },
    change(result, reason) {
      const lines = formatSyncResult(result, ctx.paths.home)
      if (options.json) {
        emit({
          type: 'change',
          message: lines.at(-1) ?? 'updated',
          reason,
          added: result.added.map(({alias, address}) => ({alias, address})),
          updated: result.updated.map(({alias, from, to}) => ({alias, from, to})),
          removed: result.removed.map(({alias, address}) => ({alias, address})),
          environments: result.environments,
        })
        return
      }
      // One line per change: the alias lines, or the summary alone when no alias changed.
      const changes = lines.filter((l) => /^(added|updated|removed) /.test(l))
      for (const line of changes.length > 0 ? changes : lines.slice(-1)) emit({type: 'change', message: line})
    },
    incident(kind, message, code) {
      const current = open.get(kind)
      if (current) {
        current.repeats++
        return
      }
      open.set(kind, {since: now(), repeats: 0})
      emit({type: 'warning', incident: kind, message, ...(code ? {code} : {})})
    },
    recovered(kind, message) {
      const current = open.get(kind)
      if (!current) return
      open.delete(kind)
      const durationMs = now() - current.since
      emit({type: 'recovered', incident: kind, message: `${message} (after ${formatDuration(durationMs)})`, durationMs})
    },
    isOpen: (kind) => open.has(kind),
  }
}

export function formatDuration(ms: number): string {
  const s = Math.round(ms / 1000)
  if (s < 60) return `${s} s`
  const m = Math.floor(s / 60)
  if (m < 60) return `${m} min ${s % 60} s`
  return `${Math.floor(m / 60)} h ${m % 60} min`
}
