/**
 * Issue 17, one truth for the block, with the built CLI against the simulator and real files: a stale
 * listing never reverts what a fresher writer wrote, nor removes an entry written after it was asked
 * for; "could not read" is never "deleted"; nulls read as defaults; an environment repeated across
 * ListEnvironments pages is one environment for sync, `ona environment list` and `ona ssh <name>`; the
 * ProxyCommand's entry update touches its own entry only.
 */
import {readFile, stat, writeFile} from 'node:fs/promises'
import path from 'node:path'

import {afterEach, describe, expect, it} from 'vitest'

import type {Simulator, SimulatorOptions} from '../../src/lib/simulator/server.js'
import {BEGIN_MARKER, END_MARKER, readBlockEnvironments} from '../../src/lib/ssh-config/index.js'
import {originOf} from '../../src/lib/sync/sync.js'
import {updateEntryAddress} from '../../src/lib/sync/entry-address.js'
import {createFixture, type Fixture} from '../helpers/fixture.js'
import {runCli} from '../helpers/run-cli.js'
import {sshG} from '../helpers/ssh.js'
import {waitFor} from '../helpers/wait-for.js'

const A = '0199ec15-59d3-7e92-8e22-8cb6c7ba4df7'
const B = '0199ec15-8a41-7c10-9d3b-2f6e1b7a9c02'
const NEW = '0199ec15-f00d-7000-8000-00000000c0de'
const USER_PART = '# mine\nHost github.com\n  User git\n'

let config: string
let env: NodeJS.ProcessEnv
let fixture: Fixture | undefined

/** The test's scratch HOME and simulator (the demo set, with these options). */
async function start(options: SimulatorOptions = {}): Promise<Simulator> {
  fixture = await createFixture({prefix: 'fresh', configText: USER_PART, simulator: {seed: path.resolve('fixtures/environments.json'), ...options}})
  ;({config, env} = fixture)
  return fixture.sim
}
afterEach(async () => {
  await fixture?.close()
  fixture = undefined
})

const cli = (...args: string[]) => runCli(args, {env})
const text = () => readFile(config, 'utf8')
const inBlock = async () => Object.fromEntries(readBlockEnvironments(await text()).map((e) => [e.id, {host: e.host, version: e.statusVersion}]))

