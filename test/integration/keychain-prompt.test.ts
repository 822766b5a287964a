/**
 * The macOS keychain access prompt, tested on Linux with the platform injected (Context). The keychain is
 * reached through its real helper process (keychain-worker.ts) over D-Bus; the seam that makes it slow is
 * the bus itself: a socket that never answers (a prompt nobody answers), or a relay that holds the
 * connection to a real gnome-keyring for a while before passing it on (a prompt answered after a few
 * seconds). Regression: after a node upgrade the prompt outlived the 5 s keychain timeout and the user was
 * told "not logged in".
 */
import {spawn} from 'node:child_process'
import {mkdtemp, rm} from 'node:fs/promises'
import net from 'node:net'
import os from 'node:os'
import path from 'node:path'
import {PassThrough} from 'node:stream'

import {afterEach, beforeEach, describe, expect, it} from 'vitest'

import {resolveToken} from '../../src/lib/auth/token.js'
import {keychainGet, keychainSet} from '../../src/lib/auth/token-store.js'
import {createContext} from '../../src/lib/context.js'
import {createIOStreams} from '../../src/lib/io.js'
import {startSimulator, type Simulator} from '../../src/lib/simulator/server.js'
import {baseEnv, runCli} from '../helpers/run-cli.js'
import {hasCommand as has, onaFailure as failure} from '../helpers/tools.js'

const API = 'https://app.ona.com/api'
const haveKeyring = has('dbus-run-session') && has('gnome-keyring-daemon')
if (!haveKeyring) console.warn('keychain-prompt.test.ts: dbus-run-session or gnome-keyring-daemon is missing; the slow-but-answering keychain test is skipped')

let home: string
const closers: Array<() => Promise<void> | void> = []

beforeEach(async () => {
  home = await mkdtemp(path.join(os.tmpdir(), 'ona-keyprompt-'))
})
afterEach(async () => {
  for (const close of closers.splice(0).reverse()) await close()
  await rm(home, {recursive: true, force: true})
})

/** A D-Bus session address whose socket accepts and never answers: the helper blocks as behind a prompt. */
async function silentBus(): Promise<string> {
  const socketPath = path.join(home, 'silent-bus')
  const sockets = new Set<net.Socket>()
  const server = net.createServer((socket) => {
    sockets.add(socket)
    socket.on('data', () => {})
    socket.on('error', () => {})
  })
  await new Promise<void>((resolve) => server.listen(socketPath, resolve))
  closers.push(() => {
    for (const s of sockets) s.destroy()
    return new Promise<void>((resolve) => server.close(() => resolve()))
  })
  return `unix:path=${socketPath}`
}

/** Builds a Context as a command would, with the platform, the terminal and the deadline given. */
function context(options: {bus: string; platform: NodeJS.Platform; interactive: boolean; timeout?: string; keyringTimeoutMs?: number}) {
  const err = new PassThrough()
  let text = ''
  err.on('data', (chunk: Buffer) => (text += chunk.toString('utf8')))
  const env = {PATH: process.env.PATH, HOME: home, DBUS_SESSION_BUS_ADDRESS: options.bus, ONA_KEYRING_TIMEOUT_MS: String(options.keyringTimeoutMs ?? 500)}
  const io = createIOStreams({out: new PassThrough(), err, isTTY: false, env})
  const ctx = createContext({env, io, platform: options.platform, homedir: home, interactive: options.interactive, oneShot: {timeout: options.timeout}})
  return {ctx, stderr: () => text}
}


