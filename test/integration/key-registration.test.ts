/**
 * Registering the machine's key is remembered against the record it was made from: a stale record (a
 * listing taken before the registration took effect) causes no second call, but a newer record without the
 * key (removed from the environment, dropped by a restart) registers it again, in a watcher that has been
 * running all along too. The simulator on 127.0.0.1, a real key in a scratch config directory.
 */
import {mkdir, mkdtemp, readFile, rm, writeFile} from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import {PassThrough} from 'node:stream'

import {afterEach, beforeEach, describe, expect, it} from 'vitest'

import {createApiClient, type ApiClient} from '../../src/lib/api/client.js'
import {createContext, type Context} from '../../src/lib/context.js'
import {ensureKeyRegistered} from '../../src/lib/environments/keys.js'
import {createIOStreams} from '../../src/lib/io.js'
import {machineKey} from '../../src/lib/keys/machine-key.js'
import {startSimulator, type Simulator} from '../../src/lib/simulator/server.js'
import {watchSshConfig} from '../../src/lib/watch/watch.js'
import {baseEnv} from '../helpers/run-cli.js'
import {waitFor} from '../helpers/wait-for.js'

const A = '0199ec15-59d3-7e92-8e22-8cb6c7ba4df7'

let home: string
let sim: Simulator
let client: ApiClient
let ctx: Context

beforeEach(async () => {
  home = await mkdtemp(path.join(os.tmpdir(), 'ona-key-registration-'))
  await mkdir(path.join(home, '.ssh'), {mode: 0o700})
  await writeFile(path.join(home, '.ssh', 'config'), '', {mode: 0o600})
  sim = await startSimulator({seed: [{id: A, name: 'api', ssh: {host: '127.0.0.11', port: 2222}}], delays: {keyReadyMs: 20, startMs: 20, stopMs: 20}})
  client = await createApiClient({baseUrl: sim.url, token: sim.token, env: {}, retries: 1, backoff: {baseMs: 20, maxMs: 100}})
  const out = new PassThrough().resume()
  ctx = createContext({env: baseEnv(home), io: createIOStreams({out, err: out, isTTY: false, env: {NO_COLOR: '1'}})})
})
afterEach(async () => {
  await sim.close()
  await rm(home, {recursive: true, force: true})
})

const updates = () => sim.rpcCount('UpdateEnvironment')
const registered = (publicKey: string) => ((sim.environmentJson(A) as {spec: {sshPublicKeys?: Array<{value: string}>}}).spec.sshPublicKeys ?? []).some((k) => k.value === publicKey)

describe('key registrations', () => {
  it('a stale record causes no second call; a newer one without the key registers it again', async () => {
    const key = await machineKey(ctx)
    const before = (await client.getEnvironment(A)).environment
    expect(await ensureKeyRegistered(client, before, key)).toMatchObject({status: 'registered'})
    expect(updates()).toBe(1)
    // The same record again (a listing taken before the registration): no call.
    expect(await ensureKeyRegistered(client, before, key)).toMatchObject({status: 'registered'})
    expect(updates()).toBe(1)

    // Someone removes the key from the environment: the next record says so, and is newer.
    await client.updateSshPublicKeys(A, [{id: key.keyId}])
    expect(registered(key.publicKey)).toBe(false)
    const after = (await client.getEnvironment(A)).environment
    expect(after.statusVersion).toBeGreaterThan(before.statusVersion)
    expect(await ensureKeyRegistered(client, after, key)).toMatchObject({status: 'registered'})
    expect(updates()).toBe(3)
    expect(registered(key.publicKey)).toBe(true)
  })

  it('a long-running watcher registers the key again after it was removed and the environment restarted', async () => {
    const abort = new AbortController()
    const done = watchSshConfig(ctx, {client, signal: abort.signal, fileDebounceMs: 50, backoff: {baseMs: 50, maxMs: 200}})
    done.catch(() => undefined)
    try {
      const publicKey = () => readFile(path.join(home, '.config', 'ona', 'ssh', 'id_ed25519.pub'), 'utf8').then((t) => t.trim(), () => '')
      await waitFor(async () => registered(await publicKey()), 5000, 'the first registration')
      await waitFor(async () => sim.openStreams() > 0, 5000, 'the event stream')
      const keyId = (await readFile(path.join(home, '.config', 'ona', 'ssh', 'key-id'), 'utf8')).trim()
      const key = await publicKey()
      const before = updates()
      await client.updateSshPublicKeys(A, [{id: keyId}])
      sim.stopEnvironment(A)
      sim.startEnvironment(A)
      // The watcher may already be putting it back (it hears the removal at once): that it did so is told by
      // its own UpdateEnvironment after ours, not by catching the moment the key was gone.
      await waitFor(async () => registered(key), 5000, 'the key to be registered again')
      expect(updates()).toBeGreaterThanOrEqual(before + 2)
    } finally {
      abort.abort()
      await done.catch(() => undefined)
    }
  })
})
