/**
 * `ona ssh-sync --watch`: keeps the block current all day.
 *
 * - API: one WatchEvents stream (reconnected with backoff by watchEventsWithReconnect); every (re)connection
 *   triggers a full listing, every environment event a GetEnvironment of that environment. A periodic full
 *   listing is the safety net. An API outage keeps the last good block, is logged once, and heals by itself;
 *   an expired token ends the watch with the login hint.
 * - Clock: a wall-clock jump far beyond the tick (the laptop slept) triggers a full listing.
 * - File: the SSH config's directory is watched with chokidar; when the block was removed or edited by
 *   someone else, it is restored after a quiet period (an editor mid-save is not fought: malformed markers
 *   are left alone until they are whole again). Our own writes produce no change, so they cause no write.
 *   Nothing another program writes is lost: see watch-file.ts (quiet gate, replaced-file guard).
 * - One watcher per config: a lock in the state dir names the running watcher; a second one is refused.
 * - Idle cost: no polling of the file, timers only; memory is one map of the environments.
 */
import {createHash} from 'node:crypto'
import fs from 'node:fs/promises'
import path from 'node:path'

import type {ApiClient} from '../api/client.js'
import type {Environment, ListEnvironmentsResult} from '../api/types.js'
import type {Context} from '../context.js'
import {OnaError, isOnaError} from '../errors.js'
import {processAlive, resolveTarget} from '../fs/safe-write.js'
import {sleep} from '../api/backoff.js'
import {removeManagedBlock} from '../ssh-config/index.js'
import {ReplacedFileGuard, watchConfigFile, type ConfigFileWatcher} from './watch-file.js'
import {applyListing, formatSyncResult, type SyncResult} from './sync.js'

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
  /** Told about every sync that changed the file (tests and the command's output). */
  onSync?: (result: SyncResult, reason: string) => void
}

