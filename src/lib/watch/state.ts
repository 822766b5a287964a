/**
 * What watch mode believes about each environment, and the rules that keep a late or stale answer from
 * undoing a newer one. Pure (no I/O, no timers), so the rules are table-tested on their own.
 *
 * - Per environment, `statusVersion` orders everything: an answer older than what is known is dropped,
 *   whether it comes from GetEnvironment or from a listing.
 * - A deleted environment leaves a tombstone: a GetEnvironment reply or a listing that was already on its
 *   way when the delete was seen cannot bring it back.
 * - A listing is a snapshot taken some time after it was requested: it never removes an environment that
 *   was learned about after the request was sent (`mark()`), and never replaces a newer state.
 * - Environments of colleagues (organisation-wide events) are remembered as foreign, so their events cost
 *   no further GetEnvironment.
 * - "Could not read" is never "deleted": an environment whose record failed validation in a listing keeps
 *   what was known about it, and a listing holding a record without a readable id removes nothing. The
 *   snapshot carries those problems, so the write keeps their entries as they are in the file.
 */
import type {Environment, EnvironmentProblem, ListEnvironmentsResult} from '../api/types.js'

/** Bounds on remembered ids, so a watcher left running for weeks in a busy organisation stays small. */
const MAX_TOMBSTONES = 10_000
const MAX_FOREIGN = 10_000

interface Entry {
  env: Environment
  problems: EnvironmentProblem[]
  /** Sequence number of the last change to this entry (compared with listing marks). */
  seq: number
}

export type UpdateOutcome = 'applied' | 'unchanged' | 'stale' | 'deleted' | 'foreign'

export class EnvironmentLedger {
  private readonly entries = new Map<string, Entry>()
  private readonly tombstones = new Map<string, number>()
  private readonly foreign = new Set<string>()
  /** The last listing's unreadable records (by id), and those whose id could not be read. */
  private unreadable = new Map<string, EnvironmentProblem>()
  private anonymous: EnvironmentProblem[] = []
  private seq = 0

  /** Taken just before a listing request is sent; pass it to applyListing. */
  mark(): number {
    return this.seq
  }

  /** Whether an event about this id needs a GetEnvironment at all. */
  wantsFetch(id: string): boolean {
    return !this.tombstones.has(id) && !this.foreign.has(id)
  }

  isDeleted(id: string): boolean {
    return this.tombstones.has(id)
  }

  /** One environment as GetEnvironment returned it. `subjectId` is the caller (undefined: unknown, keep all). */
  update(env: Environment, problems: readonly EnvironmentProblem[], subjectId?: string): UpdateOutcome {
    if (this.tombstones.has(env.id)) return 'deleted'
    if (subjectId !== undefined && env.creatorId !== undefined && env.creatorId !== subjectId) {
      remember(this.foreign, env.id, MAX_FOREIGN)
      return 'foreign'
    }
    return this.put(env, problems)
  }

  /** A DELETE event or a NOT_FOUND answer: gone for good. */
  delete(id: string): boolean {
    const had = this.entries.delete(id)
    this.seq++
    this.tombstones.delete(id)
    this.tombstones.set(id, this.seq)
    if (this.tombstones.size > MAX_TOMBSTONES) this.tombstones.delete(this.tombstones.keys().next().value!)
    return had
  }

  /** A NOT_FOUND answer: removed, but without a tombstone (a new environment may not be visible yet). */
  forget(id: string): boolean {
    this.seq++
    return this.entries.delete(id)
  }

  /**
   * A full listing of the caller's environments, requested at `mark`. Returns whether anything changed.
   * Environments absent from it are removed unless they changed after the request was sent.
   */
  applyListing(listing: ListEnvironmentsResult, mark: number): boolean {
    let changed = false
    const seen = new Set<string>()
    const problemsById = new Map<string, EnvironmentProblem[]>()
    const unreadable = new Map<string, EnvironmentProblem>()
    const anonymous: EnvironmentProblem[] = []
    for (const p of listing.problems) {
      if (p.idUnknown) anonymous.push(p)
      else if (p.unreadable) {
        // Listed, but not readable: what was known about it stays.
        seen.add(p.environmentId)
        unreadable.set(p.environmentId, p)
      } else problemsById.set(p.environmentId, [...(problemsById.get(p.environmentId) ?? []), p])
    }
    if (!sameProblems([...this.unreadable.values(), ...this.anonymous], [...unreadable.values(), ...anonymous])) changed = true
    this.unreadable = unreadable
    this.anonymous = anonymous
    for (const env of listing.environments) {
      seen.add(env.id)
      if (this.tombstones.has(env.id)) continue
      if (this.put(env, problemsById.get(env.id) ?? []) === 'applied') changed = true
    }
    // A record whose id could not be read may be any of them: none is taken for gone.
    if (anonymous.length > 0) return changed
    for (const [id, entry] of this.entries) {
      if (!seen.has(id) && entry.seq <= mark) {
        this.entries.delete(id)
        changed = true
      }
    }
    return changed
  }

  /** What the block is planned from. */
  snapshot(): ListEnvironmentsResult {
    const environments: Environment[] = []
    const problems: EnvironmentProblem[] = []
    for (const entry of this.entries.values()) {
      environments.push(entry.env)
      problems.push(...entry.problems)
    }
    for (const [id, problem] of this.unreadable) if (!this.tombstones.has(id)) problems.push(problem)
    problems.push(...this.anonymous)
    return {environments, problems}
  }

  /** Environments known to be deleted (DELETE events): their entries go, whatever a late answer says. */
  deletedIds(): Iterable<string> {
    // Iterable again on each pass (a write re-plans when the file changed under it), never copied.
    return {[Symbol.iterator]: () => this.tombstones.keys()}
  }

  get size(): number {
    return this.entries.size
  }

  private put(env: Environment, problems: readonly EnvironmentProblem[]): UpdateOutcome {
    const known = this.entries.get(env.id)
    if (known && env.statusVersion < known.env.statusVersion) return 'stale'
    if (known && env.statusVersion === known.env.statusVersion && sameEnvironment(known.env, env) && sameProblems(known.problems, problems)) return 'unchanged'
    this.entries.set(env.id, {env, problems: [...problems], seq: ++this.seq})
    return 'applied'
  }
}

function remember(set: Set<string>, id: string, max: number): void {
  set.add(id)
  if (set.size > max) set.delete(set.values().next().value!)
}

function sameEnvironment(a: Environment, b: Environment): boolean {
  return (
    a.phase === b.phase &&
    a.ssh?.host === b.ssh?.host &&
    a.ssh?.port === b.ssh?.port &&
    a.ssh?.user === b.ssh?.user &&
    a.name === b.name &&
    a.creatorId === b.creatorId
  )
}

function sameProblems(a: readonly EnvironmentProblem[], b: readonly EnvironmentProblem[]): boolean {
  return a.length === b.length && a.every((p, i) => p.field === b[i]?.field && p.message === b[i]?.message)
}
