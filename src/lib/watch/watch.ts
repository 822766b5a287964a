/**
 * `ona ssh-sync --watch`: keeps the block current all day, safe to leave running for weeks.
 *
 * - API: one WatchEvents stream (reconnected with backoff by watchEventsWithReconnect). Every connection,
 *   the first included, triggers a full listing; every environment event a GetEnvironment of that environment, through a
 *   bounded, coalescing queue (queue.ts). What is believed about each environment is ordered by
 *   statusVersion, with tombstones for deleted ones (state.ts), so a late or stale answer never
 *   undoes a newer one. A periodic full listing is the safety net.
 * - Failures: one shared retry for the whole API (a full listing with backoff), whatever failed (a fetch,
 *   a listing); the last good block stays. An expired token ends the watch with the login hint.
 * - Stream health: a stream silent for `streamIdleMs` (default 60 s) is reconnected and re-listed, so a
 *   stalled connection costs about a minute, not the 5-minute listing; a stream that stayed up a while
 *   resets the reconnect backoff.
 * - Clock: a wall-clock jump either way, or a tick far too late (the laptop slept, the clock was set, the
 *   process was stopped) triggers a full listing; intervals and quiet periods use the monotonic clock.
 * - File: the SSH config's directory is watched with chokidar; when the block was removed or edited by
 *   someone else, it is restored after a quiet period (an editor mid-save is not fought: malformed markers
 *   are left alone until they are whole again). Our own writes produce no change, so they cause no write.
 *   Nothing another program writes is lost: see file.ts (quiet gate, replaced-file guard).
 * - Output: output.ts (one timestamped line, or JSON object, per change or incident, on stdout).
 * - One watcher per config: lock.ts.
 * - Idle cost: no polling of the file, timers only; memory is one map of the environments.
 */
import {setMaxListeners} from 'node:events'
import fs from 'node:fs/promises'
import path from 'node:path'

import {backoffDelay, sleep} from '../api/backoff.js'
import type {ApiClient} from '../api/client.js'
import type {Context} from '../context.js'
import {OnaError, isOnaError, type Warning} from '../errors.js'
import {ownLikeDirectory, resolveTarget} from '../fs/safe-write.js'
import {readBlockEnvironments, removeManagedBlock} from '../ssh-config/index.js'
import type {SshEnvironment} from '../ssh-config/validate.js'
import {applyListing, originOf, readBaseline, verifyConfigOnDisk, type SyncResult} from '../sync/sync.js'
import {monotonicNow, ReplacedFileGuard, watchConfigFile, type ConfigFileWatcher} from './file.js'
import {acquireWatchLock} from './lock.js'
import {createWatchReporter, type WatchLogEvent, type WatchReporter} from './output.js'
import {FetchQueue} from './queue.js'
import {EnvironmentLedger} from './state.js'
import {WriteVerifier, type WriteVerifierOptions} from './verify.js'

export interface WatchOptions {
  client: ApiClient
  signal: AbortSignal
  /** Full listing every so often, whatever the events say. Default 5 minutes. */
  intervalMs?: number
  /**
   * How long the SSH config must have been quiet (no write by another program) before the watcher replaces
   * it: restoring the block, or writing a new address. Default 2 s.
   */
  fileDebounceMs?: number
  /** How long a file our rename replaced is watched for a program still writing into it. Default 60 s. */
  replacedGuardMs?: number
  replacedPollMs?: number
  /** Clock check period; a jump of more than `clockJumpMs` beyond it means the machine slept. */
  tickMs?: number
  clockJumpMs?: number
  /** Reconnect backoff of the event stream (tests shrink it). */
  backoff?: {baseMs?: number; maxMs?: number}
  /** Backoff of the one shared API retry (a full listing). Default 1 s doubling to 60 s. */
  retryBackoff?: {baseMs?: number; maxMs?: number}
  /** A stream silent this long is treated as stalled: reconnect and re-list. Default 60 s. */
  streamIdleMs?: number
  /** A stream that stayed up this long was healthy: the reconnect backoff starts again from the bottom. Default 10 s. */
  streamHealthyMs?: number
  /** GetEnvironment calls at a time. Default 4. */
  concurrency?: number
  /** Where lines go (default: human lines on ctx.io's stdout). */
  reporter?: WatchReporter
  /** Told about every sync that changed the file (tests and the command's output). */
  onSync?: (result: SyncResult, reason: string) => void
  /**
   * Started by `ona service` (the unit passes --service): after `ona ssh-sync --remove` the service does not
   * put the block back at the next login; it says so and ends (exit 0, which is not restarted). A watcher
   * started by hand is a new explicit command and forgets the removal.
   */
  service?: boolean
  /** Called once the lock is held, before anything is printed (the command reports here). */
  onStarted?: () => void
  /** Told after every `ssh -G` check of what was written (tests). */
  onVerified?: WriteVerifierOptions['onVerified']
  /** How often the watcher checks its lock and socket (lock.ts). Default 60 s. */
  socketCheckMs?: number
  /** Test hook: runs in each write pass after the quiet wait, before the file is read (a writer starts here). */
  beforeWrite?: () => Promise<void>
}

