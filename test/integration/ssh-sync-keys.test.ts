/**
 * `ona ssh-sync` and the machine's SSH key, against the simulator: created once (0600), registered once
 * on each running environment under ona's own key id, never touching keys other tools added, a refusal
 * for lack of permission a warning, and every entry naming the key with IdentitiesOnly.
 */
import {execFileSync} from 'node:child_process'
import {mkdir, readFile, stat} from 'node:fs/promises'
import path from 'node:path'

import {beforeEach, describe, expect, it} from 'vitest'

import type {Simulator} from '../../src/lib/simulator/server.js'
import {useFixture} from '../helpers/fixture.js'
import {runCli} from '../helpers/run-cli.js'
import {sshG} from '../helpers/ssh.js'

const A = '0199ec15-59d3-7e92-8e22-8cb6c7ba4df7'
const B = '0199ec15-8a41-7c10-9d3b-2f6e1b7a9c02'
const STOPPED = '0199ec15-c3d8-7a66-b2f1-6e0d4f9a5b24'
const VENDOR_KEY = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIE8l2s1c3vBlH0tyL7nfl2r0vTw8m1lq2H0M6Lq1Jw0k vendor-cli'

const fixture = useFixture({
  prefix: 'keys',
  configText: 'Host github.com\n  User git\n',
  simulator: {
    seed: [
      {id: A, name: 'api', ssh: {host: '127.0.0.11', port: 2222}, sshPublicKeys: [{id: 'vendor-cli-key', value: VENDOR_KEY}]},
      {id: B, name: 'web', ssh: {host: '127.0.0.12', port: 2222}},
      {id: STOPPED, name: 'old', phase: 'ENVIRONMENT_PHASE_STOPPED'},
    ],
    delays: {keyReadyMs: 50},
  },
})
let home: string
let config: string
let sim: Simulator
let env: NodeJS.ProcessEnv
beforeEach(() => ({home, config, sim, env} = fixture))

const sync = (...args: string[]) => runCli(['ssh-sync', ...args], {env})
const ownKey = () => path.join(home, '.config', 'ona', 'ssh', 'id_ed25519')
const updates = () => sim.requests.filter((r) => r.rpc === 'UpdateEnvironment')

