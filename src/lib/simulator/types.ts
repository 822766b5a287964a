/**
 * The simulator's shared types: what seeds, faults and the request log look like. A room of their own so
 * the store (environments.ts) and the event hub (events.ts) need not import the server that uses them.
 */

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
  /** Keys already registered (and READY) on the environment. */
  sshPublicKeys?: Array<{id: string; value: string}>
  /** Where the checkout is inside the environment (`status.content.contentLocationInMachine`). */
  checkoutFolder?: string
}

export interface SimulatorSubject {
  id: string
  principal?: string
  organizationId?: string
  /** UserService/GetAuthenticatedUser's `user.name`; empty: none given. */
  name?: string
  /** OrganizationService/GetOrganization's `organization.name` for organizationId; empty: none given. */
  organizationName?: string
}

export type Fault =
  /** Answer with this status and a Connect error body (and Retry-After when given). */
  | {type: 'http'; status: number; code?: string; message?: string; retryAfter?: number | string}
  /** Wait before answering normally. */
  | {type: 'slow'; delayMs: number}
  /** Answer from the state as it is now, but deliver it after `delayMs` (a stale, late reply). */
  | {type: 'late'; delayMs: number}
  /** Answer 200 with a body (or stream message) that is not JSON. */
  | {type: 'malformed-json'}
  /** Answer 200 with JSON of the wrong shape (e.g. a number where a string belongs). */
  | {type: 'wrong-shape'}
  /** Destroy the connection without answering. */
  | {type: 'drop'}
  /** Send the response headers (and, for unary calls, half a body), then nothing, ever. */
  | {type: 'stall'}
  /**
   * ListEnvironments pages that overlap, as paging a list that changes meanwhile does: each page after the
   * first also carries the last environment of the page before (`stale`: as it was before its last
   * change, with its older statusVersion), and a single page carries its first environment twice.
   */
  | {type: 'duplicate-pages'; stale?: boolean}
  /**
   * Environments in the answer (ListEnvironments, GetEnvironment) with these members set, by dotted path
   * (`metadata.name`), e.g. to `null`, which protobuf JSON allows for any field and reads as the default,
   * or to a value of the wrong type (a record that fails validation). `ids`: only these environments.
   */
  | {type: 'fields'; set: Record<string, unknown>; ids?: string[]}

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