const FATAL_CODES = new Set(['ERR_AUTH_EXPIRED', 'ERR_PERMISSION_DENIED', 'ERR_NOT_LOGGED_IN'])

/** Runs until the signal aborts (resolves) or a fatal error (auth) happens (rejects). */
export async function watchSshConfig(ctx: Context, options: WatchOptions): Promise<void> {
  // One watcher per (file, origin): another install may keep its own part of the same file current.
  const origin = originOf(options.client.baseUrl)
  const lock = await acquireWatchLock(ctx, origin, {socketCheckMs: options.socketCheckMs})
  const reporter = options.reporter ?? createWatchReporter(ctx)
  const {client} = options
  const ledger = new EnvironmentLedger()
  // Until one listing succeeded the tool does not know the environments: writing then could empty the block.
  let haveListing = false
  let fatal: OnaError | undefined
  const stop = new AbortController()
  // Every request in flight listens on this signal; their number is bounded (fetch concurrency, one
  // listing, the stream, a few sleeps), so a fixed ceiling above that bound replaces the default warning.
  setMaxListeners(64, stop.signal)
  const onAbort = () => stop.abort()
  options.signal.addEventListener('abort', onAbort, {once: true})
  if (options.signal.aborted) stop.abort()
  const timers = new Set<NodeJS.Timeout>()
  const later = (ms: number, fn: () => void) => {
    const timer = setTimeout(() => {
      timers.delete(timer)
      fn()
    }, ms)
    timers.add(timer)
    return timer
  }
  const fail = (error: OnaError) => {
    fatal ??= error
    stop.abort()
  }
  let stopReason = 'stopped'
  lock.onControl((message) => {
    if (message.action === 'stop') {
      stopReason = `stopped: ${message.reason ?? 'asked to stop by another ona command'}`
      stop.abort()
    } else if (message.action === 'resync') {
      // Another ona wrote the block (new settings, a fresher address): ask the API again, then write.
      void fullSync(message.reason ?? 'settings changed', {write: true})
    }
  })

  const {realPath} = await resolveTarget(ctx.paths.sshConfig)
  const quietMs = options.fileDebounceMs ?? 2000
  const {removedAt, recordRemoved} = await import('./lock.js')
  const removed = await removedAt(ctx, origin)
  if (removed !== undefined && options.service) {
    reporter.emit({type: 'stopped', message: `the block was removed by \`ona ssh-sync --remove\` (${removed}); the service does not put it back (\`ona ssh-sync\` brings it back, \`ona service uninstall\` removes the service)`})
    await lock.release()
    options.signal.removeEventListener('abort', onAbort)
    return
  }
  if (removed !== undefined) await recordRemoved(ctx, origin, false)

  // ---- writing the file ------------------------------------------------------------------------------
  // The text of our last write: a program that wrote into the file we replaced is re-applied on top of it
  // only while the file still holds what we wrote (outside the block).
  let lastWritten: string | undefined
  let pendingRebase: string | undefined
  const guard = new ReplacedFileGuard({
    quietMs,
    guardMs: options.replacedGuardMs,
    pollMs: options.replacedPollMs,
    onWrittenAfterRename: async (text) => {
      pendingRebase = text
      await write('a program went on writing into the file ona had replaced: its text is kept')
    },
  })
  let fileWatcher: ConfigFileWatcher | undefined
  // What was written is checked with the real `ssh -G` beside the writer, never in its way (verify.ts).
  const verifier = new WriteVerifier({
    verify: (environmentAliases, signal) => verifyConfigOnDisk(ctx, {origin, environmentAliases, signal}),
    report: (w) => reporter.emit({type: 'warning', message: w.message, code: w.code, ...structured(w)}),
    note: (message) => reporter.emit({type: 'warning', message, code: 'W_VERIFY_SKIPPED'}),
    onVerified: options.onVerified,
  })
  let verifiedOnce = false

  // What this watcher knows the file held: the block as read before its last listing was asked for, and
  // the entries it wrote since from what it knows. An entry the file holds otherwise was written by
  // another ona (a fresher address, an environment created since): absent from this watcher's view, it
  // is kept, never taken for gone (sync/plan.ts), until a listing asked for after it says otherwise.
  let baseline = new Map<string, SshEnvironment>()

  // Writes are serialised: one apply at a time, and a request made meanwhile runs once after it.
  const writeOnce = async (why: string): Promise<boolean> => {
    // Never replace a file another program is still writing: wait until it has been quiet.
    // Each wait is capped at one quiet period (file.ts bounds it too): no clock or mtime can make it longer.
    for (let wait = (await fileWatcher?.msUntilQuiet()) ?? 0; wait > 0 && !stop.signal.aborted; wait = (await fileWatcher?.msUntilQuiet()) ?? 0) {
      await sleep(Math.min(wait, quietMs), stop.signal).catch(() => undefined)
    }
    if (stop.signal.aborted || lock.stopping()) return false
    await options.beforeWrite?.()
    const orphan = pendingRebase
    pendingRebase = undefined
    try {
      // Only this install's part of the block: another install's aliases are never touched. What each
      // entry becomes is decided under the write lock against the file as it is (merge by freshness).
      const known = ledger.snapshot()
      const result = await applyListing(ctx, known, {
        baseline: [...baseline.values()],
        deleted: ledger.deletedIds(),
        client: options.client,
        keepReplaced: true,
        rebase: (current) => {
          // Checked under the write lock: a `--remove` that asked us to stop wins over this write.
          if (lock.stopping()) throw new StoppedByCommand()
          // The quiet gate again, under the lock and on every attempt (the re-read before rename retries
          // here): a program that began writing since the wait above is not replaced mid-write.
          if (fileWatcher && !fileWatcher.quietNow()) throw new NotQuietYet()
          return orphan === undefined ? current : rebaseOnto(current, orphan, lastWritten, ctx.paths.sshConfig)
        },
        origin,
      })
      // Every alias once, then those a write added or moved.
      if (result.changed && result.after !== undefined) {
        // The entries written from this watcher's own view join what it knows the file holds.
        const mine = new Set(known.environments.map((e) => e.id.toLowerCase()))
        for (const entry of readBlockEnvironments(result.after, {file: ctx.paths.sshConfig, origin})) if (mine.has(entry.id.toLowerCase())) baseline.set(entry.id.toLowerCase(), entry)
        for (const gone of result.removed) baseline.delete(gone.id.toLowerCase())
      }
      if (!verifiedOnce) verifier.request('all')
      else if (result.changed) verifier.request([...result.added, ...result.updated].map((c) => c.alias))
      verifiedOnce = true
      if (result.changed) {
        lastWritten = result.after
        fileWatcher?.wrote(result.writtenStat)
        if (result.replaced) guard.watch(result.replaced)
        options.onSync?.(result, why)
        if (orphan === undefined) reporter.change(result, why)
        else reporter.emit({type: 'change', reason: why, message: `kept what a program wrote into ${shortPath(ctx)} after ona had replaced it (the block is spliced into its text)`})
      } else {
        result.replaced?.handle.close().catch(() => undefined)
      }
      await lock.status({lastSync: new Date().toISOString(), environments: result.environments})
      reporter.recovered('config', `${shortPath(ctx)} can be written again`)
      for (const w of result.warnings) reporter.warnOnce(w.message, w.code)
    } catch (error) {
      if (error instanceof StoppedByCommand) return false
      if (error instanceof NotQuietYet) {
        // Nothing was written: wait for the writer to be done, then apply to what it wrote.
        if (orphan !== undefined) pendingRebase ??= orphan
        return writeOnce(why)
      }
      if (error instanceof RebaseConflict && orphan !== undefined) {
        const saved = await saveRecovered(realPath, orphan).catch(() => undefined)
        reporter.emit({
          type: 'warning',
          incident: 'file',
          message: `a program wrote into ${shortPath(ctx)} after ona had replaced it, and the file has changed since; ${saved ? `what it wrote is saved in ${saved}` : 'what it wrote could not be saved'}`,
        })
      } else if (isOnaError(error) && error.code.startsWith('ERR_SSH_CONFIG')) {
        reporter.incident('config', `${error.message}; will try again when the file changes (${error.hint})`, error.code)
        await lock.status({lastError: error.message, lastErrorAt: new Date().toISOString()})
      } else fail(isOnaError(error) ? error : new OnaError('ERR_INTERNAL', `watch failed: ${(error as Error).message}`, {cause: error}))
    }
    return true
  }
  const writer = serialised(writeOnce, () => stop.signal.aborted)
  const write = (reason: string): Promise<void> => (!haveListing || stop.signal.aborted ? Promise.resolve() : writer.run(reason))

  // ---- the API: one shared retry -----------------------------------------------------------------------
  const retryBackoff = {baseMs: 1000, maxMs: 60_000, jitter: 0.5, ...options.retryBackoff}
  let apiFailures = 0
  let retryTimer: NodeJS.Timeout | undefined
  const apiFailed = (error: unknown) => {
    if (stop.signal.aborted) return
    if (!isOnaError(error)) {
      fail(new OnaError('ERR_INTERNAL', `watch failed: ${(error as Error)?.message ?? String(error)}`, {cause: error}))
      return
    }
    if (FATAL_CODES.has(error.code)) {
      fail(error)
      return
    }
    reporter.incident('api', `${error.message}; keeping the last good block and retrying (${error.hint})`, error.code)
    void lock.status({lastError: error.message, lastErrorAt: new Date().toISOString()})
    if (retryTimer) return
    apiFailures++
    retryTimer = later(backoffDelay(apiFailures, retryBackoff), () => {
      retryTimer = undefined
      void fullSync('retry after an API failure')
    })
  }
  const apiAnswered = () => {
    apiFailures = 0
    reporter.recovered('api', 'the management plane answers again')
  }

  // Only the caller's own environments belong in the block (events cover the whole organisation).
  let subject: Promise<string> | undefined
  const subjectId = () => {
    subject ??= client.getAuthenticatedIdentity({signal: stop.signal, retries: 0}).then(
      (identity) => identity.subjectId,
      (error: unknown) => {
        subject = undefined
        throw error
      },
    )
    return subject
  }

  const queue = new FetchQueue({
    concurrency: options.concurrency,
    fetch: async (id) => {
      try {
        const me = await subjectId()
        const {environment, problems} = await client.getEnvironment(id, {signal: stop.signal, retries: 0})
        // The API answered now, not when the write below is done: a later failure is a new incident only
        // if it comes after this answer, never because this write took a while.
        apiAnswered()
        if (ledger.update(environment, problems, me) === 'applied') await write(`event for ${id}`)
      } catch (error) {
        if (stop.signal.aborted) return
        if (isOnaError(error) && error.code === 'ERR_API_NOT_FOUND') {
          if (ledger.forget(id)) await write(`${id} is gone`)
          return
        }
        if (isOnaError(error) && error.code === 'ERR_API_BAD_RESPONSE' && error.details?.environmentId === id) {
          // This environment's record could not be read: what is known of it (and its entry) stays, and
          // the API is not failing for the others. "Could not read" is never "deleted".
          apiAnswered()
          reporter.warnOnce(`${error.message}; its entry is kept as it was`, 'W_UNREADABLE')
          return
        }
        throw error
      }
    },
    onFailure: apiFailed,
  })

  // One listing at a time; a request made meanwhile runs once after it (it may have a newer reason).
  // `mustWrite`: another program changed the file, or another ona asked for a resync: the block is
  // written after the listing even when the listing changed nothing (the block may be gone or edited).
  let mustWrite = false
  const lister = serialised(async (why) => {
    const mark = ledger.mark()
    const gen = queue.generation()
    const forced = mustWrite
    mustWrite = false
    // The file before the request: what the listing's absences are judged against (plan.ts).
    const before = await readBaseline(ctx, origin)
    try {
      const result = await client.listEnvironments({signal: stop.signal, retries: 0})
      const changed = ledger.applyListing(result, mark)
      const first = !haveListing
      haveListing = true
      baseline = new Map(before.map((e) => [e.id.toLowerCase(), e]))
      apiAnswered()
      queue.settle(gen)
      if (changed || first || forced) await write(why)
      else await lock.status({lastSync: new Date().toISOString()})
    } catch (error) {
      if (!stop.signal.aborted) apiFailed(error)
      // The API cannot be asked now: the block is put back from what is known (the merge keeps anything
      // fresher another ona wrote), and the shared retry lists again.
      if (forced) await write(why)
      return false
    }
    return true
  }, () => stop.signal.aborted)
  const fullSync = (reason: string, options: {write?: boolean} = {}): Promise<void> => {
    if (stop.signal.aborted) return Promise.resolve()
    if (options.write) mustWrite = true
    return lister.run(reason)
  }

  // Another program changed the file. When this install's entries are no longer what this watcher wrote
  // (another ona's fresher address, a new alias, the block removed), its view may be behind: it asks the
  // API again, then writes. Otherwise (the user's own lines, a section put inside the block) it writes
  // at once: the block is put right, and nothing it holds is older than what is written.
  const entriesOf = (list: readonly SshEnvironment[]) => list.map((e) => `${e.id.toLowerCase()} ${e.user}@${e.host}:${e.port} ${e.statusVersion ?? '-'}`).sort().join('\n')
  const fileChanged = async () => {
    const now = await readBaseline(ctx, origin)
    const ours = lastWritten === undefined ? undefined : readBlockEnvironments(lastWritten, {file: ctx.paths.sshConfig, origin})
    if (ours !== undefined && entriesOf(ours) === entriesOf(now)) await write('the SSH config changed')
    else await fullSync('the SSH config changed', {write: true})
  }

  // ---- periodic safety net and sleep detection ---------------------------------------------------------
  const interval = options.intervalMs ?? 5 * 60_000
  const tick = options.tickMs ?? 5000
  const jump = options.clockJumpMs ?? 60_000
  // Intervals are measured on the monotonic clock, so a wall clock set back an hour does not hold back the
  // periodic listing for an hour. A jump is the wall clock moving unlike the monotonic one (either way: a
  // suspend, which the monotonic clock does not count, or a clock set), or a tick that came far too late
  // (the process was stopped). The injected wall clock lets tests jump time as a sleeping laptop does.
  let lastFull = monotonicNow()
  let lastTick = monotonicNow()
  let lastWall = ctx.clock.now()
  const ticker = setInterval(() => {
    const now = monotonicNow()
    const wall = ctx.clock.now()
    const drift = wall - lastWall - (now - lastTick)
    const slept = Math.abs(drift) > jump || now - lastTick > tick + jump
    lastTick = now
    lastWall = wall
    if (slept || now - lastFull >= interval) {
      lastFull = now
      void fullSync(slept ? 'clock jump (the machine slept)' : 'periodic listing')
    }
  }, Math.min(tick, interval))
  timers.add(ticker)

  try {
    fileWatcher = await watchConfigFile({realPath, quietMs, onChange: () => void fileChanged()})
    options.onStarted?.()
    reporter.emit({type: 'started', message: `watching your environments for ${shortPath(ctx)}`, sshConfig: ctx.paths.sshConfig, pid: process.pid})
    await lock.status({running: true, startedAt: new Date().toISOString()})
    const {watchEventsWithReconnect} = await import('../api/watch.js')
    await fullSync('start')
    const healthyMs = options.streamHealthyMs ?? 10_000
    let healthTimer: NodeJS.Timeout | undefined
    const streamHealthy = () => {
      if (healthTimer) clearTimeout(healthTimer)
      healthTimer = undefined
      reporter.recovered('stream', 'event stream connected again')
    }
    const events = watchEventsWithReconnect(client, {
      signal: stop.signal,
      organization: true,
      backoff: options.backoff,
      idleTimeoutMs: options.streamIdleMs ?? 60_000,
      healthyAfterMs: healthyMs,
      onDisconnect: ({error, delayMs}) => {
        if (healthTimer) clearTimeout(healthTimer)
        healthTimer = undefined
        // A silent stream is reconnected on purpose (it may be stalled): an incident only if that fails.
        if (error.code === 'ERR_API_TIMEOUT' && !reporter.isOpen('stream')) return
        reporter.incident('stream', `event stream lost (${error.message}); reconnecting in ${Math.max(1, Math.round(delayMs / 1000))} s, and listing everything once it is back`, error.code)
      },
    })
    for await (const update of events) {
      if (stop.signal.aborted) break
      if (update.type === 'open') {
        // Events are not replayed: what changed while the stream was down, or between the start-up listing
        // and the first connection (a slow network makes that window seconds wide), is heard by no event.
        // List again on every open, the first included.
        void fullSync(update.reconnect ? 'event stream reconnected' : 'event stream connected')
        if (reporter.isOpen('stream')) {
          if (healthTimer) clearTimeout(healthTimer)
          healthTimer = later(healthyMs, streamHealthy)
        }
        continue
      }
      if (reporter.isOpen('stream')) streamHealthy()
      const {event} = update
      if (event.resourceType !== 'RESOURCE_TYPE_ENVIRONMENT') continue
      const id = event.resourceId
      if (event.operation === 'RESOURCE_OPERATION_DELETE') {
        queue.drop(id)
        if (ledger.delete(id)) void write(`${id} was deleted`)
      } else if (ledger.wantsFetch(id)) {
        queue.enqueue(id)
      }
    }
  } catch (error) {
    if (!stop.signal.aborted) apiFailed(error)
  } finally {
    stop.abort()
    queue.close()
    options.signal.removeEventListener('abort', onAbort)
    for (const t of timers) clearTimeout(t)
    clearInterval(ticker)
    await fileWatcher?.close()
    await writer.idle()
    await lister.idle()
    await verifier.close()
    await guard.close()
    await lock.status({running: false, stoppedAt: new Date().toISOString(), ...(fatal ? {lastError: fatal.message, lastErrorAt: new Date().toISOString()} : {})}).catch(() => undefined)
    await lock.release()
  }
  if (fatal) {
    reporter.emit({type: 'error', message: `${fatal.message} (${fatal.hint})`, code: fatal.code})
    throw fatal
  }
  reporter.emit({type: 'stopped', message: stopReason})
}