describe('the machine key in ona ssh-sync', () => {
  it('creates one key (0600), registers it once on each running environment, and names it in every entry', async () => {
    const first = await sync()
    expect(first.code).toBe(0)
    expect(first.stderr).toBe('')
    expect((await stat(ownKey())).mode & 0o777).toBe(0o600)
    const publicKey = (await readFile(`${ownKey()}.pub`, 'utf8')).trim()
    const keyId = (await readFile(path.join(home, '.config', 'ona', 'ssh', 'key-id'), 'utf8')).trim()
    expect(keyId).toMatch(/^[0-9a-f-]{36}$/)
    expect(updates().map((r) => r.body).sort((x, y) => JSON.stringify(x).localeCompare(JSON.stringify(y)))).toEqual(
      [A, B].map((id) => ({environmentId: id, spec: {sshPublicKeys: [{id: keyId, value: publicKey}]}})),
    )
    // The vendor CLI's key is still there, beside ona's.
    const a = sim.environmentJson(A) as {spec: {sshPublicKeys: Array<{id: string}>}}
    expect(a.spec.sshPublicKeys.map((k) => k.id)).toEqual(['vendor-cli-key', keyId])

    const resolved = await sshG(config, `${A}.gitpod.environment`)
    expect(resolved.all('identityfile')).toEqual([ownKey()])
    expect(resolved.get('identitiesonly')).toBe('yes')

    const second = await sync()
    expect(second.code).toBe(0)
    expect(second.stdout).not.toContain('registered')
    expect(updates()).toHaveLength(2)
    expect(await readFile(`${ownKey()}.pub`, 'utf8')).toContain(publicKey)
  })

  it('does not register a key an environment already holds under another tool\'s id', async () => {
    await sync()
    const publicKey = (await readFile(`${ownKey()}.pub`, 'utf8')).trim()
    sim.addEnvironment({id: '0199ec15-0000-7000-8000-0000000000aa', ssh: {host: '127.0.0.13'}, sshPublicKeys: [{id: 'added-by-hand', value: publicKey.replace(/ \S+$/, ' other-comment')}]})
    await sync()
    expect(updates().map((r) => (r.body as {environmentId: string}).environmentId)).not.toContain('0199ec15-0000-7000-8000-0000000000aa')
  })

  it('turns permission_denied into a warning naming the environment, and still writes the aliases', async () => {
    sim.injectFault({type: 'http', status: 403, code: 'permission_denied', message: 'cannot push key to environment'}, {rpc: 'UpdateEnvironment', times: Infinity})
    const result = await sync()
    expect(result.code).toBe(0)
    expect(result.stderr).toMatch(new RegExp(`warning: could not register ona's SSH key on environment ${A} \\(api\\): permission denied; .*personal access token`))
    expect(result.stderr).toContain(`environment ${B} (web)`)
    expect(await readFile(config, 'utf8')).toContain(`Host ${A}.gitpod.environment`)
  })

  it('--identity-file uses an existing key, registers its .pub, and keeps using it on later syncs', async () => {
    const mine = path.join(home, 'keys', 'work key')
    await mkdir(path.dirname(mine), {recursive: true})
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', 'secret phrase', '-C', 'me@work', '-f', mine])
    const first = await sync('--identity-file', mine)
    expect(first.code).toBe(0)
    const publicKey = (await readFile(`${mine}.pub`, 'utf8')).trim()
    expect(updates().map((r) => (r.body as {spec: {sshPublicKeys: Array<{value: string}>}}).spec.sshPublicKeys[0]!.value)).toEqual([publicKey, publicKey])
    await expect(stat(ownKey())).rejects.toThrow()
    expect(await readFile(config, 'utf8')).toContain(`  IdentityFile "${mine}"\n  IdentitiesOnly yes\n`)
    expect(JSON.parse(await readFile(path.join(home, '.config', 'ona', 'settings.json'), 'utf8'))).toMatchObject({identityFile: mine})

    sim.addEnvironment({id: '0199ec15-0000-7000-8000-0000000000bb', ssh: {host: '127.0.0.14'}})
    const later = await sync()
    expect(later.code).toBe(0)
    expect(updates().at(-1)!.body).toMatchObject({environmentId: '0199ec15-0000-7000-8000-0000000000bb', spec: {sshPublicKeys: [{value: publicKey}]}})
  })

  it('refuses an --identity-file that does not exist, writing nothing', async () => {
    const result = await sync('--identity-file', path.join(home, 'nope'))
    expect(result.code).toBe(1)
    expect(result.stderr).toContain(`the SSH key ${path.join(home, 'nope')} does not exist`)
    expect(await readFile(config, 'utf8')).toBe('Host github.com\n  User git\n')
    expect(updates()).toHaveLength(0)
  })

  it('--dry-run creates no key and registers nothing', async () => {
    const result = await sync('--dry-run')
    expect(result.code).toBe(0)
    expect(result.stdout).toContain(`+  IdentityFile ${ownKey()}`)
    await expect(stat(ownKey())).rejects.toThrow()
    expect(updates()).toHaveLength(0)
  })

  it('without ssh-keygen on PATH, writes the key with Node in a format OpenSSH reads', async () => {
    const emptyBin = path.join(home, 'empty-bin')
    await mkdir(emptyBin)
    const result = await runCli(['ssh-sync'], {env: {...env, PATH: emptyBin}})
    expect(result.code).toBe(0)
    expect((await stat(ownKey())).mode & 0o777).toBe(0o600)
    const derived = execFileSync('ssh-keygen', ['-y', '-f', ownKey()], {encoding: 'utf8'}).trim()
    expect((await readFile(`${ownKey()}.pub`, 'utf8')).startsWith(derived)).toBe(true)
  })
})
