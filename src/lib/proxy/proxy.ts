/**
 * `ona ssh-proxy <id>`: what a resolve-on-connect entry's ProxyCommand runs. ssh gives it the connection
 * on stdin/stdout and shows its stderr (so does VS Code), so:
 *
 * 1. ask the API for the environment's current address; start it when it is stopped (progress on stderr);
 *    make sure the key the entry names is registered and READY;
 * 2. when the address moved from what the block says, write it into this environment's entry only
 *    (sync/entry-address.ts), so IDE host lists and `ssh -G` stay true;
 * 3. carry the connection: stdin to a TCP connection to the address, the connection to stdout.
 *
 * Everything it needs comes from its own argv (API URL, SSH config, ona's config directory) and from the
 * entry (the key), never from the environment ssh happened to be started with.
 *
 * Asking the API is held to a limit that fits inside the ConnectTimeout IDEs give ssh (VS Code: 15 s, which
 * OpenSSH applies to the banner exchange, through a ProxyCommand too): PROXY_API_TIMEOUT_MS, or
 * ONA_TIMEOUT. When the API cannot be reached within it, the proxy connects to the address in the block,
 * saying so on stderr. Starting a stopped environment has its own, longer wait (`--timeout`).
 * stdout carries nothing but the connection.
 */
import net from 'node:net'

import type {Context} from '../context.js'
import {createDeadline, parseDuration, TIMEOUT_ENV, type Deadline} from '../deadline.js'
import {OnaError, isOnaError} from '../errors.js'
import type {SshAddress} from '../api/types.js'
import {MESSAGE_MAX, printable} from '../printable.js'

export interface ProxyOptions {
  environmentId: string
  apiUrl: string
  /** Bound on starting a stopped environment and its key readiness. Default 10 minutes. */
  timeoutMs?: number
  stdin?: NodeJS.ReadableStream
  stdout?: NodeJS.WritableStream
}

/**
 * How long the ProxyCommand asks the API before it falls back to the last known address: well inside the
 * 15 s VS Code Remote-SSH gives ssh (`remote.SSH.connectTimeout`), leaving time to connect and exchange
 * banners. ONA_TIMEOUT overrides it.
 */
export const PROXY_API_TIMEOUT_MS = 8000

/** The ProxyCommand's deadline for asking the API: ONA_TIMEOUT when set (0/none: none), else PROXY_API_TIMEOUT_MS. */
export function proxyApiDeadline(env: NodeJS.ProcessEnv): Deadline | undefined {
  const fromEnv = env[TIMEOUT_ENV]
  if (fromEnv !== undefined && fromEnv.trim() !== '') {
    const budgetMs = parseDuration(fromEnv, TIMEOUT_ENV)
    return budgetMs === undefined ? undefined : createDeadline(budgetMs, {source: TIMEOUT_ENV})
  }
  return createDeadline(PROXY_API_TIMEOUT_MS, {source: `the ProxyCommand's limit; ${TIMEOUT_ENV} changes it`})
}

/**
 * API failures that mean "cannot ask right now", where the last known address is the best answer. A
 * running environment whose key was not READY within the limit counts too (ERR_ENVIRONMENT_START_TIMEOUT).
 */
const UNREACHABLE = new Set(['ERR_API_UNAVAILABLE', 'ERR_API_TIMEOUT', 'ERR_PROXY', 'ERR_API_TLS', 'ERR_API_RATE_LIMITED', 'ERR_API_BAD_RESPONSE', 'ERR_NOT_LOGGED_IN', 'ERR_AUTH_EXPIRED', 'ERR_KEYCHAIN', 'ERR_KEYCHAIN_TIMEOUT', 'ERR_DEADLINE_EXCEEDED'])

const RUNNING = new Set(['ENVIRONMENT_PHASE_RUNNING', 'ENVIRONMENT_PHASE_UPDATING'])

function note(line: string): void {
  // ssh shows the ProxyCommand's stderr on the user's terminal: API text in it must stay one plain line.
  process.stderr.write(`ona: ${printable(line, MESSAGE_MAX)}\n`)
}

/** How often a session carried by the proxy tells the plane it is in use (the vendor's rate: 5 minutes). */
export const ACTIVITY_INTERVAL_MS = 5 * 60_000
const ACTIVITY_REPORT_TIMEOUT_MS = 60_000

/**
 * Resolves where to connect: the API's current address (environment started, key ready), else the
 * block's. `onActive` is how the caller reports use later (absent when the API could not be reached).
 * `ctx.deadline` bounds asking the API (see proxyApiDeadline); the start of a stopped environment is
 * bounded by `timeoutMs` instead.
 */
