/**
 * Watch mode's GetEnvironment work: events coalesced per environment, a small fixed number of fetches at
 * a time, and no retries of its own. A burst of 300 organisation-wide events is at most one fetch per
 * environment (one more if it changed again while being fetched), `concurrency` at a time; against a
 * failing server the first failure holds the whole queue and hands the error to the watcher, whose one
 * shared retry (a full listing with backoff) covers every environment still waiting.
 */

export interface FetchQueueOptions {
  /** Fetches at a time. Default 4. */
  concurrency?: number
  /** One GetEnvironment and its effect on the state; throws the API error. */
  fetch: (id: string) => Promise<void>
  /** A fetch failed: the queue is now held until resume(); called once per hold. */
  onFailure: (error: unknown) => void
}

export class FetchQueue {
  /** Waiting ids, in arrival order, with the generation they were (last) asked for in. */
  private readonly pending = new Map<string, number>()
  private readonly inFlight = new Set<string>()
  /** Asked for again while being fetched: fetched once more afterwards (the answer may predate the change). */
  private readonly again = new Set<string>()
  private held = false
  private closed = false
  private gen = 0
  private readonly concurrency: number
  private readonly idleWaiters: Array<() => void> = []
  /** Fetches started, for tests and the bench. */
  started = 0

  constructor(private readonly options: FetchQueueOptions) {
    this.concurrency = Math.max(1, options.concurrency ?? 4)
  }

  /** An event about `id`. Duplicates of waiting work are dropped. */
  enqueue(id: string): void {
    if (this.closed) return
    this.gen++
    if (this.inFlight.has(id)) this.again.add(id)
    else {
      this.pending.delete(id)
      this.pending.set(id, this.gen)
    }
    this.pump()
  }

  /** Forget work for an environment (it was deleted). */
  drop(id: string): void {
    this.pending.delete(id)
    this.again.delete(id)
  }

  /** The generation now: a listing requested now answers for every id waiting at this point. */
  generation(): number {
    return this.gen
  }

  /** A listing requested at `gen` succeeded: waiting work from before it is done. Releases a hold. */
  settle(gen: number): void {
    for (const [id, g] of this.pending) if (g <= gen) this.pending.delete(id)
    this.resume()
  }

  resume(): void {
    this.held = false
    this.pump()
  }

  get waiting(): number {
    return this.pending.size
  }

  get active(): number {
    return this.inFlight.size
  }

  /** Resolves when nothing is waiting or running (or the queue is held with nothing running). */
  idle(): Promise<void> {
    if (this.inFlight.size === 0 && (this.pending.size === 0 || this.held)) return Promise.resolve()
    return new Promise((resolve) => this.idleWaiters.push(resolve))
  }

  close(): void {
    this.closed = true
    this.pending.clear()
    this.again.clear()
  }

  private pump(): void {
    while (!this.held && !this.closed && this.inFlight.size < this.concurrency && this.pending.size > 0) {
      const id = this.pending.keys().next().value as string
      this.pending.delete(id)
      this.run(id)
    }
    if (this.inFlight.size === 0 && (this.pending.size === 0 || this.held || this.closed)) {
      for (const resolve of this.idleWaiters.splice(0)) resolve()
    }
  }

  private run(id: string): void {
    this.inFlight.add(id)
    this.started++
    this.options.fetch(id).then(
      () => {
        this.inFlight.delete(id)
        if (this.again.delete(id)) this.enqueue(id)
        else this.pump()
      },
      (error: unknown) => {
        this.inFlight.delete(id)
        this.again.delete(id)
        if (this.closed) return this.pump()
        // Back in line (first), and everything waits for the watcher's one retry.
        this.gen++
        const rest = [...this.pending]
        this.pending.clear()
        this.pending.set(id, this.gen)
        for (const [other, g] of rest) this.pending.set(other, g)
        const first = !this.held
        this.held = true
        if (first) this.options.onFailure(error)
        this.pump()
      },
    )
  }
}