class StoppedByCommand extends Error {}
class NotQuietYet extends Error {}
class RebaseConflict extends Error {}

/**
 * The text to splice the block into when a program wrote into the file our rename replaced: its text, as
 * long as the file on disk is still ours outside the block (nobody changed it since); otherwise both
 * versions were changed and neither may be dropped, so the caller saves the orphan aside.
 */
/**
 * Runs `step` one pass at a time: a call made while a pass runs records its reason, and the running pass
 * does one more round with the newest reason when it is done (a burst of calls costs one extra round, not
 * one each). `step` returns false to end the pass early (stopped, or a failure that waits for the shared
 * retry); `idle()` resolves once no pass runs.
 */
function serialised(step: (reason: string) => Promise<boolean>, stopped: () => boolean) {
  let current: Promise<void> | undefined
  let again: string | undefined
  const run = (reason: string): Promise<void> => {
    if (current) {
      again = reason
      return current
    }
    current = (async () => {
      let next: string | undefined = reason
      while (next !== undefined && !stopped()) {
        again = undefined
        if (!(await step(next))) break
        next = again
      }
    })().finally(() => {
      current = undefined
    })
    return current
  }
  return {run, idle: async () => current?.catch(() => undefined)}
}

function rebaseOnto(current: string, orphan: string, lastWritten: string | undefined, file: string): string {
  const userPart = (text: string) => {
    try {
      return removeManagedBlock(text, {file}).text
    } catch {
      return undefined
    }
  }
  const now = userPart(current)
  if (lastWritten === undefined || now === undefined || now !== userPart(lastWritten)) throw new RebaseConflict()
  return orphan
}

