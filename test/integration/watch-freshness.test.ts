/**
 * Issue 17, the watcher among the other writers: a watcher whose view is behind (its event stream silent)
 * never reverts what another `ona` wrote after a foreign change or a resync request; it asks the API
 * again. "Could not read" is never "deleted" for it either. The simulator, a real file, the built CLI as
 * the other writer, and the library's watchSshConfig.
 */
import {readFile} from 'node:fs/promises'

import {beforeEach, describe, expect, it} from 'vitest'

import type {ApiClient} from '../../src/lib/api/client.js'
import type {Context} from '../../src/lib/context.js'
import type {Simulator} from '../../src/lib/simulator/server.js'
import {readBlockEnvironments} from '../../src/lib/ssh-config/index.js'
import type {WatchOptions} from '../../src/lib/watch/watch.js'
import {useFixture} from '../helpers/fixture.js'
import {runCli} from '../helpers/run-cli.js'
import {waitFor} from '../helpers/wait-for.js'
import {startLibraryWatch} from '../helpers/watch.js'

const A = '0199ec15-59d3-7e92-8e22-8cb6c7ba4df7'
const B = '0199ec15-8a41-7c10-9d3b-2f6e1b7a9c02'
const NEW = '0199ec15-f00d-7000-8000-00000000c0de'

const fixture = useFixture({prefix: 'watch-fresh', configText: '# mine\n'})
let config: string
let sim: Simulator
let env: NodeJS.ProcessEnv
let ctx: Context
let client: ApiClient
/** What the watcher printed. */
const output = () => fixture.output()
beforeEach(async () => {
  ;({config, sim, env, ctx} = fixture)
  client = await fixture.client()
})

const startWatch = (options: Partial<WatchOptions> = {}) => startLibraryWatch(ctx, {client, fileDebounceMs: 100, backoff: {baseMs: 50, maxMs: 200}, ...options})

const hostOf = async (id: string) => readBlockEnvironments(await readFile(config, 'latin1')).find((e) => e.id === id)?.host
/** Watches the file for `ms`: every host `id` had meanwhile, in order (a revert shows as a second value). */
async function hostsFor(id: string, ms: number): Promise<Array<string | undefined>> {
  const seen: Array<string | undefined> = []
  for (const end = Date.now() + ms; Date.now() < end; ) {
    const host = await hostOf(id).catch(() => 'unreadable')
    if (seen.at(-1) !== host) seen.push(host)
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
  return seen
}
/**
 * A watcher that has written its first block and listed on its stream's opening; `behind`: its stream
 * is connected but says nothing, so it hears of no change from here on.
 */
async function startReadyWatch(options: Partial<WatchOptions> = {}, {behind = false} = {}) {
  if (behind) sim.injectFault({type: 'stall'}, {rpc: 'WatchEvents', times: Number.POSITIVE_INFINITY})
  const stop = startWatch(options)
  try {
    await waitFor(async () => (await hostOf(A)) === '127.0.0.11', 5000, 'the first sync')
    await waitFor(async () => sim.openStreams() > 0 && sim.rpcCount('ListEnvironments') >= 2, 5000, 'the listing on stream open')
    await new Promise((resolve) => setTimeout(resolve, 300))
  } catch (error) {
    await stop()
    throw new Error(`${(error as Error).message}\n--- watcher output():\n${output()}--- ${config}:\n${await readFile(config, 'utf8').catch(() => '(none)')}`, {cause: error})
  }
  return stop
}

describe('a watcher whose view is behind, and the other writers', () => {
  it('regression: it never reverts the fresher address `ona ssh-sync` just wrote (resync request and file change)', async () => {
    const stop = await startReadyWatch({}, {behind: true})
    try {
      sim.setSshAddress(A, {host: '127.0.0.77', port: 2222})
      const synced = await runCli(['ssh-sync'], {env})
      expect(synced.code).toBe(0)
      expect(synced.stdout).toContain('-> gitpod_devcontainer@127.0.0.77:2222')
      expect(synced.stdout).toContain('follows')
      // The watcher is told to resync and sees the file change: it lists again and keeps the new address.
      expect(await hostsFor(A, 2500)).toEqual(['127.0.0.77'])
      expect(output()).not.toContain('-> gitpod_devcontainer@127.0.0.11:2222')
    } finally {
      await stop()
    }
  }, 20_000)

  it('regression: it never removes the alias another ona added for an environment it has not heard of', async () => {
    const stop = await startReadyWatch({}, {behind: true})
    try {
      sim.addEnvironment({id: NEW, name: 'brand-new', statusVersion: 3, ssh: {host: '127.0.0.55', port: 22}})
      const synced = await runCli(['ssh-sync'], {env})
      expect(synced.stdout, output()).toContain(`added    ${NEW}.gitpod.environment`)
      expect(await hostsFor(NEW, 2500)).toEqual(['127.0.0.55'])
    } finally {
      await stop()
    }
  }, 20_000)

  it('regression: an environment whose record fails validation keeps its entry in the watcher too', async () => {
    const stop = await startReadyWatch({intervalMs: 300, tickMs: 50})
    try {
      sim.injectFault({type: 'fields', set: {'status.phase': 42}, ids: [A]}, {times: Number.POSITIVE_INFINITY})
      // Periodic listings (every 300 ms here) and an event of another environment, which is written.
      sim.setSshAddress(B, {host: '127.0.0.79', port: 2222})
      await waitFor(async () => (await hostOf(B)) === '127.0.0.79', 3000, 'B written')
      expect(await hostsFor(A, 1500)).toEqual(['127.0.0.11'])
      expect(output()).toMatch(new RegExp(`warning: environment ${A}: .*status\\.phase`))
      expect(output()).not.toContain(`removed  ${A}`)
    } finally {
      await stop()
    }
  }, 20_000)
})
