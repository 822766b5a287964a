/**
 * Stored tokens are keyed by API origin (issue 13): a token stored for https://app.gitpod.io is never
 * offered to http://app.gitpod.io or https://app.gitpod.io:8443, and ona 0.1's host-keyed entries are
 * read only for the https origin on the default port, moved to the origin key, and removed by logout.
 * The file store runs in a real temp dir; the keychain is a real gnome-keyring in dbus-run-session.
 */
import {execFileSync} from 'node:child_process'
import {mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import {pathToFileURL} from 'node:url'

import {afterEach, beforeAll, beforeEach, describe, expect, it} from 'vitest'

import {createContext, type Context} from '../../src/lib/context.js'
import {createIOStreams} from '../../src/lib/io.js'
import {resolveToken} from '../../src/lib/auth/token.js'
import {fileDelete, fileGet, fileSet, keychainService, legacyKeychainService, tokenFilePath} from '../../src/lib/auth/token-store.js'
import {baseEnv, builtCli, repoRoot, runCli, runCommand} from '../helpers/run-cli.js'
import {hasCommand as has} from '../helpers/tools.js'
import {startSimulator} from '../../src/lib/simulator/server.js'
import {PassThrough} from 'node:stream'

const TOKEN = 'ona_pat_origin_test_token_0123456789'
const HTTPS = 'https://app.gitpod.io/api'

let home: string
let ctx: Context

function makeContext(): Context {
  const io = createIOStreams({out: new PassThrough(), err: new PassThrough(), isTTY: false, env: {}})
  return createContext({env: {HOME: home, ONA_KEYRING: 'off'}, homedir: home, io, platform: 'linux'})
}

function writeRawTokenFile(tokens: Record<string, string>): void {
  const file = tokenFilePath(ctx)
  mkdirSync(path.dirname(file), {recursive: true, mode: 0o700})
  writeFileSync(file, JSON.stringify({version: 1, tokens}), {mode: 0o600})
}

function storedKeys(): string[] {
  return Object.keys(JSON.parse(readFileSync(tokenFilePath(ctx), 'utf8')).tokens).sort()
}

beforeEach(() => {
  home = mkdtempSync(path.join(os.tmpdir(), 'ona-origin-'))
  ctx = makeContext()
})
afterEach(() => rmSync(home, {recursive: true, force: true}))

describe('keychain service names', () => {
  it.each([
    [HTTPS, 'ona:https://app.gitpod.io', 'ona:app.gitpod.io'],
    ['https://APP.gitpod.io:443/api', 'ona:https://app.gitpod.io', 'ona:app.gitpod.io'],
    ['http://app.gitpod.io/api', 'ona:http://app.gitpod.io', undefined],
    ['https://app.gitpod.io:8443/api', 'ona:https://app.gitpod.io:8443', undefined],
    ['http://127.0.0.1:8080/api', 'ona:http://127.0.0.1:8080', undefined],
  ])('%s is stored as %s; legacy entry read: %s', (url, service, legacy) => {
    expect(keychainService(url)).toBe(service)
    expect(legacyKeychainService(url)).toBe(legacy)
  })
})

describe('token file keyed by origin', () => {
  it.each(['http://app.gitpod.io/api', 'https://app.gitpod.io:8443/api', 'https://gitpod.io/api'])('a token stored for https://app.gitpod.io is not offered to %s', async (other) => {
    await fileSet(ctx, HTTPS, TOKEN)
    expect(await fileGet(ctx, other)).toBeUndefined()
    await expect(resolveToken(ctx, other)).rejects.toMatchObject({code: 'ERR_NOT_LOGGED_IN'})
    expect(await fileGet(ctx, 'https://APP.gitpod.io:443/api')).toBe(TOKEN)
  })

  it('keeps a token per origin on the same host side by side', async () => {
    await fileSet(ctx, HTTPS, 'ona_pat_https')
    await fileSet(ctx, 'https://app.gitpod.io:8443/api', 'ona_pat_8443')
    expect(await fileGet(ctx, HTTPS)).toBe('ona_pat_https')
    expect(await fileGet(ctx, 'https://app.gitpod.io:8443/api')).toBe('ona_pat_8443')
    expect(storedKeys()).toEqual(['https://app.gitpod.io', 'https://app.gitpod.io:8443'])
  })

  it('reads a legacy host-keyed token for the https origin on the default port and moves it to the origin key', async () => {
    writeRawTokenFile({'app.gitpod.io': TOKEN, 'other.example': 'ona_pat_other'})
    expect(await resolveToken(ctx, HTTPS)).toEqual({token: TOKEN, source: 'file'})
    expect(storedKeys()).toEqual(['https://app.gitpod.io', 'other.example'])
    expect(await fileGet(ctx, HTTPS)).toBe(TOKEN)
  })

  it.each(['http://app.gitpod.io/api', 'https://app.gitpod.io:8443/api'])('never reads a legacy host-keyed token for %s, and leaves it in place', async (url) => {
    writeRawTokenFile({'app.gitpod.io': TOKEN, 'app.gitpod.io:8443': TOKEN})
    expect(await fileGet(ctx, url)).toBeUndefined()
    expect(storedKeys()).toEqual(['app.gitpod.io', 'app.gitpod.io:8443'])
  })

  it('drops the legacy entry when a new token is stored for the https origin', async () => {
    writeRawTokenFile({'app.gitpod.io': 'ona_pat_old'})
    await fileSet(ctx, HTTPS, TOKEN)
    expect(storedKeys()).toEqual(['https://app.gitpod.io'])
    expect(await fileGet(ctx, HTTPS)).toBe(TOKEN)
  })

  it('logout removes the origin entry and the legacy host entry', async () => {
    writeRawTokenFile({'app.gitpod.io': 'ona_pat_old', 'https://app.gitpod.io': TOKEN, 'https://other.example': 'ona_pat_keep'})
    expect(await fileDelete(ctx, HTTPS)).toEqual({origin: true, legacy: true})
    expect(storedKeys()).toEqual(['https://other.example'])
    writeRawTokenFile({'app.gitpod.io': 'ona_pat_old'})
    expect(await fileDelete(ctx, HTTPS)).toEqual({origin: false, legacy: true})
    expect(await fileGet(ctx, HTTPS)).toBeUndefined()
  })

  // Regression: 0.1 keyed by `new URL(url).host`, so a non-default port or an http install left an entry
  // that is (rightly) never read, and that logout and a new login used to leave behind for ever.
  it.each([
    ['https://ona.example.com:8443/api', 'ona.example.com:8443'],
    ['http://ona.example.com/api', 'ona.example.com'],
    ['http://127.0.0.1:8080/api', '127.0.0.1:8080'],
  ])('logout for %s removes the %s entry 0.1 stored for it, and only that one', async (url, legacy) => {
    writeRawTokenFile({[legacy]: 'ona_pat_old', 'ona.example.com:9443': 'ona_pat_keep', 'https://other.example': 'ona_pat_keep'})
    expect(await fileDelete(ctx, url)).toEqual({origin: false, legacy: true})
    expect(storedKeys()).toEqual(['https://other.example', 'ona.example.com:9443'])
    expect(await fileGet(ctx, url)).toBeUndefined()
  })

  it.each([
    ['https://ona.example.com:8443/api', 'ona.example.com:8443', 'https://ona.example.com:8443'],
    ['http://ona.example.com/api', 'ona.example.com', 'http://ona.example.com'],
  ])('a new token stored for %s replaces the %s entry 0.1 stored for it', async (url, legacy, origin) => {
    writeRawTokenFile({[legacy]: 'ona_pat_old', 'https://other.example': 'ona_pat_keep'})
    await fileSet(ctx, url, TOKEN)
    expect(storedKeys()).toEqual([origin, 'https://other.example'])
    expect(await fileGet(ctx, url)).toBe(TOKEN)
  })
})

describe('through the CLI', () => {
  beforeAll(() => {
    if (!builtCli) throw new Error('run `npm run build` first: these tests run bin/run.js')
  })

  it('ona logout for https://host:8443 removes the host:8443 token 0.1 left in the file, and says so', async () => {
    writeRawTokenFile({'ona.example.com:8443': 'ona_pat_old', 'https://other.example': 'ona_pat_keep'})
    const env = baseEnv(home, {ONA_KEYRING: 'off'})
    const logout = await runCli(['logout', '--api-url', 'https://ona.example.com:8443/api'], {env})
    expect(logout.code).toBe(0)
    expect(logout.stderr.trim()).toBe(`Logged out of https://ona.example.com:8443: ona 0.1's token for ona.example.com:8443 removed from ${tokenFilePath(ctx)}.`)
    expect(storedKeys()).toEqual(['https://other.example'])
    const again = await runCli(['logout', '--json', '--api-url', 'https://ona.example.com:8443/api'], {env})
    expect(again.code).toBe(0)
    expect(again.stderr.trim()).toBe('No stored token for https://ona.example.com:8443; nothing to do.')
    expect(JSON.parse(again.stdout)).toMatchObject({origin: 'https://ona.example.com:8443', removed: [], legacyRemoved: [], legacyKey: 'ona.example.com:8443'})
  })

  it('a token stored for the simulator over http is not offered to https on the same host and port', async () => {
    const sim = await startSimulator({})
    try {
      const env = baseEnv(home, {ONA_KEYRING: 'off'})
      const login = await runCli(['login', '--token-stdin', '--api-url', sim.url], {env, input: sim.token})
      expect(login.code).toBe(0)
      const httpsUrl = sim.url.replace(/^http:/, 'https:')
      const whoami = await runCli(['whoami', '--json', '--api-url', httpsUrl], {env})
      expect(whoami.code).toBe(4)
      expect(JSON.parse(whoami.stdout).error.code).toBe('ERR_NOT_LOGGED_IN')
      // Tokens are per origin, so the message names the origin that has none (not just the host).
      expect(JSON.parse(whoami.stdout).error.message).toBe(`not logged in to ${new URL(httpsUrl).origin}`)
      expect(sim.rpcCount('GetAuthenticatedIdentity')).toBe(1)
    } finally {
      await sim.close()
    }
  })
})

const haveKeyring = has('dbus-run-session') && has('gnome-keyring-daemon') && has('secret-tool')

describe.skipIf(!haveKeyring)('OS keychain keyed by origin (gnome-keyring in dbus-run-session)', () => {
  beforeAll(() => {
    if (!builtCli) throw new Error('run `npm run build` first: these tests import dist/')
  })

  /**
   * Runs `steps` (a module body with `store`, `worker`, `ctx` and `count(service)` in scope) in a node
   * process inside a private D-Bus session with an unlocked gnome-keyring; returns the lines it logs.
   */
  async function inKeyring(steps: string): Promise<string[]> {
    const dist = (file: string) => pathToFileURL(path.join(repoRoot, 'dist', 'lib', file)).href
    const script = path.join(home, 'steps.mjs')
    writeFileSync(
      script,
      `import {execFileSync, spawnSync} from 'node:child_process'
import {PassThrough} from 'node:stream'
const store = await import(${JSON.stringify(dist('auth/token-store.js'))})
const {createContext} = await import(${JSON.stringify(dist('context.js'))})
const {createIOStreams} = await import(${JSON.stringify(dist('io.js'))})
const io = createIOStreams({out: new PassThrough(), err: new PassThrough(), isTTY: false, env: {}})
const ctx = createContext({env: process.env, io})
const account = store.KEYCHAIN_ACCOUNT
/** ona 0.1 wrote the token with this very worker under service ona:<host>. */
function legacySet(service, token) {
  const r = spawnSync(process.execPath, [${JSON.stringify(path.join(repoRoot, 'dist/lib/auth/keychain-worker.js'))}], {input: JSON.stringify({op: 'set', service, account, token}), encoding: 'utf8'})
  if (!JSON.parse(r.stdout).ok) throw new Error('legacy set failed: ' + r.stdout)
}
function count(service) {
  try {
    return execFileSync('secret-tool', ['search', '--all', 'service', service], {encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe']}).split('\\n').filter((l) => l.startsWith('secret = ')).length
  } catch { return 0 }
}
const log = (...parts) => console.log(parts.map((p) => typeof p === 'string' ? p : JSON.stringify(p)).join(' '))
${steps}
`,
    )
    const result = await runCommand('dbus-run-session', ['--', 'sh', '-c', `printf pw | gnome-keyring-daemon --unlock --components=secrets >/dev/null 2>&1\n"$NODE" "$SCRIPT"`], {
      env: baseEnv(home, {NODE: process.execPath, SCRIPT: script, XDG_RUNTIME_DIR: home}),
      timeoutMs: 60_000,
    })
    // dbus-daemon may complain about its fd limit on stderr; the script's own errors fail the line match.
    expect(result.code, result.stderr).toBe(0)
    return result.stdout.trim().split('\n')
  }

  it('reads a legacy ona:<host> entry only for https on the default port and moves it to ona:<origin>', async () => {
    const lines = await inKeyring(`
legacySet('ona:app.gitpod.io', ${JSON.stringify(TOKEN)})
log('http', (await store.keychainGet(ctx, 'http://app.gitpod.io/api')).value ?? null)
log('8443', (await store.keychainGet(ctx, 'https://app.gitpod.io:8443/api')).value ?? null)
log('legacy-before', count('ona:app.gitpod.io'))
log('https', (await store.keychainGet(ctx, 'https://app.gitpod.io/api')).value ?? null)
log('legacy-after', count('ona:app.gitpod.io'), 'origin-after', count('ona:https://app.gitpod.io'))
log('again', (await store.keychainGet(ctx, 'https://app.gitpod.io/api')).value ?? null)
log('http-after', (await store.keychainGet(ctx, 'http://app.gitpod.io/api')).value ?? null)
`)
    expect(lines).toEqual([
      'http null',
      '8443 null',
      'legacy-before 1',
      `https ${TOKEN}`,
      'legacy-after 0 origin-after 1',
      `again ${TOKEN}`,
      'http-after null',
    ])
  })

  it('a new token stored for the origin drops the legacy entry, and logout removes both', async () => {
    const lines = await inKeyring(`
legacySet('ona:app.gitpod.io', 'ona_pat_old')
log('set', (await store.keychainSet(ctx, 'https://app.gitpod.io/api', ${JSON.stringify(TOKEN)})).ok)
log('after-set', count('ona:app.gitpod.io'), count('ona:https://app.gitpod.io'))
legacySet('ona:app.gitpod.io', 'ona_pat_old')
log('delete', (await store.keychainDelete(ctx, 'https://app.gitpod.io/api')).value)
log('after-delete', count('ona:app.gitpod.io'), count('ona:https://app.gitpod.io'))
legacySet('ona:app.gitpod.io', 'ona_pat_old')
log('delete-legacy-only', (await store.keychainDelete(ctx, 'https://app.gitpod.io/api')).value, count('ona:app.gitpod.io'))
legacySet('ona:app.gitpod.io', 'ona_pat_old')
log('http-delete', (await store.keychainDelete(ctx, 'http://app.gitpod.io/api')).value, count('ona:app.gitpod.io'))
`)
    expect(lines).toEqual([
      'set true',
      'after-set 0 1',
      'delete {"origin":true,"legacy":true}',
      'after-delete 0 0',
      'delete-legacy-only {"origin":false,"legacy":true} 0',
      // 0.1 keyed http://app.gitpod.io by host too: logout of the http origin removes that entry (never reads it).
      'http-delete {"origin":false,"legacy":true} 0',
    ])
  })

  // Regression: ona:<host>:<port> (what 0.1 stored for a non-default port) was never read, and never removed.
  it('logout and a new login for a non-default port remove the ona:<host>:<port> entry 0.1 stored, without reading it', async () => {
    const lines = await inKeyring(`
const url = 'https://ona.example.com:8443/api'
legacySet('ona:ona.example.com:8443', 'ona_pat_old')
legacySet('ona:ona.example.com:9443', 'ona_pat_keep')
log('get', (await store.keychainGet(ctx, url)).value ?? null)
log('delete', (await store.keychainDelete(ctx, url)).value)
log('after-delete', count('ona:ona.example.com:8443'), count('ona:ona.example.com:9443'))
legacySet('ona:ona.example.com:8443', 'ona_pat_old')
log('set', (await store.keychainSet(ctx, url, ${JSON.stringify(TOKEN)})).ok)
log('after-set', count('ona:ona.example.com:8443'), count('ona:https://ona.example.com:8443'), (await store.keychainGet(ctx, url)).value)
`)
    expect(lines).toEqual(['get null', 'delete {"origin":false,"legacy":true}', 'after-delete 0 1', 'set true', `after-set 0 1 ${TOKEN}`])
  })

  it('ona logout for https://host:8443 says it removed the entry 0.1 stored for host:8443', async () => {
    const lines = await inKeyring(`
legacySet('ona:ona.example.com:8443', 'ona_pat_old')
const r = spawnSync(process.execPath, [${JSON.stringify(path.join(repoRoot, 'bin/run.js'))}, 'logout', '--api-url', 'https://ona.example.com:8443/api'], {encoding: 'utf8'})
log('code', r.status)
log(r.stderr.trim())
log('left', count('ona:ona.example.com:8443'))
`)
    expect(lines).toEqual([
      'code 0',
      "Logged out of https://ona.example.com:8443: ona 0.1's token for ona.example.com:8443 removed from the OS keychain (ona:ona.example.com:8443).",
      'left 0',
    ])
  })
})
