/**
 * `ona login` / `whoami` / `logout` end to end: the built CLI in a child process, the simulator on
 * 127.0.0.1, a scratch HOME, and for the keychain path a real gnome-keyring inside dbus-run-session.
 * Every captured output is grepped for the token.
 */
import {chmodSync, existsSync, mkdtempSync, rmSync, statSync} from 'node:fs'
import net from 'node:net'
import os from 'node:os'
import path from 'node:path'

import {afterEach, beforeAll, beforeEach, describe, expect, it} from 'vitest'

import {startSimulator, type Simulator} from '../../src/lib/simulator/server.js'
import {baseEnv, builtCli, runCli, runCommand, type CliResult} from '../helpers/run-cli.js'
import {hasCommand as has} from '../helpers/tools.js'

const haveKeyring = has('dbus-run-session') && has('gnome-keyring-daemon')

let sim: Simulator
let home: string
const outputs: CliResult[] = []

async function cli(args: string[], extra: Record<string, string | undefined> = {}, input?: string): Promise<CliResult> {
  const result = await runCli(args, {env: baseEnv(home, {ONA_API_URL: sim.url, ...extra}), input})
  outputs.push(result)
  return result
}

function tokenFile(): string {
  return path.join(home, '.config', 'ona', 'credentials.json')
}

beforeAll(() => {
  if (!builtCli) throw new Error('run `npm run build` first: these tests run bin/run.js')
})
beforeEach(async () => {
  sim = await startSimulator({token: `ona_pat_${Math.random().toString(36).slice(2)}${Date.now().toString(36)}`})
  home = mkdtempSync(path.join(os.tmpdir(), 'ona-auth-'))
  outputs.length = 0
})
afterEach(async () => {
  // The token must not appear in anything the CLI printed, whatever the test did.
  for (const output of outputs) {
    expect(output.stdout).not.toContain(sim.token)
    expect(output.stderr).not.toContain(sim.token)
  }
  await sim.close()
  rmSync(home, {recursive: true, force: true})
})

