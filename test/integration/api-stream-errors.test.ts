/**
 * A Connect server streams errors in the end-of-stream frame of an HTTP 200: the stream "opens" and then
 * fails. Such failures must still back off and count towards giving up, and the server's message must not
 * carry the token into the error.
 */
import http from 'node:http'
import type {AddressInfo} from 'node:net'

import {afterEach, beforeEach, expect, it} from 'vitest'

import {createApiClient} from '../../src/lib/api/client.js'
import {watchEventsWithReconnect} from '../../src/lib/api/watch.js'
import {OnaError} from '../../src/lib/errors.js'

const TOKEN = 'ona_pat_stream_secret_123456'
let server: http.Server
let connections = 0
let url: string

function endFrame(value: unknown): Buffer {
  const json = Buffer.from(JSON.stringify(value))
  const head = Buffer.alloc(5)
  head[0] = 0x02
  head.writeUInt32BE(json.length, 1)
  return Buffer.concat([head, json])
}

beforeEach(async () => {
  connections = 0
  server = http.createServer((req, res) => {
    connections++
    req.resume()
    res.writeHead(200, {'content-type': 'application/connect+json'})
    res.end(endFrame({error: {code: 'unavailable', message: `overloaded while serving ${TOKEN}`}}))
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/api`
})
afterEach(async () => {
  await new Promise((resolve) => server.close(resolve))
})

it('end-of-stream errors after a 200 back off, count towards giving up, and never carry the token', async () => {
  const api = await createApiClient({baseUrl: url, token: TOKEN, env: {}, streamFormat: 'connect'})
  const controller = new AbortController()
  const guard = setTimeout(() => controller.abort(), 10_000)
  const delays: number[] = []
  let caught: unknown
  try {
    for await (const _ of watchEventsWithReconnect(api, {
      signal: controller.signal,
      maxConsecutiveFailures: 3,
      backoff: {baseMs: 20, maxMs: 1000, jitter: 0},
      onDisconnect: ({delayMs}) => delays.push(delayMs),
    })) {
      // 'open' updates only
    }
  } catch (error) {
    caught = error
  } finally {
    clearTimeout(guard)
  }
  expect(caught).toBeInstanceOf(OnaError)
  expect((caught as OnaError).code).toBe('ERR_API_UNAVAILABLE')
  expect(connections).toBe(4)
  expect(delays).toHaveLength(3)
  expect(delays[1]!).toBeGreaterThan(delays[0]!)
  expect(delays[2]!).toBeGreaterThan(delays[1]!)
  const text = `${(caught as OnaError).message}\n${JSON.stringify((caught as OnaError).toJSON())}`
  expect(text).toContain('overloaded while serving')
  expect(text).not.toContain(TOKEN)
})
