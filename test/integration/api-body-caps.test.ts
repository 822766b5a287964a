/**
 * Response size caps (issue 13: an 800 MB reply once took 2.6 GB): a real server on 127.0.0.1 streams
 * far more than any cap, as fast as the socket takes it, and counts what it wrote until the client hung
 * up. The client must fail with ERR_API_RESPONSE_TOO_LARGE (not retry) and the server must see the
 * connection close long before it wrote everything: proof that the client stopped reading, not a
 * memory figure.
 */
import http from 'node:http'
import type {AddressInfo} from 'node:net'

import {afterEach, beforeEach, describe, expect, it} from 'vitest'

import {createApiClient} from '../../src/lib/api/client.js'
import {MAX_ERROR_BODY_BYTES, MAX_RESPONSE_BYTES} from '../../src/lib/api/http.js'
import {MAX_MESSAGE_BYTES} from '../../src/lib/api/stream.js'
import {OnaError} from '../../src/lib/errors.js'

const TOKEN = 'ona_pat_caps_secret_123456'
/** What the server would send if nobody stopped it: 16x the unary cap. */
const TOTAL = 16 * MAX_RESPONSE_BYTES
const CHUNK = Buffer.alloc(64 * 1024, 'a')

type Reply = (res: http.ServerResponse) => {head: http.OutgoingHttpHeaders; status?: number; prefix?: Buffer}

let server: http.Server
let url: string
let requests = 0
let reply: Reply
/** Resolves with the bytes written when the client closed the connection (or the server finished). */
let finished: Promise<{written: number; complete: boolean}>

beforeEach(async () => {
  requests = 0
  let settle!: (value: {written: number; complete: boolean}) => void
  finished = new Promise((resolve) => (settle = resolve))
  server = http.createServer((req, res) => {
    requests++
    req.resume()
    const {head, status, prefix} = reply(res)
    res.writeHead(status ?? 200, head)
    let written = 0
    let done = false
    const stop = (complete: boolean) => {
      if (done) return
      done = true
      settle({written, complete})
    }
    res.on('close', () => stop(false))
    const pump = () => {
      if (prefix && written === 0) {
        res.write(prefix)
        written += prefix.length
      }
      while (!done && written < TOTAL) {
        written += CHUNK.length
        if (!res.write(CHUNK)) return void res.once('drain', pump)
      }
      if (!done) {
        res.end()
        stop(true)
      }
    }
    pump()
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/api`
})
afterEach(async () => {
  server.closeAllConnections()
  await new Promise((resolve) => server.close(resolve))
})

async function caught(promise: Promise<unknown>): Promise<OnaError> {
  try {
    await promise
  } catch (error) {
    return error as OnaError
  }
  throw new Error('expected a failure')
}

describe('unary replies', () => {
  it.each([
    ['a chunked 2xx body with no length', {'content-type': 'application/json'}],
    ['a 2xx body whose Content-Length announces more than the cap', {'content-type': 'application/json', 'content-length': String(TOTAL)}],
  ])('%s fails with ERR_API_RESPONSE_TOO_LARGE, is not retried, and stops the download', async (_, head) => {
    reply = () => ({head})
    const api = await createApiClient({baseUrl: url, token: TOKEN, env: {}, retries: 3})
    const error = await caught(api.getAuthenticatedIdentity())
    expect(error).toBeInstanceOf(OnaError)
    expect(error.code).toBe('ERR_API_RESPONSE_TOO_LARGE')
    expect(error.message).toContain('GetAuthenticatedIdentity')
    expect(error.message).toContain('larger than 8 MiB')
    expect(error.hint).toContain('--api-url')
    expect(requests).toBe(1)
    const seen = await finished
    expect(seen.complete).toBe(false)
    // The client read at most the cap; the rest is what sat in socket buffers when it hung up.
    expect(seen.written).toBeLessThan(TOTAL / 2)
  })

  it('reads only the start of an endless error reply, then closes the connection', async () => {
    reply = () => ({status: 400, head: {'content-type': 'application/json'}, prefix: Buffer.from('{"code":"invalid_argument","message":"no"}')})
    const api = await createApiClient({baseUrl: url, token: TOKEN, env: {}, retries: 0})
    const error = await caught(api.getAuthenticatedIdentity())
    // The start was not valid JSON on its own (it goes on with "aaaa..."): the status decides.
    expect(error.code).toBe('ERR_API_REQUEST')
    const seen = await finished
    expect(seen.complete).toBe(false)
    expect(seen.written).toBeLessThan(TOTAL / 2)
    expect(MAX_ERROR_BODY_BYTES).toBeLessThan(MAX_RESPONSE_BYTES)
  })
})

describe('stream messages', () => {
  async function watchFailure(format: 'jsonl' | 'connect'): Promise<OnaError> {
    const api = await createApiClient({baseUrl: url, token: TOKEN, env: {}, streamFormat: format})
    const controller = new AbortController()
    const guard = setTimeout(() => controller.abort(new Error('the test guard fired')), 20_000)
    try {
      return await caught(
        (async () => {
          for await (const _ of api.watchEvents({signal: controller.signal})) {
            // no event ever completes
          }
        })(),
      )
    } finally {
      clearTimeout(guard)
    }
  }

  it('a JSON-lines stream line longer than the cap fails with ERR_API_RESPONSE_TOO_LARGE and closes the stream', async () => {
    reply = () => ({head: {'content-type': 'application/jsonl'}, prefix: Buffer.from('{"resourceId":"')})
    const error = await watchFailure('jsonl')
    expect(error.code).toBe('ERR_API_RESPONSE_TOO_LARGE')
    expect(error.message).toContain('WatchEvents')
    const seen = await finished
    expect(seen.complete).toBe(false)
    expect(seen.written).toBeLessThan(TOTAL / 2)
  })

  it('a Connect frame announcing more than the cap fails at its header, before its body is read', async () => {
    const head = Buffer.alloc(5)
    head.writeUInt32BE(MAX_MESSAGE_BYTES + 1, 1)
    reply = () => ({head: {'content-type': 'application/connect+json'}, prefix: head})
    const error = await watchFailure('connect')
    expect(error.code).toBe('ERR_API_RESPONSE_TOO_LARGE')
    expect(error.message).toContain(`${MAX_MESSAGE_BYTES + 1} bytes announced`)
    const seen = await finished
    expect(seen.complete).toBe(false)
    expect(seen.written).toBeLessThan(TOTAL / 2)
  })
})
