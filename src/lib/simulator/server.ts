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

import {createEnvironmentStore, isRunningPhase, setField, sshUrl, type Delays} from './environments.js'
import {createEventHub} from './events.js'

import type {Fault, FaultOptions, RequestLogEntry, SeedEnvironment, SimulatorSubject} from './types.js'

export type {Fault, FaultOptions, RequestLogEntry, SeedEnvironment, SimulatorSubject} from './types.js'

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
  /** How long the phases of StartEnvironment, StopEnvironment and a new SSH key take. Defaults 300/200/200 ms. */
  delays?: Partial<Delays>
}

export interface Simulator {
  /** The API base URL, e.g. `http://127.0.0.1:41234/api`. */
  readonly url: string
  readonly token: string
  readonly subject: Required<SimulatorSubject>
  readonly requests: RequestLogEntry[]
  close(): Promise<void>
  addEnvironment(seed: SeedEnvironment): void
  /** Stops at once (no STOPPING phase); the address is kept for the next start. */
  stopEnvironment(id: string): void
  /** Runs at once on `host` (port 22) or, without one, where it ran last. */
  startEnvironment(id: string, host?: string): void
  /** Where the environment comes up on its next StartEnvironment (a restart on a new instance). */
  setStartAddress(id: string, address: {host: string; port?: number; user?: string}): void
  /**
   * Keeps `file` equal to the environment's READY public keys, one per line, from now on: an sshd whose
   * AuthorizedKeysFile it is accepts exactly the keys registered through UpdateEnvironment.
   */
  linkAuthorizedKeys(id: string, file: string): void
  /** The last MarkEnvironmentActive signal of an environment. */
  lastActivity(id: string): {source: string; timestamp: string} | undefined
  deleteEnvironment(id: string): void
  /** The "IP change": a new SSH address, a bumped statusVersion and an UPDATE_STATUS event. */
  setSshAddress(id: string, address: {host: string; port?: number; user?: string} | string): void
  setPhase(id: string, phase: string): void
  /** A new display name (metadata.name), with a bumped statusVersion and an UPDATE_STATUS event. */
  renameEnvironment(id: string, name: string): void
  /** The wire JSON of one environment as GetEnvironment would return it. */
  environmentJson(id: string): Record<string, unknown> | undefined
  environmentIds(): string[]
  injectFault(fault: Fault, options?: FaultOptions): void
  clearFaults(): void
  /**
   * Holds the delayed steps of StartEnvironment, StopEnvironment and new keys (STARTING -> RUNNING, STOPPING
   * -> STOPPED, CREATING -> READY) until the returned function is called; each then takes its usual delay.
   * A test that looks at the intermediate phase holds it, rather than racing a timer on a loaded machine.
   */
  holdTransitions(): () => void
  /** Destroys every open WatchEvents connection mid-stream (a dropped connection). */
  dropStreams(): void
  /** Number of WatchEvents connections currently open. */
  openStreams(): number
  /** Sends an event to every open stream (normally the mutators do this). */
  emitEvent(operation: string, resourceId: string, resourceType?: string): void
  /** Events lost in transit: the next `count` events reach no stream (the changes they announce happen). */
  loseEvents(count: number): void
  /** Adds another accepted token (another user) for multi-user tests. */
  addToken(token: string, subject: SimulatorSubject): void
  rpcCount(rpc: string): number
}

