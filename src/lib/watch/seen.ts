/**
 * A set with a ceiling, for what a long-running watcher remembers having said (warnings, notes): it must
 * not grow with every distinct text for the life of the process. The least recently seen item goes first
 * when the ceiling is reached; seeing an item again makes it the most recent. An item forgotten that way
 * may be said once more, much later: a repeat after thousands of other warnings, never a flood.
 */
export class BoundedSet<T> {
  private readonly items = new Set<T>()

  constructor(readonly max: number) {}

  /** Adds `item`: true when it was not there (say it), false when it was (it is now the most recent). */
  add(item: T): boolean {
    if (this.items.delete(item)) {
      this.items.add(item)
      return false
    }
    this.items.add(item)
    if (this.items.size > this.max) this.items.delete(this.items.values().next().value as T)
    return true
  }

  has(item: T): boolean {
    return this.items.has(item)
  }

  delete(item: T): boolean {
    return this.items.delete(item)
  }

  get size(): number {
    return this.items.size
  }
}
