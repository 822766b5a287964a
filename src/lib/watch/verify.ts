/**
 * Watch mode's `ssh -G` check of what it wrote, beside the writer, never in its way:
 *
 * - The aliases a write changed are queued; one verification runs at a time and takes every alias queued
 *   meanwhile (a burst of writes costs one more run, not one each). The first request after start checks
 *   every alias of this install once.
 * - Each run is bounded by verify.ts (a few processes at a time, each killed after 5 s, 20 s in all), and
 *   `close()` kills what is in flight: a watcher stops at once.
 * - A problem (an option ssh will not take from the block, as file:line and value) is reported once, not on
 *   every write that touches an alias it affects; once a complete run no longer sees it, it may be
 *   reported again if it comes back. A note (no ssh installed, a `Match exec`) is said once.
 */
import type {Warning} from '../errors.js'
import type {DiskVerification} from '../sync/sync.js'
import {BoundedSet} from './seen.js'

/**
 * What a verifier remembers is bounded (issue 18: a watcher runs for months): open problems and notes
 * said. Past the ceiling the oldest is forgotten and, if it shows up again, said again once.
 */
export const MAX_OPEN_PROBLEMS = 1000
export const MAX_NOTES = 64

export interface WriteVerifierOptions {
  /** One verification: `environmentAliases` undefined checks every alias (sync.ts verifyConfigOnDisk). */
  verify: (environmentAliases: string[] | undefined, signal: AbortSignal) => Promise<DiskVerification>
  /** A problem not reported before. */
  report: (warning: Warning) => void
  /** A note not said before. */
  note: (message: string) => void
  /** Told after every run (tests). */
  onVerified?: (result: DiskVerification, requested: string[] | undefined) => void
}

/** What makes two warnings the same problem: the line that causes it when known, else the alias. */
export function problemKey(w: Warning): string {
  if (w.code === 'W_SSH_G_FAILED') return `${w.code}|${w.message.replace(/^ssh -G \S+ /, '')}`
  if (w.file !== undefined) return [w.code, w.option, w.actual, `${w.file}:${w.line}`].join('|')
  return [w.code, w.alias, w.option, w.actual, w.alias === undefined ? w.message : ''].join('|')
}

/** The same note whatever the counts in it ("checked 3 of 40 aliases"). */
const noteKey = (note: string) => note.replaceAll(/\d+/g, '#')

export class WriteVerifier {
  private all = false
  private readonly pending = new Set<string>()
  private running: Promise<void> | undefined
  private readonly abort = new AbortController()
  /** Problems reported, with the aliases that still show them. */
  private readonly open = new Map<string, Set<string>>()
  private readonly notes = new BoundedSet<string>(MAX_NOTES)

  constructor(private readonly options: WriteVerifierOptions) {}

  /** Queues environments (by `.gitpod.environment` alias), or every alias, for a check. */
  request(environmentAliases: readonly string[] | 'all'): void {
    if (this.abort.signal.aborted) return
    if (environmentAliases === 'all') this.all = true
    else for (const alias of environmentAliases) this.pending.add(alias)
    if (!this.all && this.pending.size === 0) return
    this.running ??= this.loop().finally(() => {
      this.running = undefined
    })
  }

  /** Resolves once no run is in flight (nothing queued either). */
  async idle(): Promise<void> {
    while (this.running) await this.running
  }

  /** Kills a run in flight and takes no more requests. */
  async close(): Promise<void> {
    this.abort.abort()
    await this.idle()
  }

  private async loop(): Promise<void> {
    while ((this.all || this.pending.size > 0) && !this.abort.signal.aborted) {
      const requested = this.all ? undefined : [...this.pending]
      this.all = false
      this.pending.clear()
      let result: DiskVerification
      try {
        result = await this.options.verify(requested, this.abort.signal)
      } catch (error) {
        this.say(`not checked with ssh -G: ${(error as Error).message}`)
        continue
      }
      if (this.abort.signal.aborted) return
      this.take(result)
      this.options.onVerified?.(result, requested)
    }
  }

  private take(result: DiskVerification): void {
    if (result.note) this.say(result.note)
    const seen = new Map<string, Set<string>>()
    for (const warning of result.warnings) {
      const key = problemKey(warning)
      const aliases = seen.get(key) ?? new Set<string>()
      if (warning.alias) aliases.add(warning.alias)
      seen.set(key, aliases)
      const known = this.open.get(key)
      if (known) {
        // Seen again: the most recent, the last to be forgotten.
        this.open.delete(key)
        this.open.set(key, known)
        continue
      }
      this.open.set(key, new Set())
      if (this.open.size > MAX_OPEN_PROBLEMS) this.open.delete(this.open.keys().next().value!)
      this.options.report(warning)
    }
    for (const [key, aliases] of seen) for (const alias of aliases) this.open.get(key)?.add(alias)
    // A complete run that checked an alias and no longer saw its problem: that alias is clear of it.
    if (result.note !== undefined) return
    for (const [key, aliases] of this.open) {
      for (const alias of result.aliases ?? []) if (!seen.get(key)?.has(alias)) aliases.delete(alias)
      if (aliases.size === 0 && !seen.has(key)) this.open.delete(key)
    }
  }

  private say(note: string): void {
    if (this.notes.add(noteKey(note))) this.options.note(note)
  }
}
