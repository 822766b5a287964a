/**
 * The start of watch mode: the first listing is answered before the event stream is open, so an address
 * that moves in between is heard by no event. The watcher lists again once the stream is open.
 */
import {mkdir, mkdtemp, readFile, rm, writeFile} from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import {PassThrough} from 'node:stream'

import {afterEach, beforeEach, describe, expect, it} from 'vitest'

import {createApiClient, type ApiClient} from '../../src/lib/api/client.js'
import {createContext, type Context} from '../../src/lib/context.js'
import {createIOStreams} from '../../src/lib/io.js'
import {startSimulator, type Simulator} from '../../src/lib/simulator/server.js'
import {watchSshConfig} from '../../src/lib/sync/watch.js'
import {baseEnv} from '../helpers/run-cli.js'
import {waitFor} from '../helpers/wait-for.js'

const A = '0199ec15-59d3-7e92-8e22-8cb6c7ba4df7'

let home: string
let config: string
let sim: Simulator
let client: ApiClient
let output: string
let ctx: Context

beforeEach(async () => {
  home = await mkdtemp(path.join(os.tmpdir(), 'ona-watch-start-'))
  config = path.join(home, '.ssh', 'config')
  await mkdir(path.dirname(config), {mode: 0o700})
  await writeFile(config, 'Host mine\n  Port 2200\n', {mode: 0o600})
  sim = await startSimulator({seed: path.resolve('fixtures/environments.json')})
  client = await createApiClient({baseUrl: sim.url, token: sim.token, env: {}, retries: 0})
  output = ''
  const sink = new PassThrough()
  sink.setEncoding('utf8').on('data', (chunk: string) => (output += chunk))
  ctx = createContext({env: baseEnv(home), io: createIOStreams({out: sink, err: sink, isTTY: false, env: {NO_COLOR: '1'}})})
})
afterEach(async () => {
  await sim.close()
  await rm(home, {recursive: true, force: true})
})

describe('watch mode start-up', () => {
  it('regression: an address that moves between the first listing and the stream opening reaches the file', async () => {
    // The stream's request is held for 1.5 s before the server subscribes it: the window a slow network opens.
    sim.injectFault({type: 'slow', delayMs: 1500}, {rpc: 'WatchEvents'})
    const abort = new AbortController()
    // The periodic listing is an hour away: only the listing on stream open can bring the change in.
    const done = watchSshConfig(ctx, {client, signal: abort.signal, intervalMs: 3_600_000, fileDebounceMs: 100, backoff: {baseMs: 50, maxMs: 200}})
    done.catch(() => undefined)
    try {
      await waitFor(async () => (await readFile(config, 'utf8')).includes('HostName 127.0.0.11'), 5000, 'the first sync')
      expect(sim.openStreams()).toBe(0)
      sim.setSshAddress(A, {host: '127.0.0.77', port: 2222})
      await waitFor(async () => sim.openStreams() > 0, 5000, 'the event stream')
      await waitFor(async () => (await readFile(config, 'utf8')).includes('HostName 127.0.0.77'), 5000, 'the address that moved before the stream opened').catch((error: Error) => {
        throw new Error(`${error.message}\n--- watcher output:\n${output}`)
      })
    } finally {
      abort.abort()
      await done.catch(() => undefined)
    }
  }, 20_000)
})