describe('file store (ONA_KEYRING=off)', () => {
  const off = {ONA_KEYRING: 'off'}

  it('logs in from stdin after verifying the token, in a 0600 file inside a 0700 directory', async () => {
    const login = await cli(['login', '--token-stdin'], off, `${sim.token}\n`)
    expect(login.code).toBe(0)
    expect(login.stderr).toContain(`as ${sim.subject.id}`)
    // The token is checked first; the display names are asked for after, best effort.
    expect(sim.requests.map((r) => r.rpc)[0]).toBe('GetAuthenticatedIdentity')
    expect(sim.requests.map((r) => r.rpc).sort()).toEqual(['GetAuthenticatedIdentity', 'GetAuthenticatedUser', 'GetOrganization'])
    expect(statSync(tokenFile()).mode & 0o777).toBe(0o600)
    expect(statSync(path.dirname(tokenFile())).mode & 0o777).toBe(0o700)
    // A forced file store is the user's choice: no warning about a missing keychain.
    expect(login.stderr).not.toContain('warning')
  })

  it('reports who is logged in, as text and as JSON, with the token source', async () => {
    await cli(['login', '--token-stdin'], off, sim.token)
    const text = await cli(['whoami'], off)
    expect(text.code).toBe(0)
    expect(text.stdout).toContain(`subject:      ${sim.subject.id}`)
    expect(text.stdout).toContain(`organization: ${sim.subject.organizationId}`)
    expect(text.stdout).toContain('token from:   token file')
    const json = await cli(['whoami', '--json'], off)
    expect(JSON.parse(json.stdout)).toEqual({
      apiUrl: sim.url,
      host: new URL(sim.url).host,
      subjectId: sim.subject.id,
      principal: 'PRINCIPAL_USER',
      organizationId: sim.subject.organizationId,
      tokenSource: 'file',
    })
  })

  it('names the user and the organisation where the plane gives their names, in login, whoami and whoami --json', async () => {
    const token = `ona_pat_named_${Date.now().toString(36)}${'n'.repeat(10)}`
    sim.addToken(token, {id: '0198ec0e-0000-7000-8000-00000000beef', organizationId: sim.subject.organizationId, name: 'Sam Newcomer', organizationName: 'Acme Corp'})
    const login = await cli(['login', '--token-stdin'], off, token)
    expect(login.code).toBe(0)
    expect(login.stderr).toContain(`Logged in to ${new URL(sim.url).origin} as Sam Newcomer (user 0198ec0e-0000-7000-8000-00000000beef) in Acme Corp (${sim.subject.organizationId});`)
    const text = await cli(['whoami'], off)
    expect(text.stdout).toContain('name:         Sam Newcomer\n')
    expect(text.stdout).toContain(`organization: Acme Corp (${sim.subject.organizationId})\n`)
    expect(JSON.parse((await cli(['whoami', '--json'], off)).stdout)).toMatchObject({userName: 'Sam Newcomer', organizationName: 'Acme Corp', subjectId: '0198ec0e-0000-7000-8000-00000000beef'})
    expect(text.stdout).not.toContain(token)
  })

  it('logs in with ids alone when the plane does not answer for the names (an older install)', async () => {
    sim.injectFault({type: 'http', status: 404, code: 'unimplemented'}, {rpc: 'GetAuthenticatedUser', times: 10})
    sim.injectFault({type: 'http', status: 403, code: 'permission_denied'}, {rpc: 'GetOrganization', times: 10})
    const login = await cli(['login', '--token-stdin'], off, sim.token)
    expect(login.code).toBe(0)
    expect(login.stderr).toContain(`as ${sim.subject.id} (user) in organization ${sim.subject.organizationId};`)
    const json = JSON.parse((await cli(['whoami', '--json'], off)).stdout) as Record<string, unknown>
    expect(json).not.toHaveProperty('userName')
    expect(json).not.toHaveProperty('organizationName')
  })

  it('logs out by removing the token, after which whoami exits 4 with a login hint', async () => {
    await cli(['login', '--token-stdin'], off, sim.token)
    const logout = await cli(['logout', '--json'], off)
    expect(logout.code).toBe(0)
    expect(JSON.parse(logout.stdout)).toEqual({host: new URL(sim.url).host, origin: new URL(sim.url).origin, removed: ['file'], legacyRemoved: [], legacyKey: new URL(sim.url).host})
    expect(existsSync(tokenFile())).toBe(false)
    const whoami = await cli(['whoami'], off)
    expect(whoami.code).toBe(4)
    expect(whoami.stderr).toContain('error: not logged in')
    expect(whoami.stderr).toContain('hint: Run `ona login')
  })

  it('refuses a token the management plane rejects, stores nothing, and exits 4', async () => {
    const wrong = 'ona_pat_this_one_was_revoked_42'
    const login = await cli(['login', '--token-stdin'], off, wrong)
    expect(login.code).toBe(4)
    // At login the token was just typed: most likely mistyped, so the hint says that (issue 13), not "run `ona login`".
    expect(login.stderr).toContain('did not accept this token; nothing was stored')
    expect(login.stderr).toContain('hint: Check that you pasted the whole personal access token')
    expect(login.stderr).not.toContain(wrong)
    expect(existsSync(tokenFile())).toBe(false)
  })

  it('refuses empty standard input with a usage error', async () => {
    const login = await cli(['login', '--token-stdin'], off, '\n')
    expect(login.code).toBe(2)
    expect(login.stderr).toContain('no token was given')
    expect(sim.requests).toHaveLength(0)
  })

  it('without --token-stdin, a terminal or ONA_TOKEN, explains how to pass a token and exits 2', async () => {
    const login = await cli(['login'], off)
    expect(login.code).toBe(2)
    expect(login.stderr).toContain('hint: Pass a personal access token on standard input: `ona login --token-stdin < token.txt`.')
    expect(sim.requests).toHaveLength(0)
  })

  it('logs out with nothing stored as a no-op that still exits 0', async () => {
    const logout = await cli(['logout', '--json'], off)
    expect(logout.code).toBe(0)
    expect(JSON.parse(logout.stdout)).toEqual({host: new URL(sim.url).host, origin: new URL(sim.url).origin, removed: [], legacyRemoved: [], legacyKey: new URL(sim.url).host})
  })

  it('refuses a token file that group or others can read, as ssh does for keys', async () => {
    await cli(['login', '--token-stdin'], off, sim.token)
    chmodSync(tokenFile(), 0o644)
    const whoami = await cli(['whoami', '--json'], off)
    expect(whoami.code).toBe(4)
    expect(JSON.parse(whoami.stdout).error.code).toBe('ERR_TOKEN_FILE_PERMISSIONS')
    expect(whoami.stdout).toContain('0644')
    expect(sim.rpcCount('GetAuthenticatedIdentity')).toBe(1)
  })

  it('keeps tokens of several API hosts side by side', async () => {
    const other = await startSimulator({subject: {id: 'second-user', organizationId: 'second-org'}})
    try {
      await cli(['login', '--token-stdin'], off, sim.token)
      const second = await runCli(['login', '--token-stdin', '--api-url', other.url], {env: baseEnv(home, off), input: other.token})
      expect(second.code).toBe(0)
      const first = JSON.parse((await cli(['whoami', '--json'], off)).stdout)
      const againRun = await runCli(['whoami', '--json', '--api-url', other.url], {env: baseEnv(home, off)})
      const again = JSON.parse(againRun.stdout)
      expect(first.subjectId).toBe(sim.subject.id)
      expect(again.subjectId).toBe('second-user')
      for (const text of [second.stdout, second.stderr, againRun.stdout, againRun.stderr]) {
        expect(text).not.toContain(other.token)
        expect(text).not.toContain(sim.token)
      }
    } finally {
      await other.close()
    }
  })
})