const SERVICE_PREFIX = 'gitpod.v1.'
const DEFAULT_USER = 'f53d2330-3795-4c5d-a1ce-8d2bba6c4b39'
const DEFAULT_ORG = '0198ec0e-9d8e-7a3b-b1a4-7f1c2a5c0e11'

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
    name: given?.name ?? '',
    organizationName: given?.organizationName ?? '',
  }
  const token = options.token ?? `ona_sim_${randomBytes(24).toString('hex')}`
  const tokens = new Map<string, Required<SimulatorSubject>>([[token, subject]])
  const requests: RequestLogEntry[] = []
  const faults: Array<{fault: Fault; rpc?: string; remaining: number; skip: number}> = []
  const sockets = new Set<Socket>()
  const hub = createEventHub()
  const store = createEnvironmentStore({
    subject,
    pageSizeMax: options.pageSizeMax ?? 100,
    delays: {startMs: 300, stopMs: 200, keyReadyMs: 200, ...options.delays},
    emit: (operation, resourceId) => emitEvent(operation, resourceId),
  })
  const {environments, mustGet, bump} = store
  for (const seed of seedEnvironments) store.add(seed)

  let eventsToLose = 0
  function emitEvent(operation: string, resourceId: string, resourceType = 'RESOURCE_TYPE_ENVIRONMENT'): void {
    if (eventsToLose > 0) {
      eventsToLose--
      return
    }
    hub.emit(operation, resourceId, resourceType, environments.get(resourceId)?.organizationId)
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
      await hub.handleWatch(req, res, entry, raw, caller, fault, {
        sendJson: (status, json, extra) => sendJson(res, entry, status, json, extra),
        connectErrorStatus,
        defaultCode,
      })
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
    const service = match[1]
    if (service === 'IdentityService' && rpc === 'GetAuthenticatedIdentity') {
      result = {status: 200, json: {subject: {id: caller.id, principal: caller.principal}, organizationId: caller.organizationId}}
    } else if (service === 'UserService' && rpc === 'GetAuthenticatedUser') {
      result = {status: 200, json: {user: {id: caller.id, ...(caller.name ? {name: caller.name} : {}), organizationId: caller.organizationId}}}
    } else if (service === 'OrganizationService' && rpc === 'GetOrganization') {
      // Only the caller's own organization, as the plane answers a member.
      const asked = (body as {organizationId?: unknown} | undefined)?.organizationId
      result =
        asked === caller.organizationId
          ? {status: 200, json: {organization: {id: caller.organizationId, ...(caller.organizationName ? {name: caller.organizationName} : {})}}}
          : {status: 403, json: {code: 'permission_denied', message: 'not a member of this organization'}}
    } else {
      const overlap = fault?.type === 'duplicate-pages' ? {stale: fault.stale} : undefined
      result = (service === 'EnvironmentService' ? store.handle(rpc, caller, body, entry.query, overlap) : undefined) ?? {
        status: 404,
        json: {code: 'unimplemented', message: `${service}/${rpc} is not implemented by the simulator`},
      }
    }
    if (fault?.type === 'wrong-shape' && result.status === 200) {
      result = {status: 200, json: {subject: {id: 42}, environments: [{id: 7, status: {statusVersion: 'many'}}], environment: {id: 7}, pagination: {nextToken: 3}}}
    }
    if (fault?.type === 'fields' && result.status === 200) {
      // A copy: the store's own JSON (a stale copy it keeps) is never changed.
      const json = structuredClone(result.json) as {environments?: Array<Record<string, unknown>>; environment?: Record<string, unknown>}
      for (const env of [...(json.environments ?? []), ...(json.environment ? [json.environment] : [])]) {
        if (fault.ids && !fault.ids.includes(String(env.id))) continue
        for (const [path, value] of Object.entries(fault.set)) setField(env, path, value)
      }
      result = {status: 200, json}
    }
    if (fault?.type === 'late') await new Promise((resolve) => setTimeout(resolve, fault.delayMs))
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
      store.close()
      hub.closeAll()
      for (const socket of sockets) socket.destroy()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    },
    holdTransitions: () => store.hold(),
    addEnvironment(seed) {
      store.add(seed)
      emitEvent('RESOURCE_OPERATION_CREATE', seed.id)
    },
    stopEnvironment(id) {
      const env = mustGet(id)
      env.phase = 'ENVIRONMENT_PHASE_STOPPED'
      if (env.sshUrl) env.startUrl = env.sshUrl
      delete env.sshUrl
      bump(env)
    },
    startEnvironment(id, newHost) {
      const env = mustGet(id)
      env.phase = 'ENVIRONMENT_PHASE_RUNNING'
      env.sshUrl = newHost === undefined ? (env.startUrl ?? sshUrl({host: '127.0.0.1'})) : sshUrl({host: newHost, port: 22})
      env.startUrl = env.sshUrl
      bump(env)
    },
    setStartAddress(id, address) {
      mustGet(id).startUrl = sshUrl(address)
    },
    linkAuthorizedKeys(id, file) {
      const env = mustGet(id)
      env.authorizedKeysFiles.add(file)
      store.writeAuthorizedKeys(env)
    },
    lastActivity: (id) => environments.get(id)?.lastActivity,
    deleteEnvironment(id) {
      mustGet(id)
      environments.delete(id)
      emitEvent('RESOURCE_OPERATION_DELETE', id)
    },
    setSshAddress(id, address) {
      const env = mustGet(id)
      env.sshUrl = typeof address === 'string' ? address : sshUrl(address)
      env.startUrl = env.sshUrl
      bump(env)
    },
    renameEnvironment(id, name) {
      const env = mustGet(id)
      env.name = name
      bump(env)
    },
    setPhase(id, phase) {
      const env = mustGet(id)
      env.phase = phase
      if (!isRunningPhase(phase)) {
        if (env.sshUrl) env.startUrl = env.sshUrl
        delete env.sshUrl
      }
      bump(env)
    },
    environmentJson(id) {
      const env = environments.get(id)
      return env ? store.toJson(env) : undefined
    },
    environmentIds: () => [...environments.keys()],
    injectFault(fault, faultOptions = {}) {
      faults.push({fault, rpc: faultOptions.rpc, remaining: faultOptions.times ?? 1, skip: faultOptions.after ?? 0})
    },
    clearFaults() {
      faults.length = 0
    },
    dropStreams: () => hub.drop(),
    loseEvents(count) {
      eventsToLose = Math.max(0, count)
    },
    openStreams: () => hub.open(),
    emitEvent,
    addToken(extra, extraSubject) {
      tokens.set(extra, {
        id: extraSubject.id,
        principal: extraSubject.principal ?? 'PRINCIPAL_USER',
        organizationId: extraSubject.organizationId ?? subject.organizationId,
        name: extraSubject.name ?? '',
        organizationName: extraSubject.organizationName ?? (extraSubject.organizationId === undefined ? subject.organizationName : ''),
      })
    },
    rpcCount: (name) => requests.filter((r) => r.rpc === name).length,
  }
}