/** Runs until the signal aborts (resolves) or a fatal error (auth) happens (rejects). */
export async function watchSshConfig(ctx: Context, options: WatchOptions): Promise<void> {
  const releaseLock = await acquireWatchLock(ctx)
  const envs = new Map<string, Environment>()
  let problems: ListEnvironmentsResult['problems'] = []
  let apiDown = false
  // Until one listing succeeded the tool does not know the environments: writing then could empty the block.
  let haveListing = false
  let subjectId: string | undefined
  let fatal: OnaError | undefined
  const stop = new AbortController()
  const onAbort = () => stop.abort()
  options.signal.addEventListener('abort', onAbort, {once: true})
  const timers = new Set<NodeJS.Timeout>()

  const fail = (error: OnaError) => {
    fatal = error
    stop.abort()
  }

  const {realPath} = await resolveTarget(ctx.paths.sshConfig)
  const quietMs = options.fileDebounceMs ?? 2000
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

  // Writes are serialised: one apply at a time, and a request made meanwhile runs once after it.
  let running: Promise<void> | undefined
  let again: string | undefined
  const write = (reason: string): Promise<void> => {
    if (!haveListing) return Promise.resolve()
    if (running) {
      again = reason
      return running
    }
    running = (async () => {
      let next: string | undefined = reason
      while (next !== undefined && !stop.signal.aborted) {
        const why: string = next
        again = undefined
        // Never replace a file another program is still writing: wait until it has been quiet.
        for (let wait = (await fileWatcher?.msUntilQuiet()) ?? 0; wait > 0 && !stop.signal.aborted; wait = (await fileWatcher?.msUntilQuiet()) ?? 0) {
          await sleep(wait, stop.signal).catch(() => undefined)
        }
        if (stop.signal.aborted) break
        const orphan = pendingRebase
        pendingRebase = undefined
        try {
          const result = await applyListing(ctx, {environments: [...envs.values()], problems}, {
            client: options.client,
            keepReplaced: true,
            rebase: orphan === undefined ? undefined : (current) => rebaseOnto(current, orphan, lastWritten, ctx.paths.sshConfig),
          })
          if (result.changed) {
            lastWritten = result.after
            fileWatcher?.wrote(result.writtenStat)
            if (result.replaced) guard.watch(result.replaced)
            options.onSync?.(result, why)
            if (orphan === undefined) for (const line of formatSyncResult(result, ctx.paths.home)) ctx.io.info(`${timestamp()} ${line}`)
            else ctx.io.info(`${timestamp()} kept what a program wrote into ${shortPath(ctx)} after ona had replaced it (the block is spliced into its text)`)
          }
          for (const w of result.warnings) warnOnce(ctx, w.message)
        } catch (error) {
          if (error instanceof RebaseConflict && orphan !== undefined) {
            const saved = await saveRecovered(realPath, orphan).catch(() => undefined)
            ctx.io.warn(`${timestamp()} a program wrote into ${ctx.paths.sshConfig} after ona had replaced it, and the file has changed since; ${saved ? `what it wrote is saved in ${saved}` : 'what it wrote could not be saved'}`)
          } else if (isOnaError(error) && error.code.startsWith('ERR_SSH_CONFIG')) warnOnce(ctx, `${error.message}; will try again when the file changes (${error.hint})`)
          else fail(isOnaError(error) ? error : new OnaError('ERR_INTERNAL', `watch failed: ${(error as Error).message}`, {cause: error}))
        }
        next = again
      }
    })().finally(() => {
      running = undefined
    })
    return running
  }

  const fullSync = async (reason: string) => {
    try {
      const listing = await options.client.listEnvironments({signal: stop.signal})
      envs.clear()
      for (const e of listing.environments) envs.set(e.id, e)
      problems = listing.problems
      haveListing = true
      if (apiDown) ctx.io.info(`${timestamp()} the management plane answers again`)
      apiDown = false
      await write(reason)
    } catch (error) {
      if (stop.signal.aborted) return
      handleApiError(error)
    }
  }

  const refreshOne = async (id: string, deleted: boolean) => {
    try {
      if (deleted) {
        envs.delete(id)
      } else {
        const {environment, problems: envProblems} = await options.client.getEnvironment(id, {signal: stop.signal})
        // Events cover the whole organisation; only the caller's own environments belong in the block.
        subjectId ??= (await options.client.getAuthenticatedIdentity({signal: stop.signal})).subjectId
        if (environment.creatorId !== undefined && environment.creatorId !== subjectId) return
        const known = envs.get(id)
        // Events may overtake each other: never go back to an older status.
        if (!known || environment.statusVersion >= known.statusVersion) envs.set(id, environment)
        problems = [...problems.filter((p) => p.environmentId !== id), ...envProblems]
      }
      await write(`event for ${id}`)
    } catch (error) {
      if (stop.signal.aborted) return
      if (isOnaError(error) && error.code === 'ERR_API_NOT_FOUND') {
        envs.delete(id)
        await write(`${id} is gone`)
        return
      }
      handleApiError(error)
    }
  }

  const handleApiError = (error: unknown) => {
    if (!isOnaError(error)) {
      fail(new OnaError('ERR_INTERNAL', `watch failed: ${(error as Error)?.message ?? String(error)}`, {cause: error}))
      return
    }
    if (error.code === 'ERR_AUTH_EXPIRED' || error.code === 'ERR_PERMISSION_DENIED' || error.code === 'ERR_NOT_LOGGED_IN') {
      fail(error)
      return
    }
    if (!apiDown) ctx.io.warn(`${timestamp()} ${error.message}; keeping the last good block and retrying (${error.hint})`)
    apiDown = true
  }

  // Periodic safety net and sleep detection.
  const interval = options.intervalMs ?? 5 * 60_000
  const tick = options.tickMs ?? 5000
  const jump = options.clockJumpMs ?? 60_000
  // The injected clock lets tests jump time as a sleeping laptop does.
  let lastFull = ctx.clock.now()
  let lastTick = ctx.clock.now()
  const ticker = setInterval(() => {
    const now = ctx.clock.now()
    const slept = now - lastTick > tick + jump
    lastTick = now
    if (slept || now - lastFull >= interval) {
      lastFull = now
      void fullSync(slept ? 'clock jump (the machine slept)' : 'periodic listing')
    }
  }, Math.min(tick, interval))
  timers.add(ticker)

  fileWatcher = await watchConfigFile({realPath, quietMs, onChange: () => void write('the SSH config changed')})

  try {
    const {watchEventsWithReconnect} = await import('../api/watch.js')
    await fullSync('start')
    const events = watchEventsWithReconnect(options.client, {
      signal: stop.signal,
      organization: true,
      backoff: options.backoff,
      onDisconnect: ({error, delayMs}) => {
        if (!apiDown) ctx.io.warn(`${timestamp()} event stream lost (${error.message}); reconnecting in ${Math.round(delayMs / 1000)} s`)
      },
    })
    for await (const update of events) {
      if (stop.signal.aborted) break
      if (update.type === 'open') {
        // Events missed while disconnected are not replayed: list again.
        if (update.reconnect || !haveListing) void fullSync('event stream reconnected')
        continue
      }
      const {event} = update
      if (event.resourceType !== 'RESOURCE_TYPE_ENVIRONMENT') continue
      void refreshOne(event.resourceId, event.operation === 'RESOURCE_OPERATION_DELETE')
    }
  } catch (error) {
    if (!stop.signal.aborted) handleApiError(error)
  } finally {
    stop.abort()
    options.signal.removeEventListener('abort', onAbort)
    for (const t of timers) clearInterval(t)
    await fileWatcher.close()
    await running?.catch(() => undefined)
    await guard.close()
    await releaseLock()
  }
  if (fatal) throw fatal
}

