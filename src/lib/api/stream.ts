/**
 * Decoders for the two wire forms of a server-streaming call: newline-delimited JSON (what the vendor
 * SDKs ask for with `Accept: application/jsonl`) and Connect's enveloped stream
 * (`application/connect+json`: 1 flag byte, 4-byte big-endian length, JSON; flag 0x02 ends the stream).
 * Pure: they take byte chunks and yield parsed JSON values, so tests can feed them any split.
 */
import {OnaError} from '../errors.js'
import {connectError} from './errors.js'
import {responseTooLarge} from './http.js'

/**
 * A message larger than this is not an event (events carry no payload; a few hundred bytes): refusing it,
 * and closing the stream, bounds memory against a broken server. The same order as MAX_RESPONSE_BYTES.
 */
export const MAX_MESSAGE_BYTES = 4 * 1024 * 1024

const END_STREAM = 0x02
const COMPRESSED = 0x01

function malformed(rpc: string, detail: string): OnaError {
  return new OnaError('ERR_API_BAD_RESPONSE', `malformed stream from ${rpc}: ${detail}`, {details: {rpc}})
}

function parseJson(rpc: string, text: string): unknown {
  try {
    return JSON.parse(text)
  } catch {
    throw malformed(rpc, 'a message is not valid JSON')
  }
}

/** A stream-level error object (`{"error":{"code","message"}}`) becomes the matching typed error. */
function throwIfError(rpc: string, value: unknown): void {
  if (value && typeof value === 'object' && 'error' in value) {
    const error = (value as {error?: {code?: unknown; message?: unknown}}).error
    if (error && typeof error === 'object') {
      const code = typeof error.code === 'string' ? error.code : 'unknown'
      const message = typeof error.message === 'string' ? error.message.slice(0, 500) : undefined
      throw connectError(rpc, code, message)
    }
  }
}

/** Yields one JSON value per non-empty line; a final line without newline counts. */
export async function* decodeJsonLines(chunks: AsyncIterable<Uint8Array>, rpc = 'WatchEvents'): AsyncGenerator<unknown> {
  const decoder = new TextDecoder()
  let buffer = ''
  for await (const chunk of chunks) {
    buffer += decoder.decode(chunk, {stream: true})
    let newline = buffer.indexOf('\n')
    while (newline !== -1) {
      const line = buffer.slice(0, newline).trim()
      buffer = buffer.slice(newline + 1)
      if (line !== '') {
        const value = parseJson(rpc, line)
        throwIfError(rpc, value)
        yield value
      }
      newline = buffer.indexOf('\n')
    }
    // Throwing leaves the caller's for-await, which destroys the response: the rest is never read.
    if (buffer.length > MAX_MESSAGE_BYTES) throw responseTooLarge(MAX_MESSAGE_BYTES, `a line of the ${rpc} stream`, {rpc})
  }
  buffer += decoder.decode()
  const rest = buffer.trim()
  if (rest !== '') {
    const value = parseJson(rpc, rest)
    throwIfError(rpc, value)
    yield value
  }
}

/**
 * Yields the JSON payload of each data frame. The end-of-stream frame either ends the iteration
 * (`{}`) or throws its error; a stream that ends without one was cut off and throws, so the caller
 * reconnects instead of mistaking a dropped connection for a clean end.
 */
export async function* decodeConnectEnvelopes(chunks: AsyncIterable<Uint8Array>, rpc = 'WatchEvents'): AsyncGenerator<unknown> {
  let buffer = Buffer.alloc(0)
  const decoder = new TextDecoder('utf-8', {fatal: true})
  for await (const chunk of chunks) {
    buffer = buffer.length === 0 ? Buffer.from(chunk) : Buffer.concat([buffer, chunk])
    while (buffer.length >= 5) {
      const flags = buffer[0] ?? 0
      const length = buffer.readUInt32BE(1)
      if (length > MAX_MESSAGE_BYTES) throw responseTooLarge(MAX_MESSAGE_BYTES, `a frame of the ${rpc} stream (${length} bytes announced)`, {rpc, announcedBytes: length})
      if (buffer.length < 5 + length) break
      const payload = buffer.subarray(5, 5 + length)
      buffer = buffer.subarray(5 + length)
      if (flags & COMPRESSED) throw malformed(rpc, 'compressed frames were not negotiated')
      let text: string
      try {
        text = decoder.decode(payload)
      } catch {
        throw malformed(rpc, 'a frame is not UTF-8')
      }
      const value = parseJson(rpc, text)
      if (flags & END_STREAM) {
        throwIfError(rpc, value)
        return
      }
      yield value
    }
  }
  throw new OnaError('ERR_API_UNAVAILABLE', `the ${rpc} stream ended without an end-of-stream frame (connection dropped)`, {
    details: {rpc},
  })
}

/** Frames one message for a Connect streaming request or response. */
export function encodeConnectEnvelope(value: unknown, flags = 0): Buffer {
  const json = Buffer.from(JSON.stringify(value), 'utf8')
  const head = Buffer.alloc(5)
  head[0] = flags
  head.writeUInt32BE(json.length, 1)
  return Buffer.concat([head, json])
}
