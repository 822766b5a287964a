/**
 * A management-plane simulator: a real HTTP server on loopback that speaks the vendor's Connect-over-JSON
 * API (the subset `ona` uses) with the vendor's JSON shapes, checked against the official SDK by a
 * contract test. Tests drive it (add/stop/delete environments, move one to a new address, inject faults)
 * and read its request log; `npm run simulator` serves the demo set by hand.
 *
 * It ships in dist because the README demo uses it, but nothing in the CLI imports it.
 */
import {randomBytes} from 'node:crypto'
import {readFileSync} from 'node:fs'
import http, {type IncomingMessage, type ServerResponse} from 'node:http'
import https from 'node:https'
import type {Socket} from 'node:net'

export interface SeedEnvironment {
  id: string
  name?: string
  /** Defaults to the simulator's user. */
  creatorId?: string
  organizationId?: string
  phase?: string
  statusVersion?: number | string
  /** An SSH address, or a raw `status.environmentUrls.ssh.url` string (to serve a malformed one). */
  ssh?: {user?: string; host: string; port?: number} | string
}

export interface SimulatorSubject {
  id: string
  principal?: string
  organizationId?: string
}

export type Fault =
  /** Answer with this status and a Connect error body (and Retry-After when given). */
  | {type: 'http'; status: number; code?: string; message?: string; retryAfter?: number | string}
  /** Wait before answering normally. */
  | {type: 'slow'; delayMs: number}
  /** Answer 200 with a body (or stream message) that is not JSON. */
  | {type: 'malformed-json'}
  /** Answer 200 with JSON of the wrong shape (e.g. a number where a string belongs). */
  | {type: 'wrong-shape'}
  /** Destroy the connection without answering. */
  | {type: 'drop'}
  /** Send the response headers (and, for unary calls, half a body), then nothing, ever. */
  | {type: 'stall'}

export interface FaultOptions {
  /** Only calls of this method (e.g. `ListEnvironments`, `WatchEvents`); default every method. */
  rpc?: string
  /** How many matching calls it affects. Default 1; `Infinity` until clearFaults(). */
  times?: number
  /** Let this many matching calls through untouched first (e.g. fail only the second page of a listing). */
  after?: number
}

export interface RequestLogEntry {
  /** e.g. `ListEnvironments`. */
  rpc: string
  path: string
  query: Record<string, string>
  /** Headers without `authorization` (the log may be printed by a failing test). */
  headers: Record<string, string | string[] | undefined>
  /** Whether the bearer token was the valid one, another one, or absent. */
  auth: 'valid' | 'invalid' | 'missing'
  body: unknown
  status?: number
  fault?: Fault['type']
  at: number
}

export interface SimulatorOptions {
  port?: number
  host?: string
  /** Environments, or the path of a JSON file holding `{"environments": [...]}` (and optionally `"subject"`). */
  seed?: SeedEnvironment[] | string
  /** The one token accepted; random when not given. */
  token?: string
  subject?: SimulatorSubject
  /** Largest page ListEnvironments hands out (the vendor's is 100). */
  pageSizeMax?: number
  /** Serve HTTPS with this key and certificate (PEM); the URL then starts with https://. */
  tls?: {key: string | Buffer; cert: string | Buffer}
}

export interface Simulator {
  /** The API base URL, e.g. `http://127.0.0.1:41234/api`. */
  readonly url: string
  readonly token: string
  readonly subject: Required<SimulatorSubject>
  readonly requests: RequestLogEntry[]
  close(): Promise<void>
  addEnvironment(seed: SeedEnvironment): void
  stopEnvironment(id: string): void
  startEnvironment(id: string, host?: string): void
  deleteEnvironment(id: string): void
  /** The "IP change": a new SSH address, a bumped statusVersion and an UPDATE_STATUS event. */
  setSshAddress(id: string, address: {host: string; port?: number; user?: string} | string): void
  setPhase(id: string, phase: string): void
  /** The wire JSON of one environment as GetEnvironment would return it. */
  environmentJson(id: string): Record<string, unknown> | undefined
  environmentIds(): string[]
  injectFault(fault: Fault, options?: FaultOptions): void
  clearFaults(): void
  /** Destroys every open WatchEvents connection mid-stream (a dropped connection). */
  dropStreams(): void
  /** Number of WatchEvents connections currently open. */
  openStreams(): number
  /** Sends an event to every open stream (normally the mutators do this). */
  emitEvent(operation: string, resourceId: string, resourceType?: string): void
  /** Adds another accepted token (another user) for multi-user tests. */
  addToken(token: string, subject: SimulatorSubject): void
  rpcCount(rpc: string): number
}