export async function resolveProxyTarget(ctx: Context, options: ProxyOptions): Promise<SshAddress & {onActive?: () => Promise<void>}> {
  const {readBlockEntryFromFile, updateEntryAddress} = await import('../sync/entry-address.js')
  const entry = await readBlockEntryFromFile(ctx.paths.sshConfig, options.environmentId)
  const known = entry?.address
  let running = false
  try {
    const [{connect, originOf}, {prepareConnection, markActive}] = await Promise.all([import('../sync/sync.js'), import('../environments/index.js')])
    const client = await connect(ctx, options.apiUrl)
    const {environment} = await client.getEnvironment(options.environmentId)
    running = RUNNING.has(environment.phase) && environment.ssh !== undefined
    const ready = await prepareConnection(ctx, client, environment, {
      ...(options.timeoutMs ? {timeoutMs: options.timeoutMs} : {}),
      timeoutFlag: '--timeout',
      progressTo: process.stderr,
      // The key ssh will offer: the one the entry names (registering any other would not let ssh in).
      ...(entry?.identityFile ? {identityFile: entry.identityFile} : {}),
      // Already running: registering the key is asking the API too, and there is an address to fall back on.
      withinDeadline: running && known !== undefined,
    })
    for (const w of ready.warnings) note(`warning: ${w.message}`)
    const address = ready.environment.ssh!
    if (known && (known.host !== address.host || known.port !== address.port || known.user !== address.user)) {
      try {
        // Only newer information than the entry records replaces it (the sync core decides: plan.ts).
        const {statusVersion, name} = ready.environment
        const outcome = await updateEntryAddress(ctx.paths.sshConfig, {environmentId: environment.id, origin: originOf(options.apiUrl), address, statusVersion, ...(name ? {name} : {})})
        if (outcome.status === 'skipped') note(`${ctx.paths.sshConfig} was not updated: ${outcome.reason}`)
      } catch (error) {
        note(`could not update ${ctx.paths.sshConfig} (${isOnaError(error) ? error.message : String(error)}); connecting anyway`)
      }
    }
    // Each report has its own bound: a session outlives the deadline of the resolving above by hours.
    const onActive = () => markActive(client, environment.id, new Date(), {deadline: createDeadline(ACTIVITY_REPORT_TIMEOUT_MS)})
    void onActive()
    return {...address, onActive}
  } catch (error) {
    const gaveUp = isOnaError(error) && (UNREACHABLE.has(error.code) || (running && error.code === 'ERR_ENVIRONMENT_START_TIMEOUT'))
    if (gaveUp && known) {
      note(`${error.message}; connecting to the last known address ${known.host}:${known.port}`)
      return known
    }
    throw error
  }
}

/** Pipes stdin/stdout through a TCP connection to `address` until either side closes. Resolves to an exit code. */
export function carry(address: SshAddress, stdin: NodeJS.ReadableStream = process.stdin, stdout: NodeJS.WritableStream = process.stdout): Promise<number> {
  return new Promise((resolve) => {
    const socket = net.connect({host: address.host, port: address.port})
    socket.setNoDelay(true)
    let connected = false
    socket.once('connect', () => {
      connected = true
      stdin.pipe(socket)
      socket.pipe(stdout)
    })
    // ssh closing our stdin means it is done sending; the socket's end is the end of the session.
    stdin.once('end', () => socket.end())
    socket.once('error', (error: NodeJS.ErrnoException) => {
      note(`cannot connect to ${address.host}:${address.port}: ${error.code ?? error.message}`)
      resolve(connected ? 0 : 1)
    })
    socket.once('close', () => resolve(0))
  })
}

/** The whole proxy: resolve, then carry. Throws OnaError before anything was carried. */
export async function runProxy(ctx: Context, options: ProxyOptions): Promise<number> {
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$/.test(options.environmentId)) {
    throw new OnaError('ERR_USAGE', `"${options.environmentId}" is not an environment id`)
  }
  // Asking the API is held to the ProxyCommand's own limit, whatever a caller's context had.
  const deadline = proxyApiDeadline(ctx.env)
  const scoped: Context = {...ctx, ...(deadline ? {deadline} : {})}
  if (!deadline) delete scoped.deadline
  const {onActive, ...address} = await resolveProxyTarget(scoped, options)
  // A long session keeps the environment from being stopped for inactivity.
  const timer = onActive ? setInterval(() => void onActive(), ACTIVITY_INTERVAL_MS) : undefined
  timer?.unref()
  try {
    return await carry(address, options.stdin, options.stdout)
  } finally {
    clearInterval(timer)
  }
}