describe('freshness: every writer replaces an entry only with newer information', () => {
  it('each entry carries its statusVersion and name; a block without them (an earlier ona) is taken over', async () => {
    const s = await start()
    const old = [BEGIN_MARKER, `Host ${A}.gitpod.environment ${A}.gitpod.remote`, '  HostName 127.0.0.11', '  User gitpod_devcontainer', '  Port 2222', `  HostKeyAlias ${A}.gitpod.environment`, END_MARKER, ''].join('\n')
    await writeFile(config, old + USER_PART)
    const result = await cli('ssh-sync')
    expect(result.code).toBe(0)
    const now = await text()
    expect(now).toContain(`# ona env statusVersion 42: api-backend\nHost ${A}.gitpod.environment`)
    expect(now).toContain('# ona env statusVersion 7: web-frontend\n')
    expect(now.endsWith(USER_PART)).toBe(true)
    // ssh reads the freshness line as the comment it is.
    expect((await sshG(config, `${A}.gitpod.environment`)).get('hostname')).toBe('127.0.0.11')
    // Nothing moved at the API but a key turning READY (a statusVersion bump): the file is current.
    await waitFor(async () => s.environmentJson(A)?.status !== undefined && JSON.stringify(s.environmentJson(A)).includes('CONTENT_PHASE_READY'), 5000, 'the key to be READY')
    expect((await cli('ssh-sync', '--check')).code).toBe(0)
  })

  it('regression: a listing that was on its way while another ona wrote a newer address does not revert it', async () => {
    const s = await start()
    expect((await cli('ssh-sync')).code).toBe(0)
    // The first listing is answered from the state as it is now (A at 127.0.0.11) but arrives 4 s later.
    s.injectFault({type: 'late', delayMs: 4000}, {rpc: 'ListEnvironments'})
    const slow = cli('ssh-sync')
    await waitFor(async () => s.requests.some((r) => r.fault === 'late'), 5000, 'the slow listing to be answered')
    s.setSshAddress(A, {host: '127.0.0.77', port: 2222})
    const fresh = await cli('ssh-sync')
    expect(fresh.stdout).toContain('-> gitpod_devcontainer@127.0.0.77:2222')
    const written = (await inBlock())[A]
    expect(written?.host).toBe('127.0.0.77')
    const late = await slow
    expect(late.code).toBe(0)
    expect(late.stdout).not.toContain('127.0.0.11')
    expect((await inBlock())[A]).toEqual(written)
  }, 20_000)

  it('regression: a listing asked for before another ona added an environment does not remove its alias', async () => {
    const s = await start()
    expect((await cli('ssh-sync')).code).toBe(0)
    s.injectFault({type: 'late', delayMs: 4000}, {rpc: 'ListEnvironments'})
    const slow = cli('ssh-sync')
    await waitFor(async () => s.requests.some((r) => r.fault === 'late'), 5000, 'the slow listing to be answered')
    s.addEnvironment({id: NEW, name: 'brand-new', statusVersion: 3, ssh: {host: '127.0.0.55', port: 22}})
    expect((await cli('ssh-sync')).stdout).toContain(`added    ${NEW}.gitpod.environment`)
    const late = await slow
    expect(late.code).toBe(0)
    expect(late.stdout).not.toContain('removed')
    expect((await inBlock())[NEW]?.host).toBe('127.0.0.55')
    // The next listing has it: nothing changes.
    expect((await cli('ssh-sync', '--check')).code).toBe(0)
  }, 20_000)
})

describe('"could not read" is never "deleted"', () => {
  it('regression: metadata.name null (protobuf JSON allows null for any field) is read as no name, not as a gone environment', async () => {
    const s = await start()
    expect((await cli('ssh-sync')).code).toBe(0)
    s.injectFault({type: 'fields', set: {'metadata.name': null, 'metadata.organizationId': null, 'spec.sshPublicKeys': null}, ids: [A]}, {rpc: 'ListEnvironments', times: Number.POSITIVE_INFINITY})
    s.setSshAddress(A, {host: '127.0.0.78', port: 2222})
    const result = await cli('ssh-sync')
    expect(result.code).toBe(0)
    expect(result.stdout).toContain(`updated  ${A}.gitpod.environment  gitpod_devcontainer@127.0.0.11:2222 -> gitpod_devcontainer@127.0.0.78:2222`)
    expect(result.stdout).not.toContain('removed')
    expect((await inBlock())[A]?.host).toBe('127.0.0.78')
  })

  it('regression: an environment whose record fails validation keeps its entry as it was, with a warning naming it and the field', async () => {
    const s = await start()
    expect((await cli('ssh-sync')).code).toBe(0)
    const before = (await inBlock())[A]
    s.injectFault({type: 'fields', set: {'status.phase': 42}, ids: [A]}, {rpc: 'ListEnvironments', times: Number.POSITIVE_INFINITY})
    // The rest of the listing is read and applied as usual.
    s.setSshAddress(B, {host: '127.0.0.79', port: 2222})
    const result = await cli('ssh-sync')
    expect(result.code).toBe(0)
    expect(result.stdout).not.toContain('removed')
    expect(result.stdout).toContain(`${B}.gitpod.environment  gitpod_devcontainer@127.0.0.12:2222 -> gitpod_devcontainer@127.0.0.79:2222`)
    expect(result.stderr).toMatch(new RegExp(`warning: environment ${A}: .*status\\.phase.*its entry is kept as it was`))
    expect((await inBlock())[A]).toEqual(before)
    // Stopped for real (a readable record): only then is the alias gone.
    s.clearFaults()
    s.stopEnvironment(A)
    expect((await cli('ssh-sync')).stdout).toContain(`removed  ${A}.gitpod.environment`)
  })
})