/**
 * Keeps text another program wrote into a file the watcher had already replaced, beside the config
 * (exported for its test). Under sudo on a user's home it belongs to that home's owner, as the config does.
 */
export async function saveRecovered(realPath: string, text: string): Promise<string> {
  // A dotfile, as the lock and backup are: `Include config.d/*` skips names starting with a dot.
  const file = path.join(path.dirname(realPath), `.${path.basename(realPath)}.ona-recovered-${new Date().toISOString().replaceAll(/[:.]/g, '-')}`)
  await fs.writeFile(file, Buffer.from(text, 'latin1'), {mode: 0o600, flag: 'wx'})
  await ownLikeDirectory(file)
  return file
}

/** The fields of a warning a log collector can match on (W_SSH_DIFFERS: option, alias, values, file:line). */
function structured(w: Warning): Partial<WatchLogEvent> {
  const fields: Partial<WatchLogEvent> = {}
  if (w.option !== undefined) fields.option = w.option
  if (w.alias !== undefined) fields.alias = w.alias
  if (w.expected !== undefined) fields.expected = w.expected
  if (w.actual !== undefined) fields.actual = w.actual
  if (w.file !== undefined) fields.file = w.file
  if (w.line !== undefined) fields.line = w.line
  return fields
}

function shortPath(ctx: Context): string {
  const file = ctx.paths.sshConfig
  return file.startsWith(`${ctx.paths.home}/`) ? `~${file.slice(ctx.paths.home.length)}` : file
}
