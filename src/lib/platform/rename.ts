/**
 * `rename` that survives Windows' transient sharing violations. Defender, the search indexer, backup
 * agents and editors open files without FILE_SHARE_DELETE for a few milliseconds at a time; a rename over
 * such a file fails with EPERM, EBUSY or EACCES and succeeds a moment later. Elsewhere those codes are
 * real failures and are thrown at once.
 */
import fs from 'node:fs/promises'

const TRANSIENT_ON_WINDOWS = new Set(['EPERM', 'EBUSY', 'EACCES'])

export interface RenameRetryOptions {
  /** Default `process.platform`. */
  platform?: NodeJS.Platform
  /** Give up after waiting this long in total (default 3 s, about what graceful-fs waits per attempt burst). */
  maxWaitMs?: number
  /** Injected by tests. */
  rename?: (from: string, to: string) => Promise<void>
  sleep?: (ms: number) => Promise<void>
}

const defaultSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms))

/** Renames `from` over `to`; on Windows retries transient failures with a doubling delay (10 ms to 500 ms). */
export async function renameWithRetry(from: string, to: string, options: RenameRetryOptions = {}): Promise<void> {
  const rename = options.rename ?? fs.rename
  if ((options.platform ?? process.platform) !== 'win32') return rename(from, to)
  const sleep = options.sleep ?? defaultSleep
  const maxWaitMs = options.maxWaitMs ?? 3000
  let waited = 0
  let delay = 10
  for (;;) {
    try {
      return await rename(from, to)
    } catch (error) {
      const code = (error as NodeJS.ErrnoException)?.code
      if (code === undefined || !TRANSIENT_ON_WINDOWS.has(code) || waited >= maxWaitMs) throw error
      const step = Math.min(delay, maxWaitMs - waited)
      await sleep(step)
      waited += step
      delay = Math.min(delay * 2, 500)
    }
  }
}
