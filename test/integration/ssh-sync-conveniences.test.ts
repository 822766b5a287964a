/**
 * `ona ssh-sync --friendly-aliases` and `--ssh-option` as a user runs them (issue 19): the built CLI against
 * the simulator on 127.0.0.1, a scratch HOME, and the real `ssh -G` reading what was written.
 */
import {mkdir, readFile, writeFile} from 'node:fs/promises'
import path from 'node:path'

import {describe, expect, it} from 'vitest'

import {saveEntryPreferences, settingsPath} from '../../src/lib/settings.js'
import {watchSshConfig} from '../../src/lib/watch/watch.js'
import {useFixture} from '../helpers/fixture.js'
import {builtCli, runCli} from '../helpers/run-cli.js'
import {sshG} from '../helpers/ssh.js'
import {waitFor} from '../helpers/wait-for.js'

const A = '0199ec15-59d3-7e92-8e22-8cb6c7ba4df7'
const B = '0199ec15-8a41-7c10-9d3b-2f6e1b7a9c02'
const STOPPED = '0199ec15-c3d8-7a66-b2f1-6e0d4f9a5b24'
const TWIN = '0199ec15-f00d-7d99-a5c4-9b3a7c2d8e57'

// A global line above the block: ssh uses it before anything in ona's entries.
const fixture = useFixture({prefix: 'conveniences', configText: 'ServerAliveCountMax 9\n\nHost github.com\n  User git\n'})

const sync = (...args: string[]) => runCli(['ssh-sync', ...args], {env: fixture.env, timeoutMs: 60_000})
const config = () => readFile(fixture.config, 'utf8')
const settings = async () => JSON.parse(await readFile(path.join(fixture.env.XDG_CONFIG_HOME ?? path.join(fixture.home, '.config'), 'ona', 'settings.json'), 'utf8').catch(() => '{}')) as {origins?: Record<string, {friendlyAliases?: boolean; sshOptions?: string[]}>}
const origin = () => new URL(fixture.sim.url).origin
const hostLine = (text: string, id: string) => text.split('\n').find((l) => l.startsWith(`Host ${id}.gitpod.environment`))