describe('a keychain that does not answer (the prompt is never answered)', () => {
  it('on a macOS terminal waits past the keychain timeout up to the command deadline, says once that macOS is asking, then fails as a keychain timeout', async () => {
    const {ctx, stderr} = context({bus: await silentBus(), platform: 'darwin', interactive: true, timeout: '3500ms'})
    const started = Date.now()
    const error = await failure(resolveToken(ctx, API))
    const waited = Date.now() - started
    // The keychain's own bound is 500 ms here: the wait lasted until the deadline instead.
    expect(waited).toBeGreaterThanOrEqual(3000)
    expect(waited).toBeLessThan(20_000)
    expect(error.code).toBe('ERR_KEYCHAIN_TIMEOUT')
    expect(error.message).toMatch(/^the macOS keychain did not answer within [23](\.\d)?s \(--timeout\): its access prompt was not answered$/)
    expect(error.hint).toContain('Always Allow')
    expect(error.exitCode).toBe(1)
    expect(stderr().match(/macOS is asking for access to ona's keychain item ona:https:\/\/app\.ona\.com: answer the prompt on your screen/g)).toHaveLength(1)
  })

  it('off a terminal on macOS keeps the short bound and reports ERR_KEYCHAIN_TIMEOUT with a hint, not "not logged in"', async () => {
    const {ctx, stderr} = context({bus: await silentBus(), platform: 'darwin', interactive: false, timeout: '30s'})
    const started = Date.now()
    const error = await failure(resolveToken(ctx, API))
    expect(Date.now() - started).toBeLessThan(10_000)
    expect(error.code).toBe('ERR_KEYCHAIN_TIMEOUT')
    expect(error.message).toBe('the OS keychain did not answer within 0.5 s')
    expect(error.hint).toMatch(/^macOS asks again for access to ona's keychain item after node is upgraded/)
    expect(error.toJSON().details).toEqual({platform: 'darwin'})
    expect(stderr()).not.toContain('macOS is asking')
  })

  it('on Linux says the Secret Service did not answer, again not "not logged in"', async () => {
    const {ctx} = context({bus: await silentBus(), platform: 'linux', interactive: true, timeout: '30s'})
    const error = await failure(resolveToken(ctx, API))
    expect(error.code).toBe('ERR_KEYCHAIN_TIMEOUT')
    expect(error.hint).toMatch(/^The Secret Service \(gnome-keyring, KWallet\) did not answer/)
  })

  it('never waits past the command deadline, even below the keychain timeout', async () => {
    const {ctx} = context({bus: await silentBus(), platform: 'linux', interactive: false, timeout: '300ms', keyringTimeoutMs: 20_000})
    const started = Date.now()
    const result = await keychainGet(ctx, API)
    expect(Date.now() - started).toBeLessThan(10_000)
    expect(result).toMatchObject({ok: false, reason: 'timeout'})
  })
})

describe('the CLI off a terminal', () => {
  let sim: Simulator
  beforeEach(async () => {
    sim = await startSimulator({})
    closers.push(() => sim.close())
  })

  it('exits 1 with ERR_KEYCHAIN_TIMEOUT in --json when the keychain does not answer and there is no token file', async () => {
    const env = baseEnv(home, {ONA_API_URL: sim.url, DBUS_SESSION_BUS_ADDRESS: await silentBus(), ONA_KEYRING_TIMEOUT_MS: '500'})
    const result = await runCli(['whoami', '--json'], {env, timeoutMs: 30_000})
    expect(result.code).toBe(1)
    const error = JSON.parse(result.stdout).error
    expect(error.code).toBe('ERR_KEYCHAIN_TIMEOUT')
    expect(error.message).not.toContain('not logged in')
  })
})

/** A private D-Bus session with an unlocked gnome-keyring; its address, until the test ends. */
async function keyringSession(): Promise<string> {
  const child = spawn(
    'dbus-run-session',
    ['--', 'sh', '-c', 'printf pw | gnome-keyring-daemon --unlock --components=secrets >/dev/null 2>&1; echo "$DBUS_SESSION_BUS_ADDRESS"; exec cat >/dev/null'],
    {stdio: ['pipe', 'pipe', 'ignore'], env: {PATH: process.env.PATH, HOME: home, XDG_RUNTIME_DIR: home}},
  )
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  closers.push(async () => {
    child.stdin.end()
    const timer = setTimeout(() => child.kill('SIGKILL'), 5000)
    await exited
    clearTimeout(timer)
  })
  let out = ''
  const address = await new Promise<string>((resolve, reject) => {
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      out += chunk
      if (out.includes('\n')) resolve(out.split('\n')[0]!.trim())
    })
    child.once('exit', () => reject(new Error(`dbus-run-session ended early: ${out}`)))
  })
  return address
}

/** A bus address whose connections reach `address` only after `delayMs`: the prompt is answered then. */
async function slowRelay(address: string, delayMs: number): Promise<string> {
  const target = /unix:(path|abstract)=([^,]+)/.exec(address)
  if (!target) throw new Error(`cannot relay to ${address}`)
  const targetPath = target[1] === 'abstract' ? `\0${target[2]}` : target[2]!
  const socketPath = path.join(home, 'slow-bus')
  const sockets = new Set<net.Socket>()
  const server = net.createServer((socket) => {
    sockets.add(socket)
    socket.on('error', () => {})
    // Nothing is read meanwhile: what the helper sends waits in the socket until the relay opens.
    setTimeout(() => {
      const upstream = net.connect({path: targetPath})
      sockets.add(upstream)
      upstream.on('error', () => socket.destroy())
      socket.pipe(upstream).pipe(socket)
    }, delayMs)
  })
  await new Promise<void>((resolve) => server.listen(socketPath, resolve))
  closers.push(() => {
    for (const s of sockets) s.destroy()
    return new Promise<void>((resolve) => server.close(() => resolve()))
  })
  return `unix:path=${socketPath}`
}

describe.skipIf(!haveKeyring)('a keychain that answers after a while (the prompt is answered)', () => {
  it('on a macOS terminal gets the token although the answer took longer than the keychain timeout', async () => {
    const bus = await keyringSession()
    const seeding = context({bus, platform: 'linux', interactive: false, timeout: '30s', keyringTimeoutMs: 10_000})
    expect(await keychainSet(seeding.ctx, API, 'ona_pat_slow_prompt_token')).toEqual({ok: true, value: null})

    const {ctx, stderr} = context({bus: await slowRelay(bus, 3000), platform: 'darwin', interactive: true, timeout: '30s', keyringTimeoutMs: 500})
    const resolved = await resolveToken(ctx, API)
    expect(resolved).toEqual({token: 'ona_pat_slow_prompt_token', source: 'keychain'})
    expect(stderr().match(/macOS is asking for access/g)).toHaveLength(1)
    expect(stderr()).not.toContain('ona_pat_slow_prompt_token')
  })

  it('off a terminal the same slow answer is cut at the keychain timeout and reported as such', async () => {
    const bus = await keyringSession()
    const seeding = context({bus, platform: 'linux', interactive: false, timeout: '30s', keyringTimeoutMs: 10_000})
    expect((await keychainSet(seeding.ctx, API, 'ona_pat_slow_prompt_token')).ok).toBe(true)
    const {ctx} = context({bus: await slowRelay(bus, 3000), platform: 'darwin', interactive: false, timeout: '30s', keyringTimeoutMs: 500})
    const error = await failure(resolveToken(ctx, API))
    expect(error.code).toBe('ERR_KEYCHAIN_TIMEOUT')
  })
})
