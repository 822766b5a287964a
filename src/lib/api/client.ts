/**
 * The management-plane client: one object with a method per RPC, built from the service families
 * (identity.ts, environments.ts, events.ts) over one shared transport (transport.ts: Node http, retries, proxy,
 * error rebuilding). Every response is validated (schema.ts) before it is returned.
 */
import {environmentCalls, type EnvironmentCalls} from './environments.js'
import {eventCalls, type EventCalls} from './events.js'
import {identityCalls, type IdentityCalls} from './identity.js'
import {createTransport, type ApiClientOptions} from './transport.js'

export type {ApiClientOptions, CallOptions} from './transport.js'
export type {WatchEventsOptions} from './events.js'

export interface ApiClient extends IdentityCalls, EnvironmentCalls, EventCalls {
  readonly baseUrl: string
}

/** Creates a client; nothing is sent until the first call. */
export async function createApiClient(options: ApiClientOptions): Promise<ApiClient> {
  const transport = await createTransport(options)
  const identity = identityCalls(transport)
  return {baseUrl: transport.baseUrl, ...identity, ...environmentCalls(transport, identity), ...eventCalls(transport)}
}