interface EnvState {
  id: string
  name: string
  creatorId: string
  organizationId: string
  phase: string
  statusVersion: bigint
  sshUrl?: string
  createdAt: string
}

interface WatchStream {
  res: ServerResponse
  connect: boolean
  organizationId: string
  environmentId?: string
  stalled: boolean
}

const SERVICE_PREFIX = 'gitpod.v1.'
const DEFAULT_USER = 'f53d2330-3795-4c5d-a1ce-8d2bba6c4b39'
const DEFAULT_ORG = '0198ec0e-9d8e-7a3b-b1a4-7f1c2a5c0e11'
const RUNNER_ID = '0199ec15-0000-7000-8000-00000000beef'

function sshUrl(address: {host: string; port?: number; user?: string}): string {
  const host = address.host.includes(':') ? `[${address.host}]` : address.host
  return `ssh://${address.user ?? 'gitpod_devcontainer'}@${host}:${address.port ?? 22}`
}

function frame(value: unknown, flags = 0): Buffer {
  const json = Buffer.from(JSON.stringify(value), 'utf8')
  const head = Buffer.alloc(5)
  head[0] = flags
  head.writeUInt32BE(json.length, 1)
  return Buffer.concat([head, json])
}

/** Reads a seed file: `{"subject": {...}, "environments": [...]}` or a bare array. */
export function loadSeedFile(file: string): {subject?: SimulatorSubject; environments: SeedEnvironment[]} {
  const parsed = JSON.parse(readFileSync(file, 'utf8')) as unknown
  if (Array.isArray(parsed)) return {environments: parsed as SeedEnvironment[]}
  const object = parsed as {subject?: SimulatorSubject; environments?: SeedEnvironment[]}
  return {subject: object.subject, environments: object.environments ?? []}
}