describe('token from the environment', () => {
  it.each(['ONA_TOKEN', 'GITPOD_TOKEN', 'ONA_API_KEY', 'GITPOD_API_KEY'])('uses %s before any stored token', async (variable) => {
    const whoami = await cli(['whoami', '--json'], {ONA_KEYRING: 'off', [variable]: sim.token})
    expect(whoami.code).toBe(0)
    expect(JSON.parse(whoami.stdout)).toMatchObject({tokenSource: 'env', tokenVariable: variable, subjectId: sim.subject.id})
  })

  it('logs in with the environment token when stdin is not a terminal and no flag is given', async () => {
    const login = await cli(['login', '--json'], {ONA_KEYRING: 'off', ONA_TOKEN: sim.token})
    expect(login.code).toBe(0)
    expect(JSON.parse(login.stdout)).toMatchObject({input: 'env', storage: 'file'})
  })

  it('says an expired environment token expired, naming no token', async () => {
    const whoami = await cli(['whoami'], {ONA_KEYRING: 'off', ONA_TOKEN: 'ona_pat_expired_token_0001'})
    expect(whoami.code).toBe(4)
    expect(whoami.stderr).toContain('Your token expired or was revoked')
    expect(whoami.stderr).not.toContain('ona_pat_expired_token_0001')
  })
})

describe('debug output', () => {
  it('prints one line per request attempt with ONA_DEBUG=1, retries included, and never the token', async () => {
    sim.injectFault({type: 'http', status: 503, message: `overloaded while serving ${sim.token}`})
    const whoami = await cli(['whoami'], {ONA_KEYRING: 'off', ONA_TOKEN: sim.token, ONA_DEBUG: '1'})
    expect(whoami.code).toBe(0)
    const lines = whoami.stderr.split('\n').filter((line) => line.startsWith('debug: '))
    // The identity (a 503, then its retry), then the two display-name calls.
    expect(lines).toHaveLength(4)
    expect(lines[0]).toMatch(/^debug: POST \/api\/gitpod\.v1\.IdentityService\/GetAuthenticatedIdentity -> 503 in \d+ ms \(attempt 1\)$/)
    expect(lines[1]).toMatch(/GetAuthenticatedIdentity -> 200 in \d+ ms \(attempt 2\)$/)
    expect(lines.slice(2).map((l) => /gitpod\.v1\.(\w+\/\w+) -> 200 in \d+ ms \(attempt 1\)$/.exec(l)?.[1]).sort()).toEqual(['OrganizationService/GetOrganization', 'UserService/GetAuthenticatedUser'])
  })
})

describe('no usable keychain', () => {
  it('falls back to the file without a D-Bus session and says so once', async () => {
    const login = await cli(['login', '--token-stdin'], {}, sim.token)
    expect(login.code).toBe(0)
    expect(login.stderr.match(/no usable OS keychain/g)).toHaveLength(1)
    expect(login.stderr).toContain('mode 0600')
    expect(statSync(tokenFile()).mode & 0o777).toBe(0o600)
    const whoami = await cli(['whoami', '--json'], {})
    expect(JSON.parse(whoami.stdout).tokenSource).toBe('file')
    expect(whoami.stderr).toBe('')
  })

  it('does not hang on a D-Bus that never answers: the keychain call is cut off and the file is used', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'ona-bus-'))
    const socketPath = path.join(dir, 'bus')
    const silent = net.createServer((socket) => socket.on('data', () => {}))
    await new Promise<void>((resolve) => silent.listen(socketPath, resolve))
    try {
      const env = {DBUS_SESSION_BUS_ADDRESS: `unix:path=${socketPath}`, ONA_KEYRING_TIMEOUT_MS: '1000'}
      const login = await cli(['login', '--token-stdin'], env, sim.token)
      expect(login.code).toBe(0)
      expect(login.stderr).toContain('did not answer within 1 s')
      // Two keychain attempts at most (write, and nothing else) plus the API call: generous bound.
      expect(login.ms).toBeLessThan(10_000)
      const whoami = await cli(['whoami', '--json'], env)
      expect(whoami.code).toBe(0)
      expect(JSON.parse(whoami.stdout).tokenSource).toBe('file')
    } finally {
      silent.close()
      rmSync(dir, {recursive: true, force: true})
    }
  })
})

