/**
 * The one place that turns what the user typed into an environment and gets it ready to connect: `ona
 * ssh`, the ProxyCommand (`ona ssh-proxy`) and `ona environment list` call it; the sync core uses its key
 * registration. Nothing else talks to StartEnvironment or UpdateEnvironment.
 */
import type {ApiClient, CallOptions} from '../api/client.js'
import type {Environment} from '../api/types.js'
import type {Context} from '../context.js'
import {createDeadline} from '../deadline.js'
import {OnaError, isOnaError} from '../errors.js'
import {machineKey, ownKeyPath, type MachineKey} from '../keys/machine-key.js'
import {readSettings} from '../settings.js'
import {createProgressReporter} from './progress.js'
import {waitUntilReady, type ReadyResult} from './ready.js'
import {environmentLabel, resolveEnvironment, shortPhase} from './resolve.js'

export {describeEnvironment, environmentLabel, resolveEnvironment, shortPhase} from './resolve.js'
export type {ReadyProgress, ReadyResult} from './ready.js'

/** Lists the caller's environments and finds the one `input` names (id, alias, unique id prefix, name). */
export async function findEnvironment(client: ApiClient, input: string, options: {signal?: AbortSignal} = {}): Promise<{environment: Environment; all: Environment[]}> {
  const {environments} = await client.listEnvironments(options)
  return {environment: resolveEnvironment(environments, input), all: environments}
}

export interface PrepareOptions {
  /** Start it when stopped (default true). */
  start?: boolean
  /** Bound on the whole wait, its API calls included (default 10 minutes); the command's deadline is paused meanwhile. */
  timeoutMs?: number
  /** The flag that sets timeoutMs, for the hint of a wait that runs out (default `--start-timeout`). */
  timeoutFlag?: string
  /** Progress on this stream (stderr): a spinner when it is a terminal, plain lines otherwise. */
  progressTo?: NodeJS.WritableStream & {isTTY?: boolean}
  /** Abort on SIGINT (and SIGTERM) while waiting; the environment is left as it is. Default true. */
  interruptible?: boolean
  pollMs?: number
  /**
   * The private key to register (its `.pub`): the one the caller's SSH config entry names, so a connection
   * never registers a key other than the one ssh will offer. Default: the settings' identity file, else
   * ona's own key (created when missing).
   */
  identityFile?: string
  /**
   * Hold the whole wait to the command's deadline (ctx.deadline) instead of pausing it under timeoutMs: for
   * an environment that is already running, whose caller has a fallback when time runs out (the
   * ProxyCommand connects to the last known address).
   */
  withinDeadline?: boolean
}

/**
 * Gets `environment` ready: started if needed, running with an address, the machine's key (the settings'
 * identity file, or ona's own) registered and READY. Ctrl-C ends the wait with ERR_CANCELLED and undoes
 * nothing.
 */
export async function prepareConnection(ctx: Context, client: ApiClient, environment: Environment, options: PrepareOptions = {}): Promise<ReadyResult & {key: MachineKey}> {
  const identityFile = options.identityFile ?? (await readSettings(ctx)).identityFile
  // ona's own key by its path is ona's own key: created again at that path when it went missing.
  // (Compared with forward slashes: that is how an entry names a path for Windows OpenSSH.)
  const own = identityFile === undefined || identityFile.replace(/\\/g, '/') === ownKeyPath(ctx).replace(/\\/g, '/')
  const key = await machineKey(ctx, own ? {} : {identityFile})
  const label = environmentLabel(environment)
  const reporter = options.progressTo ? createProgressReporter(options.progressTo as never, label) : undefined
  const controller = new AbortController()
  let phase = environment.phase
  const interrupt = () => {
    controller.abort(
      new OnaError('ERR_CANCELLED', `interrupted while waiting for environment ${environmentLabel(environment)}; it was left ${shortPhase(phase)} and the SSH config was not changed`),
    )
  }
  const signals: NodeJS.Signals[] = options.interruptible === false ? [] : ['SIGINT', 'SIGTERM']
  for (const s of signals) process.on(s, interrupt)
  // The start wait has its own bound: its API calls are held to it, and the command's --timeout stops
  // counting meanwhile (ona ssh waits at most --timeout plus --start-timeout before ssh runs).
  const held = options.withinDeadline && ctx.deadline ? ctx.deadline : undefined
  const timeoutMs = held ? held.remaining() : (options.timeoutMs ?? 600_000)
  const waitDeadline = held ?? createDeadline(timeoutMs, {flag: options.timeoutFlag ?? '--start-timeout'})
  const wait = () =>
    waitUntilReady(client, environment, {
      start: options.start ?? true,
      timeoutMs,
      deadline: waitDeadline,
      signal: controller.signal,
      key,
      pollMs: options.pollMs,
      onProgress: (p) => {
        if (p.step !== 'waiting-for-key' && p.step !== 'registering-key') phase = p.phase
        reporter?.onProgress(p)
      },
    })
  try {
    return {...(await (ctx.deadline && !held ? ctx.deadline.paused(wait) : wait())), key}
  } catch (error) {
    if (controller.signal.aborted && !isOnaError(error)) throw controller.signal.reason
    throw error
  } finally {
    reporter?.done()
    for (const s of signals) process.off(s, interrupt)
  }
}

/**
 * Tells the plane the environment is in use (best effort: a failure here never stops a connection).
 * `callOptions` can give a report a deadline of its own (a long session reports long after the command's).
 */
export async function markActive(client: ApiClient, environmentId: string, now: Date = new Date(), callOptions: CallOptions = {}): Promise<void> {
  await client.markEnvironmentActive(environmentId, {source: 'SSH', at: now}, callOptions).catch(() => undefined)
}
