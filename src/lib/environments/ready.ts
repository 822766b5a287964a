/**
 * Getting one environment ready to connect: started if it is stopped (unless told not to), waited for
 * until it runs with an SSH address, the machine's key registered and READY. Progress is reported as
 * events (phase, time waited) for the caller to show; the wait is bounded by a deadline and by an abort
 * signal (Ctrl-C), neither of which undoes anything: a started environment stays started, and nothing
 * here writes the SSH config.
 */
import type {ApiClient} from '../api/client.js'
import {sleep} from '../api/backoff.js'
import type {Environment} from '../api/types.js'
import type {Deadline} from '../deadline.js'
import {OnaError, type Warning} from '../errors.js'
import type {MachineKey} from '../keys/machine-key.js'
import {ensureKeyRegistered, keyPhase} from './keys.js'
import {environmentLabel, shortPhase} from './resolve.js'

export type ReadyStep = 'starting' | 'waiting' | 'registering-key' | 'waiting-for-key' | 'ready'

export interface ReadyProgress {
  environmentId: string
  step: ReadyStep
  /** The environment's phase (e.g. `ENVIRONMENT_PHASE_STARTING`), or the key's while waiting for it. */
  phase: string
  elapsedMs: number
}

export interface ReadyOptions {
  /** Start a stopped environment (default true); false refuses with ERR_ENVIRONMENT_NOT_RUNNING. */
  start?: boolean
  /** Overall bound. Default 10 minutes. */
  timeoutMs?: number
  /**
   * The same bound as a deadline for the wait's API calls (no call outlives it); without it, each call
   * is bounded by its attempts alone.
   */
  deadline?: Deadline
  signal?: AbortSignal
  onProgress?: (progress: ReadyProgress) => void
  /** Register this key and wait until the environment reports it READY. */
  key?: MachineKey
  /** Poll period while waiting. Default 500 ms. */
  pollMs?: number
  /**
   * A registered key the environment never reports a status for (an API that does not publish
   * status.sshPublicKeys) is trusted after this long. Default 10 s.
   */
  keyStatusGraceMs?: number
  now?: () => number
}

export interface ReadyResult {
  environment: Environment
  /** True when this call started it. */
  started: boolean
  warnings: Warning[]
}

const RUNNING = new Set(['ENVIRONMENT_PHASE_RUNNING', 'ENVIRONMENT_PHASE_UPDATING'])
const STOPPED = new Set(['ENVIRONMENT_PHASE_STOPPED'])
const GONE = new Set(['ENVIRONMENT_PHASE_DELETING', 'ENVIRONMENT_PHASE_DELETED'])

export async function waitUntilReady(client: ApiClient, initial: Environment, options: ReadyOptions = {}): Promise<ReadyResult> {
  const now = options.now ?? Date.now
  const started = now()
  // One clock with the calls' deadline when there is one, so the loop and its calls run out together.
  const deadline = options.deadline ? started + options.deadline.remaining() : started + (options.timeoutMs ?? 600_000)
  const pollMs = options.pollMs ?? 500
  const signal = options.signal
  // The spinner says what the wait is for: the terminal's status line would draw over it.
  const calls = {signal, quiet: true, ...(options.deadline ? {deadline: options.deadline} : {})}
  const warnings: Warning[] = []
  let env = initial
  let didStart = false
  const report = (step: ReadyStep, phase: string) => options.onProgress?.({environmentId: env.id, step, phase, elapsedMs: now() - started})
  const refresh = async () => {
    env = (await client.getEnvironment(env.id, calls)).environment
  }
  const wait = async (what: string) => {
    const timedOut = () =>
      new OnaError('ERR_ENVIRONMENT_START_TIMEOUT', `environment ${environmentLabel(env)} was not ready after ${Math.round((now() - started) / 1000)} s (${what})`, {
        details: {environmentId: env.id, phase: env.phase},
      })
    if (now() >= deadline) throw timedOut()
    await sleep(Math.min(pollMs, Math.max(0, deadline - now())), signal)
    // A poll sent with (almost) no time left would be cut at once by the calls' deadline: the wait is
    // simply over. One already under way when time runs out is the API not answering (ERR_DEADLINE_EXCEEDED).
    if (options.deadline && deadline - now() < 50) throw timedOut()
    await refresh()
  }

  for (;;) {
    signal?.throwIfAborted()
    if (GONE.has(env.phase)) throw new OnaError('ERR_ENVIRONMENT_NOT_FOUND', `environment ${environmentLabel(env)} is being deleted`)
    if (RUNNING.has(env.phase) && env.ssh) break
    if (STOPPED.has(env.phase) || (env.phase === 'ENVIRONMENT_PHASE_STOPPING' && !didStart)) {
      if (options.start === false) {
        throw new OnaError('ERR_ENVIRONMENT_NOT_RUNNING', `environment ${environmentLabel(env)} is ${shortPhase(env.phase)}`, {details: {environmentId: env.id, phase: env.phase}})
      }
      if (STOPPED.has(env.phase)) {
        report('starting', env.phase)
        await client.startEnvironment(env.id, calls)
        didStart = true
        await refresh()
        continue
      }
    }
    report(didStart ? 'starting' : 'waiting', env.phase)
    await wait(`it is ${shortPhase(env.phase)}`)
  }

  if (options.key) {
    report('registering-key', env.phase)
    const registration = await ensureKeyRegistered(client, env, options.key, calls)
    if (registration.warning) warnings.push(registration.warning)
    if (registration.status !== 'denied') {
      if (registration.status === 'registered') await refresh()
      let unknownSince: number | undefined
      for (;;) {
        const phase = keyPhase(env, registration.keyId)
        if (phase === 'CONTENT_PHASE_READY') break
        if (phase === 'CONTENT_PHASE_FAILED') {
          throw new OnaError('ERR_KEY_NOT_ACCEPTED', `environment ${environmentLabel(env)} reports ona's SSH key as failed`, {details: {environmentId: env.id, keyId: registration.keyId}})
        }
        if (phase === undefined) {
          unknownSince ??= now()
          if (now() - unknownSince >= (options.keyStatusGraceMs ?? 10_000)) break
        } else unknownSince = undefined
        report('waiting-for-key', phase ?? 'CONTENT_PHASE_UNSPECIFIED')
        await wait(`its SSH key is ${(phase ?? 'not reported').replace(/^CONTENT_PHASE_/, '').toLowerCase()}`)
        if (!RUNNING.has(env.phase) || !env.ssh) return waitUntilReady(client, env, {...options, timeoutMs: Math.max(0, deadline - now())})
      }
    }
  }
  report('ready', env.phase)
  return {environment: env, started: didStart, warnings}
}