describe('logout when the keychain does not answer', () => {
  /** A D-Bus socket that accepts and never answers: every keychain call times out. */
  async function withSilentBus<T>(fn: (env: Record<string, string>) => Promise<T>): Promise<T> {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'ona-bus-'))
    const socketPath = path.join(dir, 'bus')
    const silent = net.createServer((socket) => socket.on('data', () => {}))
    await new Promise<void>((resolve) => silent.listen(socketPath, resolve))
    try {
      return await fn({DBUS_SESSION_BUS_ADDRESS: `unix:path=${socketPath}`, ONA_KEYRING_TIMEOUT_MS: '1000'})
    } finally {
      silent.close()
      rmSync(dir, {recursive: true, force: true})
    }
  }

  // Regression: it warned "a token may remain there", then said "No stored token ...; nothing to do." and exited 0.
  it('with nothing in the file, fails with ERR_KEYCHAIN_TIMEOUT instead of "nothing to do"', async () => {
    await withSilentBus(async (env) => {
      const logout = await cli(['logout'], env)
      expect(logout.code).not.toBe(0)
      expect(logout.stderr).toContain('did not answer within 1 s')
      expect(logout.stderr).toContain(`a token for ${new URL(sim.url).origin} may remain there`)
      expect(logout.stderr).toContain('The Secret Service (gnome-keyring, KWallet) did not answer')
      expect(logout.stderr).not.toContain('nothing to do')
      const json = await cli(['logout', '--json'], env)
      expect(json.code).toBe(logout.code)
      expect(JSON.parse(json.stdout).error.code).toBe('ERR_KEYCHAIN_TIMEOUT')
    })
  })

  it('with the token in the file, removes it, says so, and warns that the keychain did not answer', async () => {
    expect((await cli(['login', '--token-stdin'], {ONA_KEYRING: 'off'}, sim.token)).code).toBe(0)
    await withSilentBus(async (env) => {
      const logout = await cli(['logout', '--json'], env)
      expect(logout.code).toBe(0)
      expect(JSON.parse(logout.stdout)).toMatchObject({origin: new URL(sim.url).origin, removed: ['file']})
      expect(logout.stderr).toContain(`Logged out of ${new URL(sim.url).origin}: token removed from ${tokenFile()}.`)
      expect(logout.stderr).toMatch(/did not answer within 1 s; a token for \S+ may remain in the OS keychain: run `ona logout` again when it answers/)
      expect(existsSync(tokenFile())).toBe(false)
    })
  })
})

describe.skipIf(!haveKeyring)('OS keychain (gnome-keyring in dbus-run-session)', () => {
  /** Runs a shell script inside a private D-Bus session with an unlocked (or locked) gnome-keyring. */
  async function inKeyringSession(script: string, unlock = true): Promise<CliResult> {
    const start = unlock ? 'printf pw | gnome-keyring-daemon --unlock --components=secrets >/dev/null 2>&1' : 'gnome-keyring-daemon --start --components=secrets >/dev/null 2>&1'
    const result = await runCommand('dbus-run-session', ['--', 'sh', '-c', `${start}\n${script}`], {
      env: baseEnv(home, {ONA_API_URL: sim.url, NODE: process.execPath, TOKEN: sim.token, XDG_RUNTIME_DIR: home}),
      timeoutMs: 60_000,
    })
    outputs.push(result)
    return result
  }

  it('stores the token in the Secret Service, not in a file, and whoami and logout find it there', async () => {
    const result = await inKeyringSession(`
      printf '%s' "$TOKEN" | "$NODE" bin/run.js login --token-stdin --json; echo "login=$?"
      if [ -e "$HOME/.config/ona/credentials.json" ]; then echo "file=yes"; else echo "file=no"; fi
      secret-tool search --all service "ona:${new URL(sim.url).origin}" 2>/dev/null | grep -c '^secret = ' | sed 's/^/items=/'
      "$NODE" bin/run.js whoami --json; echo "whoami=$?"
      "$NODE" bin/run.js logout --json; echo "logout=$?"
      "$NODE" bin/run.js whoami --json; echo "after=$?"
    `)
    const out = result.stdout
    expect(out).toContain('login=0')
    expect(out).toContain('"storage": "keychain"')
    expect(out).toContain('file=no')
    expect(out).toContain('items=1')
    expect(out).toContain('"tokenSource": "keychain"')
    expect(out).toContain('whoami=0')
    expect(out).toContain('"removed": [\n    "keychain"\n  ]')
    expect(out).toContain('after=4')
    expect(out).toContain('ERR_NOT_LOGGED_IN')
  })

  it('falls back to the file when the keyring is locked and nobody can answer the unlock prompt', async () => {
    const result = await inKeyringSession(
      `printf '%s' "$TOKEN" | "$NODE" bin/run.js login --token-stdin --json; echo "login=$?"
       "$NODE" bin/run.js whoami --json`,
      false,
    )
    expect(result.stdout).toContain('login=0')
    expect(result.stdout).toContain('"storage": "file"')
    expect(result.stdout).toContain('"tokenSource": "file"')
    expect(result.stderr).toContain('no usable OS keychain')
  })
})
