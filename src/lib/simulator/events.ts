/**
 * The simulator's EventService: open WatchEvents streams and the events sent to them, in both wire forms
 * (JSON lines, Connect streaming frames).
 */
import type {IncomingMessage, ServerResponse} from 'node:http'

import type {Fault, RequestLogEntry, SimulatorSubject} from './types.js'

interface WatchStream {
  res: ServerResponse
  connect: boolean
  organizationId: string
  environmentId?: string
  stalled: boolean
}

/**
 * One Connect streaming frame. This repeats api/stream.ts's encodeConnectEnvelope on purpose: the simulator
 * imports nothing from the client, so a framing mistake in the client cannot be mirrored here and pass.
 */
export function frame(value: unknown, flags = 0): Buffer {
  const json = Buffer.from(JSON.stringify(value), 'utf8')
  const head = Buffer.alloc(5)
  head[0] = flags
  head.writeUInt32BE(json.length, 1)
  return Buffer.concat([head, json])
}

export interface EventHub {
  /** Sends an event to the streams that watch it (the organisation's, or that environment's). */
  emit(operation: string, resourceId: string, resourceType: string, organizationId: string | undefined): void
  handleWatch(
    req: IncomingMessage,
    res: ServerResponse,
    entry: RequestLogEntry,
    raw: Buffer,
    caller: Required<SimulatorSubject> | undefined,
    fault: Fault | undefined,
    reply: {sendJson(status: number, body: unknown, extra?: Record<string, string>): void; connectErrorStatus(code: string): number; defaultCode(status: number): string},
  ): Promise<void>
  drop(): void
  closeAll(): void
  open(): number
}

export function createEventHub(): EventHub {
  const streams = new Set<WatchStream>()
  return {
    emit(operation, resourceId, resourceType, organizationId) {
      const event = {operation, resourceType, resourceId}
      for (const stream of streams) {
        if (stream.stalled) continue
        if (stream.environmentId !== undefined && stream.environmentId !== resourceId) continue
        if (organizationId !== undefined && organizationId !== stream.organizationId) continue
        stream.res.write(stream.connect ? frame(event) : `${JSON.stringify(event)}\n`)
      }
    },
    async handleWatch(req, res, entry, raw, caller, fault, reply) {
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
          reply.sendJson(reply.connectErrorStatus(code), {code, message})
        }
      }
      if (fault?.type === 'http') {
        const extra: Record<string, string> = fault.retryAfter === undefined ? {} : {'retry-after': String(fault.retryAfter)}
        reply.sendJson(fault.status, {code: fault.code ?? reply.defaultCode(fault.status), message: fault.message ?? 'injected fault'}, extra)
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
    },
    drop() {
      for (const stream of streams) stream.res.socket?.destroy()
    },
    closeAll() {
      for (const stream of streams) stream.res.destroy()
    },
    open: () => streams.size,
  }
}