describe.skipIf(!builtCli)('ona ssh-sync --friendly-aliases', () => {
  it('names each entry <name>.ona, saved for the API, and ssh -G resolves the name to its environment', async () => {
    const first = await sync('--friendly-aliases')
    expect(first.stderr).toBe('')
    expect(first.code).toBe(0)
    expect(hostLine(await config(), A)).toBe(`Host ${A}.gitpod.environment ${A}.gitpod.remote api-backend.ona`)
    expect(hostLine(await config(), B)).toBe(`Host ${B}.gitpod.environment ${B}.gitpod.remote web-frontend.ona`)
    expect(first.stdout).toContain(`alias    api-backend.ona -> ${A}.gitpod.environment`)
    expect((await settings()).origins?.[origin()]?.friendlyAliases).toBe(true)
    const g = await sshG(fixture.config, 'api-backend.ona')
    expect(g.get('hostname')).toBe('127.0.0.11')
    expect(g.get('hostkeyalias')).toBe(`${A}.gitpod.environment`)
    // Saved: a plain sync (watch mode, the service) keeps them, and has nothing to change.
    const again = await sync()
    expect(again.stdout).toContain('is up to date')
    expect(hostLine(await config(), A)).toContain('api-backend.ona')
  })

  it('writes no alias two environments would share (a stopped one counts), one grouped warning, each collision in --json', async () => {
    fixture.sim.addEnvironment({id: TWIN, name: 'API Backend', phase: 'ENVIRONMENT_PHASE_RUNNING', statusVersion: 1, ssh: {user: 'gitpod_devcontainer', host: '127.0.0.15', port: 22}})
    fixture.sim.renameEnvironment(STOPPED, 'Web Frontend!')
    const human = await sync('--friendly-aliases')
    expect(human.code).toBe(0)
    const text = await config()
    expect(hostLine(text, A)).toBe(`Host ${A}.gitpod.environment ${A}.gitpod.remote`)
    expect(hostLine(text, TWIN)).toBe(`Host ${TWIN}.gitpod.environment ${TWIN}.gitpod.remote`)
    expect(hostLine(text, B)).toBe(`Host ${B}.gitpod.environment ${B}.gitpod.remote`)
    expect(hostLine(text, '0199ec15-b2c7-7f55-a1e0-5d9c3e8f4a13')).toContain(' docs-site.ona')
    const warned = human.stderr.split('\n').filter((l) => l.includes('friendly alias'))
    expect(warned).toHaveLength(1)
    expect(warned[0]).toContain('api-backend.ona (2 environments')
    expect(warned[0]).toContain('web-frontend.ona (2 environments')
    const json = JSON.parse((await sync('--json')).stdout) as {warnings: Array<{code: string; collisions?: Array<{alias: string; environments: string[]}>}>}
    const warning = json.warnings.find((w) => w.code === 'W_FRIENDLY_ALIAS')
    expect(warning?.collisions).toEqual([
      {alias: 'api-backend.ona', environments: [A, TWIN].sort()},
      {alias: 'web-frontend.ona', environments: [B, STOPPED].sort()},
    ])
  })

  it("writes no alias the user's own Host line names (below the block, in an Included file; a wildcard is no name): ssh -G still goes to the user's host, the warning names the line", async () => {
    // One in the managed file below where the block goes, one in a file it Includes (the tree ssh reads).
    const mine = path.join(path.dirname(fixture.config), 'mine.conf')
    await writeFile(mine, '# mine\nHost web-frontend.ona\n  HostName 10.2.2.2\n')
    await writeFile(fixture.config, `${await config()}\nHost api-backend.ona\n  HostName 10.1.2.3\n  User me\n\nHost *.ona\n  ForwardAgent no\n\nInclude ${mine}\n`)
    const result = await sync('--friendly-aliases')
    expect(result.code).toBe(0)
    // ssh reads the block first: an alias there would send the user's name to the environment.
    const g = await sshG(fixture.config, 'api-backend.ona')
    expect(g.get('hostname')).toBe('10.1.2.3')
    expect(g.get('user')).toBe('me')
    const text = await config()
    // The block is written above the user's entry: an alias there would be what ssh reads first.
    expect(text.indexOf(`Host ${A}.gitpod.environment`)).toBeLessThan(text.indexOf('Host api-backend.ona'))
    expect(hostLine(text, A)).toBe(`Host ${A}.gitpod.environment ${A}.gitpod.remote`)
    expect(hostLine(text, B)).toBe(`Host ${B}.gitpod.environment ${B}.gitpod.remote`)
    expect((await sshG(fixture.config, 'web-frontend.ona')).get('hostname')).toBe('10.2.2.2')
    // A wildcard names no host: docs-site.ona is written.
    expect(hostLine(text, '0199ec15-b2c7-7f55-a1e0-5d9c3e8f4a13')).toContain(' docs-site.ona')
    const line = text.split('\n').indexOf('Host api-backend.ona') + 1
    const warned = result.stderr.split('\n').filter((l) => l.includes('friendly alias'))
    expect(warned).toHaveLength(1)
    expect(warned[0]).toContain(`api-backend.ona (your own \`Host api-backend.ona\` at ${fixture.config}:${line} names it)`)
    expect(warned[0]).toContain(`web-frontend.ona (your own \`Host web-frontend.ona\` at ${mine}:2 names it)`)
    const json = JSON.parse((await sync('--json')).stdout) as {warnings: Array<{code: string; collisions?: unknown[]}>}
    expect(json.warnings.find((w) => w.code === 'W_FRIENDLY_ALIAS')?.collisions).toEqual([
      {alias: 'api-backend.ona', environments: [A], userHost: {file: fixture.config, line, text: 'Host api-backend.ona'}},
      {alias: 'web-frontend.ona', environments: [B], userHost: {file: mine, line: 2, text: 'Host web-frontend.ona'}},
    ])
  })

  it('a rename moves the alias; --no-friendly-aliases takes them all out', async () => {
    await sync('--friendly-aliases')
    fixture.sim.renameEnvironment(A, 'Payments Ünïcode')
    const renamed = await sync()
    expect(renamed.stdout).toContain(`alias    payments-unicode.ona -> ${A}.gitpod.environment (was api-backend.ona)`)
    const text = await config()
    expect(hostLine(text, A)).toBe(`Host ${A}.gitpod.environment ${A}.gitpod.remote payments-unicode.ona`)
    expect(text).not.toContain('api-backend.ona')
    const off = await sync('--no-friendly-aliases')
    expect(off.code).toBe(0)
    expect(await config()).not.toMatch(/\.ona\b/)
    expect((await settings()).origins?.[origin()]?.friendlyAliases).toBe(false)
  })

  it('with resolve-on-connect the friendly alias connects through the ProxyCommand of its own environment', async () => {
    await sync('--friendly-aliases', '--resolve-on-connect')
    const g = await sshG(fixture.config, 'web-frontend.ona')
    expect(g.get('proxycommand')).toContain(` ssh-proxy ${B} `)
    expect(g.get('hostkeyalias')).toBe(`${B}.gitpod.environment`)
  })
})