class RebaseConflict extends Error {}

/**
 * The text to splice the block into when a program wrote into the file our rename replaced: its text, as
 * long as the file on disk is still ours outside the block (nobody changed it since); otherwise both
 * versions were changed and neither may be dropped, so the caller saves the orphan aside.
 */
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

async function saveRecovered(realPath: string, text: string): Promise<string> {
  // A dotfile, as the lock and backup are: `Include config.d/*` skips names starting with a dot.
  const file = path.join(path.dirname(realPath), `.${path.basename(realPath)}.ona-recovered-${new Date().toISOString().replaceAll(/[:.]/g, '-')}`)
  await fs.writeFile(file, Buffer.from(text, 'latin1'), {mode: 0o600, flag: 'wx'})
  return file
}

const warned = new Set<string>()
function warnOnce(ctx: Context, message: string): void {
  if (warned.has(message)) return
  warned.add(message)
  ctx.io.warn(message)
}

function shortPath(ctx: Context): string {
  const file = ctx.paths.sshConfig
  return file.startsWith(`${ctx.paths.home}/`) ? `~${file.slice(ctx.paths.home.length)}` : file
}

function timestamp(): string {
  return new Date().toISOString().slice(11, 19)
}

/**
 * One watcher per SSH config: the lock names its pid; a lock whose pid is dead is taken over. Two watchers
 * would not corrupt the file (writes are locked and idempotent) but would double every API call.
 */
async function acquireWatchLock(ctx: Context): Promise<() => Promise<void>> {
  const {realPath} = await resolveTarget(ctx.paths.sshConfig)
  const key = createHash('sha256').update(realPath).digest('hex').slice(0, 16)
  await fs.mkdir(ctx.paths.stateDir, {recursive: true, mode: 0o700})
  const lockPath = path.join(ctx.paths.stateDir, `watch-${key}.lock`)
  const mine = JSON.stringify({pid: process.pid, config: realPath})
  for (let attempt = 0; attempt < 3; attempt++) {
    const temp = `${lockPath}.${process.pid}.tmp`
    await fs.writeFile(temp, mine, {mode: 0o600})
    try {
      await fs.link(temp, lockPath)
      return async () => {
        const current = await fs.readFile(lockPath, 'utf8').catch(() => '')
        if (current === mine) await fs.rm(lockPath, {force: true})
      }
    } catch (error) {
      if ((error as {code?: string}).code !== 'EEXIST') throw error
    } finally {
      await fs.rm(temp, {force: true})
    }
    const holder = await fs.readFile(lockPath, 'utf8').then((t) => JSON.parse(t) as {pid?: number}).catch(() => ({}) as {pid?: number})
    if (typeof holder.pid === 'number' && processAlive(holder.pid)) {
      throw new OnaError('ERR_WATCH_RUNNING', `another \`ona ssh-sync --watch\` (pid ${holder.pid}) already keeps ${ctx.paths.sshConfig} current`, {
        details: {pid: holder.pid, lockPath},
      })
    }
    await fs.rm(lockPath, {force: true})
  }
  throw new OnaError('ERR_WATCH_RUNNING', `could not take the watch lock for ${ctx.paths.sshConfig}`)
}