/** Starts a simulator on 127.0.0.1 (or `host`), on a free port unless `port` is given. */
export async function startSimulator(options: SimulatorOptions = {}): Promise<Simulator> {
  const host = options.host ?? '127.0.0.1'
  let seedSubject: SimulatorSubject | undefined
  let seedEnvironments: SeedEnvironment[] = []
  if (typeof options.seed === 'string') {
    const loaded = loadSeedFile(options.seed)
    seedSubject = loaded.subject
    seedEnvironments = loaded.environments
  } else if (options.seed) {
    seedEnvironments = options.seed
  }
  const given = options.subject ?? seedSubject
  const subject: Required<SimulatorSubject> = {
    id: given?.id ?? DEFAULT_USER,
    principal: given?.principal ?? 'PRINCIPAL_USER',
    organizationId: given?.organizationId ?? DEFAULT_ORG,
  }
  const token = options.token ?? `ona_sim_${randomBytes(24).toString('hex')}`
  const tokens = new Map<string, Required<SimulatorSubject>>([[token, subject]])
  const pageSizeMax = options.pageSizeMax ?? 100
  const environments = new Map<string, EnvState>()
  const requests: RequestLogEntry[] = []
  const faults: Array<{fault: Fault; rpc?: string; remaining: number; skip: number}> = []
  const streams = new Set<WatchStream>()
  const sockets = new Set<Socket>()
  let clock = Date.parse('2026-01-01T00:00:00Z')

  function add(seed: SeedEnvironment): void {
    const ssh = seed.ssh === undefined ? undefined : typeof seed.ssh === 'string' ? seed.ssh : sshUrl(seed.ssh)
    const phase = seed.phase ?? (ssh ? 'ENVIRONMENT_PHASE_RUNNING' : 'ENVIRONMENT_PHASE_STOPPED')
    environments.set(seed.id, {
      id: seed.id,
      name: seed.name ?? seed.id.slice(0, 8),
      creatorId: seed.creatorId ?? subject.id,
      organizationId: seed.organizationId ?? subject.organizationId,
      phase,
      statusVersion: BigInt(seed.statusVersion ?? 1),
      ...(ssh && isRunningPhase(phase) ? {sshUrl: ssh} : {}),
      createdAt: new Date((clock += 60_000)).toISOString(),
    })
  }
  for (const seed of seedEnvironments) add(seed)

  function mustGet(id: string): EnvState {
    const env = environments.get(id)
    if (!env) throw new Error(`simulator: no environment ${id}`)
    return env
  }

  function toJson(env: EnvState): Record<string, unknown> {
    const status: Record<string, unknown> = {
      statusVersion: env.statusVersion.toString(),
      phase: env.phase,
      machine: {phase: isRunningPhase(env.phase) ? 'PHASE_RUNNING' : 'PHASE_STOPPED'},
    }
    if (env.sshUrl !== undefined) {
      status.environmentUrls = {ssh: {url: env.sshUrl}, ports: [], logs: `https://logs.invalid/${env.id}`}
    }
    return {
      id: env.id,
      metadata: {
        name: env.name,
        creator: {id: env.creatorId, principal: 'PRINCIPAL_USER'},
        organizationId: env.organizationId,
        runnerId: RUNNER_ID,
        createdAt: env.createdAt,
      },
      spec: {desiredPhase: isRunningPhase(env.phase) ? 'ENVIRONMENT_PHASE_RUNNING' : 'ENVIRONMENT_PHASE_STOPPED', specVersion: '1'},
      status,
    }
  }

  function emitEvent(operation: string, resourceId: string, resourceType = 'RESOURCE_TYPE_ENVIRONMENT'): void {
    const env = environments.get(resourceId)
    const event = {operation, resourceType, resourceId}
    for (const stream of streams) {
      if (stream.stalled) continue
      if (stream.environmentId !== undefined && stream.environmentId !== resourceId) continue
      if (env && env.organizationId !== stream.organizationId) continue
      stream.res.write(stream.connect ? frame(event) : `${JSON.stringify(event)}\n`)
    }
  }

  function bump(env: EnvState): void {
    env.statusVersion += 1n
    emitEvent('RESOURCE_OPERATION_UPDATE_STATUS', env.id)
  }

  function takeFault(rpc: string): Fault | undefined {
    const index = faults.findIndex((f) => f.rpc === undefined || f.rpc === rpc)
    if (index === -1) return undefined
    const entry = faults[index]!
    if (entry.skip > 0) {
      entry.skip--
      return undefined
    }
    entry.remaining--
    if (entry.remaining <= 0) faults.splice(index, 1)
    return entry.fault
  }

  function sendJson(res: ServerResponse, entry: RequestLogEntry, status: number, body: unknown, extra: Record<string, string> = {}): void {
    entry.status = status
    const text = JSON.stringify(body)
    res.writeHead(status, {'content-type': 'application/json', 'content-length': Buffer.byteLength(text), ...extra})
    res.end(text)
  }

  function connectErrorStatus(code: string): number {
    const map: Record<string, number> = {
      unauthenticated: 401,
      permission_denied: 403,
      not_found: 404,
      resource_exhausted: 429,
      invalid_argument: 400,
      failed_precondition: 400,
      unavailable: 503,
      internal: 500,
      unimplemented: 404,
    }
    return map[code] ?? 500
  }

  function defaultCode(status: number): string {
    const map: Record<number, string> = {
      400: 'invalid_argument',
      401: 'unauthenticated',
      403: 'permission_denied',
      404: 'not_found',
      408: 'deadline_exceeded',
      429: 'resource_exhausted',
      500: 'internal',
      503: 'unavailable',
    }
    return map[status] ?? 'unknown'
  }

  async function readBody(req: IncomingMessage): Promise<Buffer> {
    const chunks: Buffer[] = []
    let size = 0
    for await (const chunk of req as AsyncIterable<Buffer>) {
      size += chunk.length
      if (size > 1024 * 1024) throw new Error('body too large')
      chunks.push(chunk)
    }
    return Buffer.concat(chunks)
  }

  function listEnvironments(caller: Required<SimulatorSubject>, body: Record<string, unknown>, query: Record<string, string>): {status: number; json: unknown} {
    const pagination = (body.pagination ?? {}) as {pageSize?: unknown; token?: unknown}
    const filter = (body.filter ?? {}) as {creatorIds?: unknown; statusPhases?: unknown}
    const requestedSize = Number(query.pageSize ?? pagination.pageSize ?? 25)
    const pageSize = Math.min(pageSizeMax, Number.isInteger(requestedSize) && requestedSize > 0 ? requestedSize : 25)
    const pageToken = String(query.token ?? pagination.token ?? '')
    let offset = 0
    if (pageToken !== '') {
      const decoded = /^o:(\d+)$/.exec(Buffer.from(pageToken, 'base64url').toString('utf8'))
      if (!decoded) return {status: 400, json: {code: 'invalid_argument', message: 'invalid pagination token'}}
      offset = Number(decoded[1])
    }
    let list = [...environments.values()].filter((env) => env.organizationId === caller.organizationId)
    if (Array.isArray(filter.creatorIds) && filter.creatorIds.length > 0) {
      const ids = new Set(filter.creatorIds.map(String))
      list = list.filter((env) => ids.has(env.creatorId))
    }
    if (Array.isArray(filter.statusPhases) && filter.statusPhases.length > 0) {
      const phases = new Set(filter.statusPhases.map(String))
      list = list.filter((env) => phases.has(env.phase))
    }
    const page = list.slice(offset, offset + pageSize)
    const next = offset + pageSize < list.length ? Buffer.from(`o:${offset + pageSize}`).toString('base64url') : ''
    return {status: 200, json: {pagination: {nextToken: next}, environments: page.map(toJson)}}
  }

  async function handleWatch(req: IncomingMessage, res: ServerResponse, entry: RequestLogEntry, raw: Buffer, caller: Required<SimulatorSubject> | undefined, fault: Fault | undefined): Promise<void> {
    const connect = String(req.headers['content-type'] ?? '').startsWith('application/connect+json')
    let body: Record<string, unknown> = {}
    try {
      const text = connect ? raw.subarray(5).toString('utf8') : raw.toString('utf8')
      body = text.trim() === '' ? {} : (JSON.parse(text) as Record<string, unknown>)
    } catch {
      body = {}
    }
    entry.body = body
    const endWithError = (code: string, message: string) => {
      if (connect) {
        // Connect streaming reports errors in the end-of-stream frame of a 200 response.
        entry.status = 200
        res.writeHead(200, {'content-type': 'application/connect+json'})
        res.end(frame({error: {code, message}}, 0x02))
      } else {
        sendJson(res, entry, connectErrorStatus(code), {code, message})
      }
    }
    if (fault?.type === 'http') {
      const extra: Record<string, string> = fault.retryAfter === undefined ? {} : {'retry-after': String(fault.retryAfter)}
      sendJson(res, entry, fault.status, {code: fault.code ?? defaultCode(fault.status), message: fault.message ?? 'injected fault'}, extra)
      return
    }
    if (!caller) {
      endWithError('unauthenticated', 'invalid or missing token')
      return
    }
    const environmentId = typeof body.environmentId === 'string' ? body.environmentId : undefined
    entry.status = 200
    res.writeHead(200, {'content-type': connect ? 'application/connect+json' : 'application/jsonl', 'cache-control': 'no-store'})
    res.flushHeaders()
    const stream: WatchStream = {res, connect, organizationId: caller.organizationId, environmentId, stalled: fault?.type === 'stall'}
    if (fault?.type === 'malformed-json') {
      res.write(connect ? Buffer.concat([Buffer.from([0, 0, 0, 0, 9]), Buffer.from('{not json')]) : '{not json\n')
    }
    if (fault?.type === 'wrong-shape') {
      const bad = {operation: 7, resourceType: 'RESOURCE_TYPE_ENVIRONMENT', resourceId: ['x']}
      res.write(connect ? frame(bad) : `${JSON.stringify(bad)}\n`)
    }
    streams.add(stream)
    await new Promise<void>((resolve) => {
      res.once('close', resolve)
    })
    streams.delete(stream)
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://simulator.invalid')
    const match = /^\/api\/gitpod\.v1\.([A-Za-z]+)\/([A-Za-z]+)$/.exec(url.pathname)
    const rpc = match ? match[2]! : url.pathname
    const headers = {...req.headers}
    delete headers.authorization
    const authHeader = req.headers.authorization
    const bearer = authHeader?.startsWith('Bearer ') ? authHeader.slice(7) : undefined
    const caller = bearer === undefined ? undefined : tokens.get(bearer)
    const entry: RequestLogEntry = {
      rpc,
      path: url.pathname,
      query: Object.fromEntries(url.searchParams),
      headers,
      auth: bearer === undefined ? 'missing' : caller ? 'valid' : 'invalid',
      body: undefined,
      at: Date.now(),
    }
    requests.push(entry)
    let raw: Buffer
    try {
      raw = await readBody(req)
    } catch {
      sendJson(res, entry, 413, {code: 'invalid_argument', message: 'body too large'})
      return
    }
    if (!match || req.method !== 'POST' || !url.pathname.startsWith('/api/' + SERVICE_PREFIX)) {
      sendJson(res, entry, match ? 405 : 404, {code: 'unimplemented', message: `${req.method} ${url.pathname} is not a procedure`})
      return
    }
    const fault = takeFault(rpc)
    if (fault) entry.fault = fault.type
    if (fault?.type === 'drop') {
      entry.status = 0
      req.socket.destroy()
      return
    }
    if (fault?.type === 'slow') await new Promise((resolve) => setTimeout(resolve, fault.delayMs))
    if (`${match[1]}/${rpc}` === 'EventService/WatchEvents') {
      await handleWatch(req, res, entry, raw, caller, fault)
      return
    }
    let body: Record<string, unknown>
    try {
      const text = raw.toString('utf8')
      body = text.trim() === '' ? {} : (JSON.parse(text) as Record<string, unknown>)
      entry.body = body
    } catch {
      sendJson(res, entry, 400, {code: 'invalid_argument', message: 'request body is not JSON'})
      return
    }
    if (fault?.type === 'http') {
      const extra: Record<string, string> = fault.retryAfter === undefined ? {} : {'retry-after': String(fault.retryAfter)}
      sendJson(res, entry, fault.status, {code: fault.code ?? defaultCode(fault.status), message: fault.message ?? 'injected fault'}, extra)
      return
    }
    if (fault?.type === 'stall') {
      entry.status = 200
      res.writeHead(200, {'content-type': 'application/json', 'content-length': '1000'})
      res.write('{"environments":[')
      return
    }
    if (fault?.type === 'malformed-json') {
      entry.status = 200
      res.writeHead(200, {'content-type': 'application/json'})
      res.end('{"environments": [{"id": "broken"')
      return
    }
    if (!caller) {
      sendJson(res, entry, 401, {code: 'unauthenticated', message: bearer === undefined ? 'missing bearer token' : 'invalid token'})
      return
    }
    let result: {status: number; json: unknown}
    switch (`${match[1]}/${rpc}`) {
      case 'IdentityService/GetAuthenticatedIdentity': {
        result = {status: 200, json: {subject: {id: caller.id, principal: caller.principal}, organizationId: caller.organizationId}}
        break
      }
      case 'EnvironmentService/ListEnvironments': {
        result = listEnvironments(caller, body, entry.query)
        break
      }
      case 'EnvironmentService/GetEnvironment': {
        const id = body.environmentId
        const env = typeof id === 'string' ? environments.get(id) : undefined
        if (typeof id !== 'string' || id === '') result = {status: 400, json: {code: 'invalid_argument', message: 'environmentId is required'}}
        else if (!env || env.organizationId !== caller.organizationId) result = {status: 404, json: {code: 'not_found', message: `environment ${id} not found`}}
        else result = {status: 200, json: {environment: toJson(env)}}
        break
      }
      default: {
        result = {status: 404, json: {code: 'unimplemented', message: `${match[1]}/${rpc} is not implemented by the simulator`}}
      }
    }
    if (fault?.type === 'wrong-shape' && result.status === 200) {
      result = {status: 200, json: {subject: {id: 42}, environments: [{id: 7, status: {statusVersion: 'many'}}], environment: {id: 7}, pagination: {nextToken: 3}}}
    }
    sendJson(res, entry, result.status, result.json)
  }

  const onRequest = (req: IncomingMessage, res: ServerResponse) => {
    handle(req, res).catch((error: unknown) => {
      if (!res.headersSent) {
        res.writeHead(500, {'content-type': 'application/json'})
        res.end(JSON.stringify({code: 'internal', message: String((error as Error)?.message ?? error)}))
      } else res.destroy()
    })
  }
  const server = options.tls ? https.createServer({key: options.tls.key, cert: options.tls.cert}, onRequest) : http.createServer(onRequest)
  server.on('connection', (socket) => {
    sockets.add(socket)
    socket.once('close', () => sockets.delete(socket))
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(options.port ?? 0, host, () => resolve())
  })
  const address = server.address()
  const port = typeof address === 'object' && address ? address.port : options.port
  const urlHost = host.includes(':') ? `[${host}]` : host

  return {
    url: `${options.tls ? 'https' : 'http'}://${urlHost}:${port}/api`,
    token,
    subject,
    requests,
    async close() {
      for (const stream of streams) stream.res.destroy()
      for (const socket of sockets) socket.destroy()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    },
    addEnvironment(seed) {
      add(seed)
      emitEvent('RESOURCE_OPERATION_CREATE', seed.id)
    },
    stopEnvironment(id) {
      const env = mustGet(id)
      env.phase = 'ENVIRONMENT_PHASE_STOPPED'
      delete env.sshUrl
      bump(env)
    },
    startEnvironment(id, newHost) {
      const env = mustGet(id)
      env.phase = 'ENVIRONMENT_PHASE_RUNNING'
      env.sshUrl = sshUrl({host: newHost ?? '127.0.0.1', port: 22})
      bump(env)
    },
    deleteEnvironment(id) {
      mustGet(id)
      environments.delete(id)
      emitEvent('RESOURCE_OPERATION_DELETE', id)
    },
    setSshAddress(id, address) {
      const env = mustGet(id)
      env.sshUrl = typeof address === 'string' ? address : sshUrl(address)
      bump(env)
    },
    setPhase(id, phase) {
      const env = mustGet(id)
      env.phase = phase
      if (!isRunningPhase(phase)) delete env.sshUrl
      bump(env)
    },
    environmentJson(id) {
      const env = environments.get(id)
      return env ? toJson(env) : undefined
    },
    environmentIds: () => [...environments.keys()],
    injectFault(fault, faultOptions = {}) {
      faults.push({fault, rpc: faultOptions.rpc, remaining: faultOptions.times ?? 1, skip: faultOptions.after ?? 0})
    },
    clearFaults() {
      faults.length = 0
    },
    dropStreams() {
      for (const stream of streams) stream.res.socket?.destroy()
    },
    openStreams: () => streams.size,
    emitEvent,
    addToken(extra, extraSubject) {
      tokens.set(extra, {
        id: extraSubject.id,
        principal: extraSubject.principal ?? 'PRINCIPAL_USER',
        organizationId: extraSubject.organizationId ?? subject.organizationId,
      })
    },
    rpcCount: (name) => requests.filter((r) => r.rpc === name).length,
  }
}

function isRunningPhase(phase: string): boolean {
  return phase === 'ENVIRONMENT_PHASE_RUNNING' || phase === 'ENVIRONMENT_PHASE_UPDATING'
}
