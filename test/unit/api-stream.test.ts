import {describe, expect, it} from 'vitest'

import {decodeConnectEnvelopes, decodeJsonLines, encodeConnectEnvelope} from '../../src/lib/api/stream.js'
import {OnaError} from '../../src/lib/errors.js'

async function* chunksOf(buffer: Buffer, size: number): AsyncGenerator<Uint8Array> {
  for (let i = 0; i < buffer.length; i += size) yield buffer.subarray(i, i + size)
}

async function collect(iterable: AsyncIterable<unknown>): Promise<unknown[]> {
  const out: unknown[] = []
  for await (const value of iterable) out.push(value)
  return out
}

async function failure(iterable: AsyncIterable<unknown>): Promise<OnaError> {
  try {
    await collect(iterable)
  } catch (error) {
    expect(error).toBeInstanceOf(OnaError)
    return error as OnaError
  }
  throw new Error('expected the stream to fail')
}

const a = {operation: 'RESOURCE_OPERATION_UPDATE_STATUS', resourceType: 'RESOURCE_TYPE_ENVIRONMENT', resourceId: 'env-ä'}
const b = {operation: 'RESOURCE_OPERATION_DELETE', resourceType: 'RESOURCE_TYPE_ENVIRONMENT', resourceId: 'env-2'}

describe('decodeJsonLines', () => {
  it.each([1, 2, 7, 1000])('decodes the same events whatever the chunk size (%i bytes)', async (size) => {
    const wire = Buffer.from(`${JSON.stringify(a)}\n\n${JSON.stringify(b)}`)
    expect(await collect(decodeJsonLines(chunksOf(wire, size)))).toEqual([a, b])
  })

  it('turns an error line into the typed error', async () => {
    const wire = Buffer.from(`${JSON.stringify(a)}\n{"error":{"code":"unauthenticated","message":"token revoked"}}\n`)
    expect((await failure(decodeJsonLines(chunksOf(wire, 5)))).code).toBe('ERR_AUTH_EXPIRED')
  })

  it('rejects a line that is not JSON', async () => {
    expect((await failure(decodeJsonLines(chunksOf(Buffer.from('{oops\n'), 3)))).code).toBe('ERR_API_BAD_RESPONSE')
  })
})

describe('decodeConnectEnvelopes', () => {
  const stream = (...frames: Buffer[]) => Buffer.concat(frames)

  it.each([1, 3, 5, 6, 64])('decodes frames split at any byte (%i-byte chunks) and stops at end-of-stream', async (size) => {
    const wire = stream(encodeConnectEnvelope(a), encodeConnectEnvelope(b), encodeConnectEnvelope({}, 0x02))
    expect(await collect(decodeConnectEnvelopes(chunksOf(wire, size)))).toEqual([a, b])
  })

  it('throws the error carried by the end-of-stream frame', async () => {
    const wire = stream(encodeConnectEnvelope(a), encodeConnectEnvelope({error: {code: 'permission_denied', message: 'no'}}, 0x02))
    expect((await failure(decodeConnectEnvelopes(chunksOf(wire, 4)))).code).toBe('ERR_PERMISSION_DENIED')
  })

  it('treats a stream cut off before end-of-stream as a dropped connection', async () => {
    const whole = encodeConnectEnvelope(a)
    const error = await failure(decodeConnectEnvelopes(chunksOf(whole.subarray(0, whole.length - 3), 4)))
    expect(error.code).toBe('ERR_API_UNAVAILABLE')
    expect(error.message).toContain('dropped')
  })

  it('refuses a frame length beyond the limit instead of buffering it', async () => {
    const head = Buffer.from([0, 0x7f, 0xff, 0xff, 0xff])
    const error = await failure(decodeConnectEnvelopes(chunksOf(head, 5)))
    expect(error.code).toBe('ERR_API_RESPONSE_TOO_LARGE')
    expect(error.message).toContain('larger than 4 MiB')
  })

  it('refuses compressed frames that were never negotiated', async () => {
    const frame = encodeConnectEnvelope(a, 0x01)
    expect((await failure(decodeConnectEnvelopes(chunksOf(frame, 100)))).message).toContain('compressed')
  })
})
