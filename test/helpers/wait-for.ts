/** Polls an async condition until it holds; returns how long that took, or throws naming what it waited for. */
export async function waitFor(condition: () => Promise<boolean>, timeoutMs: number, what: string): Promise<number> {
  const started = Date.now()
  while (Date.now() - started < timeoutMs) {
    if (await condition()) return Date.now() - started
    await new Promise((resolve) => setTimeout(resolve, 10))
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)
}

/**
 * Waits until `count()` (e.g. the simulator's request log length) has not changed for `quietMs`: the
 * watcher has handled what it heard (the key-ready events that follow a first sync, a listing) and a
 * test's next step cannot be folded into that work.
 */
export async function waitForQuiet(count: () => number, quietMs: number, timeoutMs: number, what: string): Promise<void> {
  let last = count()
  let since = Date.now()
  await waitFor(async () => {
    const now = count()
    if (now !== last) {
      last = now
      since = Date.now()
    }
    return Date.now() - since >= quietMs
  }, timeoutMs, what)
}