describe('an environment on two ListEnvironments pages is one environment', () => {
  it('regression: sync writes it once without "skipped", env list shows it once, `ona ssh <name>` is not ambiguous with itself', async () => {
    const s = await start({pageSizeMax: 2})
    s.injectFault({type: 'duplicate-pages', stale: true}, {rpc: 'ListEnvironments', times: Number.POSITIVE_INFINITY})
    // B is the last of page 1 and comes again, as it was before this change, on page 2.
    s.setSshAddress(B, {host: '127.0.0.80', port: 2222})
    const synced = await cli('ssh-sync')
    expect(synced.code).toBe(0)
    expect(synced.stderr).not.toContain('skipped')
    expect(synced.stdout).toContain(`added    ${B}.gitpod.environment  gitpod_devcontainer@127.0.0.80:2222`)
    expect((await inBlock())[B]).toEqual({host: '127.0.0.80', version: 8n})
    expect(s.requests.filter((r) => r.rpc === 'ListEnvironments').length).toBeGreaterThanOrEqual(3)

    const listed = await cli('environment', 'list', '--json')
    expect(listed.code).toBe(0)
    const rows = JSON.parse(listed.stdout) as Array<{id: string; address: string | null}>
    expect(rows.map((r) => r.id).sort()).toEqual([...new Set(rows.map((r) => r.id))].sort())
    expect(rows.find((r) => r.id === B)?.address).toBe('gitpod_devcontainer@127.0.0.80:2222')

    // `ssh -G` as the ssh `ona ssh` runs: it resolves the alias and exits 0.
    const connected = await cli('ssh', 'web-frontend', '--skip-preflight', '--', '-G')
    expect(connected.stderr).not.toContain('matches 2 environments')
    expect(connected.code).toBe(0)
    expect(connected.stdout).toContain('hostname 127.0.0.80')
  }, 30_000)
})

describe('the ProxyCommand\'s entry update (updateEntryAddress) decides by freshness too', () => {
  it('writes a newer address into its own entry only; an older or equal one changes nothing', async () => {
    const s = await start()
    expect((await cli('ssh-sync', '--resolve-on-connect')).code).toBe(0)
    const before = await text()
    const origin = originOf(s.url)
    const address = (host: string, port = 2222) => ({user: 'gitpod_devcontainer', host, port})
    const stale = await updateEntryAddress(config, {environmentId: A, origin, address: address('127.0.0.99'), statusVersion: 42n})
    expect(stale).toEqual({status: 'skipped', reason: expect.stringContaining('newer information')})
    expect(await text()).toBe(before)
    const {mtimeMs} = await stat(config)
    expect(await updateEntryAddress(config, {environmentId: A, origin, address: address('127.0.0.99'), statusVersion: 50n, name: 'api-backend'})).toEqual({status: 'updated', changed: true})
    const after = await text()
    expect((await stat(config)).mtimeMs).not.toBe(mtimeMs)
    const changed = after.split('\n').filter((line, i) => line !== before.split('\n')[i])
    expect(changed).toEqual(['# ona env statusVersion 50: api-backend', '  HostName 127.0.0.99'])
    // Every ProxyCommand is still there, and ssh reads the new address.
    expect(after.match(/ProxyCommand /g)?.length).toBe(before.match(/ProxyCommand /g)?.length)
    expect((await sshG(config, `${A}.gitpod.environment`)).get('hostname')).toBe('127.0.0.99')
    // A sync whose listing is older than what the entry records leaves it alone: the file is current.
    expect((await cli('ssh-sync', '--check')).code).toBe(0)
    expect((await cli('ssh-sync')).stdout).not.toContain('127.0.0.11')
    expect((await inBlock())[A]?.host).toBe('127.0.0.99')
  })
})