describe.skipIf(!builtCli)('ona ssh-sync --ssh-option', () => {
  it('writes the options into every entry, saved for the API; ssh -G shows them in effect, and names the line that wins', async () => {
    const result = await sync('--friendly-aliases', '--ssh-option', 'ForwardAgent=yes', '--ssh-option', 'ServerAliveInterval=30', '--ssh-option', 'LocalForward=8080 localhost:80', '--ssh-option', 'SetEnv=FOO=bar', '--ssh-option', 'SetEnv=BAZ=1', '--ssh-option', 'ServerAliveCountMax=5', '--json')
    expect(result.code).toBe(0)
    const text = await config()
    const entry = text.slice(text.indexOf(`Host ${A}.gitpod.environment`)).split('\n\n')[0]!
    expect(entry).toContain('\n  ForwardAgent yes\n  ServerAliveInterval 30\n  LocalForward 8080 localhost:80\n  SetEnv FOO=bar BAZ=1\n  ServerAliveCountMax 5')
    expect((await settings()).origins?.[origin()]?.sshOptions).toEqual(['ForwardAgent yes', 'ServerAliveInterval 30', 'LocalForward 8080 localhost:80', 'SetEnv FOO=bar', 'SetEnv BAZ=1', 'ServerAliveCountMax 5'])
    for (const alias of [`${A}.gitpod.environment`, `${A}.gitpod.remote`, 'api-backend.ona']) {
      const g = await sshG(fixture.config, alias)
      expect(g.get('forwardagent')).toBe('yes')
      expect(g.get('serveraliveinterval')).toBe('30')
      expect(g.all('localforward')).toEqual(['8080 [localhost]:80'])
      expect(g.all('setenv')).toEqual(['FOO=bar', 'BAZ=1'])
    }
    // The global ServerAliveCountMax 9 above the block wins: the real ssh -G says so, with the line.
    const report = JSON.parse(result.stdout) as {warnings: Array<{code: string; option?: string; actual?: string; expected?: string; line?: number; aliases?: string[]}>}
    const differs = report.warnings.filter((w) => w.code === 'W_SSH_DIFFERS')
    expect(differs).toHaveLength(1)
    expect(differs[0]).toMatchObject({option: 'ServerAliveCountMax', actual: '9', expected: '5', line: 1})
    expect(differs[0]!.aliases).toContain('api-backend.ona')
    // Saved: a plain sync writes them again after an IP change.
    fixture.sim.setSshAddress(A, {host: '127.0.0.77', port: 2222})
    await sync()
    expect((await sshG(fixture.config, `${A}.gitpod.environment`)).get('forwardagent')).toBe('yes')
  })

  it('--dry-run and --check show the options without saving them; KEY= and --clear-ssh-options remove them', async () => {
    await sync()
    const before = await config()
    const dry = await sync('--dry-run', '--ssh-option', 'Compression=yes')
    expect(dry.code).toBe(0)
    expect(dry.stdout).toContain('+  Compression yes')
    const check = await sync('--check', '--ssh-option', 'Compression=yes')
    expect(check.code).toBe(1)
    expect(await config()).toBe(before)
    expect((await settings()).origins?.[origin()]?.sshOptions).toBeUndefined()
    await sync('--ssh-option', 'Compression=yes', '--ssh-option', 'SendEnv=LANG LC_*')
    expect(await config()).toContain('  Compression yes\n  SendEnv LANG LC_*\n')
    await sync('--ssh-option', 'Compression=')
    expect(await config()).not.toContain('Compression')
    expect(await config()).toContain('SendEnv')
    await sync('--clear-ssh-options')
    expect(await config()).toBe(before)
    expect((await settings()).origins?.[origin()]?.sshOptions).toBeUndefined()
  })

  it('refuses keywords that would break what ona promises, unknown ones and values that could inject config; nothing saved or written', async () => {
    await sync()
    const before = await config()
    const cases: Array<[string, RegExp]> = [
      ['ProxyCommand=nc %h %p', /ProxyCommand is refused/],
      ['StrictHostKeyChecking=no', /StrictHostKeyChecking is refused/],
      ['HostName=evil.example', /HostName is refused/],
      ['Include=/tmp/x', /Include is refused/],
      ['Frobnicate=yes', /Frobnicate is not an option ona writes/],
      ['ForwardAgent=yes\nHost *', /control character/],
      ['ServerAliveInterval=soon', /whole number/],
      ['LocalForward=8080', /LocalForward takes/],
      ['SetEnv=A="b c"', /quote/],
    ]
    for (const [option, message] of cases) {
      const result = await sync('--ssh-option', option)
      expect(result.code, option).toBe(2)
      expect(result.stderr, option).toMatch(message)
    }
    const json = await sync('--ssh-option', 'UserKnownHostsFile=/dev/null', '--json')
    expect(json.code).toBe(2)
    expect(JSON.parse(json.stdout)).toMatchObject({error: {code: 'ERR_SSH_OPTION'}})
    expect(await config()).toBe(before)
    expect((await settings()).origins?.[origin()]?.sshOptions).toBeUndefined()
  })

  it('a keyword a later ona saved is one warning naming it, not written, and kept in settings.json; the rest are written', async () => {
    // Each test has its own fixture: the file as a later ona left it.
    const file = settingsPath(fixture.ctx)
    await mkdir(path.dirname(file), {recursive: true})
    await writeFile(file, JSON.stringify({version: 1, origins: {[origin()]: {sshOptions: ['FutureKeyword on', 'Compression yes'], futureSetting: 1}}}))
    const result = await sync('--json')
    expect(result.code, result.stderr).toBe(0)
    const skipped = (JSON.parse(result.stdout) as {warnings: Array<{code: string; message: string}>}).warnings.filter((w) => w.code === 'W_SSH_OPTIONS_SKIPPED')
    expect(skipped).toHaveLength(1)
    expect(skipped[0]!.message).toContain('"FutureKeyword on"')
    expect(await config()).toContain('  Compression yes\n')
    expect(await config()).not.toContain('FutureKeyword')
    expect((await sync('--ssh-option', 'SendEnv=LANG')).code).toBe(0)
    expect(JSON.parse(await readFile(file, 'utf8')).origins[origin()]).toEqual({sshOptions: ['Compression yes', 'SendEnv LANG', 'FutureKeyword on'], futureSetting: 1})
  })
})

describe('watch mode (and so the service) writes what was saved', () => {
  it('friendly aliases and options from settings.json; a rename moves the alias at the event', async () => {
    await saveEntryPreferences(fixture.ctx, fixture.sim.url, {friendlyAliases: true, sshOptions: ['ForwardAgent=yes']})
    const abort = new AbortController()
    const done = watchSshConfig(fixture.ctx, {client: await fixture.client(), signal: abort.signal, fileDebounceMs: 100, backoff: {baseMs: 50, maxMs: 200}})
    done.catch(() => undefined)
    try {
      await waitFor(async () => (await config()).includes(`${A}.gitpod.remote api-backend.ona\n`), 5000, 'the first sync')
      expect(await config()).toContain('  ForwardAgent yes\n')
      await waitFor(async () => fixture.sim.openStreams() > 0, 5000, 'the event stream')
      fixture.sim.renameEnvironment(A, 'billing')
      await waitFor(async () => (await config()).includes(`${A}.gitpod.remote billing.ona\n`), 5000, 'the alias moved')
      expect(await config()).not.toContain('api-backend.ona')
    } finally {
      abort.abort()
      await done.catch(() => undefined)
    }
  })
})
