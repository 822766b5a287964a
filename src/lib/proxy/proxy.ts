/**
 * `ona ssh-proxy <id>`: what a resolve-on-connect entry's ProxyCommand runs. ssh gives it the connection
 * on stdin/stdout and shows its stderr (so does VS Code), so:
 *
 * 1. ask the API for the environment's current address; start it when it is stopped (progress on stderr);
 *    make sure the machine's key is registered and READY;
 * 2. when the address moved from what the block says, update the block through the sync core (the same
 *    listing, planning and safe write as `ona ssh-sync`), so IDE host lists and `ssh -G` stay true;
 * 3. carry the connection: stdin to a TCP connection to the address, the connection to stdout.
 *
 * When the API cannot be reached, it connects to the address in the block instead, saying so on stderr.
 * stdout carries nothing but the connection.
 */
import net from 'node:net'
import {readFile} from 'node:fs/promises'

import type {Context} from '../context.js'
import {createDeadline} from '../deadline.js'
import {OnaError, isOnaError} from '../errors.js'
import type {SshAddress} from '../api/types.js'
import {MESSAGE_MAX, printable} from '../printable.js'

export interface ProxyOptions {
  environmentId: string
  apiUrl: string
  /** Bound on starting and key readiness. Default 10 minutes. */
  timeoutMs?: number
  stdin?: NodeJS.ReadableStream
  stdout?: NodeJS.WritableStream
}

/** API failures that mean "cannot ask right now", where the last known address is the best answer. */
const UNREACHABLE = new Set(['ERR_API_UNAVAILABLE', 'ERR_API_TIMEOUT', 'ERR_PROXY', 'ERR_API_TLS', 'ERR_API_RATE_LIMITED', 'ERR_API_BAD_RESPONSE', 'ERR_NOT_LOGGED_IN', 'ERR_AUTH_EXPIRED', 'ERR_KEYCHAIN', 'ERR_KEYCHAIN_TIMEOUT', 'ERR_DEADLINE_EXCEEDED'])

async function blockAddress(ctx: Context, id: string): Promise<SshAddress | undefined> {
  try {
    const {readBlockEnvironments} = await import('../ssh-config/index.js')
    const text = await readFile(ctx.paths.sshConfig, 'utf8')
    const found = readBlockEnvironments(text, {file: ctx.paths.sshConfig}).find((e) => e.id.toLowerCase() === id.toLowerCase())
    return found && found.host !== '' ? {host: found.host, port: found.port, user: found.user} : undefined
  } catch {
    return undefined
  }
}

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
 */
export async function resolveProxyTarget(ctx: Context, options: ProxyOptions): Promise<SshAddress & {onActive?: () => Promise<void>}> {
  const known = await blockAddress(ctx, options.environmentId)
  try {
    const [{connect, syncSshConfig}, {prepareConnection, markActive}] = await Promise.all([import('../sync/sync.js'), import('../environments/index.js')])
    const client = await connect(ctx, options.apiUrl)
    const {environment} = await client.getEnvironment(options.environmentId)
    const ready = await prepareConnection(ctx, client, environment, {...(options.timeoutMs ? {timeoutMs: options.timeoutMs} : {}), timeoutFlag: '--timeout', progressTo: process.stderr})
    for (const w of ready.warnings) note(`warning: ${w.message}`)
    const address = ready.environment.ssh!
    if (!known || known.host !== address.host || known.port !== address.port || known.user !== address.user) {
      try {
        await syncSshConfig(ctx, {apiUrl: options.apiUrl, client})
      } catch (error) {
        note(`could not update ${ctx.paths.sshConfig} (${isOnaError(error) ? error.message : String(error)}); connecting anyway`)
      }
    }
    // Each report has its own bound: a session outlives the deadline of the resolving above by hours.
    const onActive = () => markActive(client, environment.id, new Date(), {deadline: createDeadline(ACTIVITY_REPORT_TIMEOUT_MS)})
    void onActive()
    return {...address, onActive}
  } catch (error) {
    if (isOnaError(error) && UNREACHABLE.has(error.code) && known) {
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
  const {onActive, ...address} = await resolveProxyTarget(ctx, options)
  // A long session keeps the environment from being stopped for inactivity.
  const timer = onActive ? setInterval(() => void onActive(), ACTIVITY_INTERVAL_MS) : undefined
  timer?.unref()
  try {
    return await carry(address, options.stdin, options.stdout)
  } finally {
    clearInterval(timer)
  }
}
