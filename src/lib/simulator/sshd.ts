/**
 * A real OpenSSH server for the simulator, the demo and the tests: `/usr/sbin/sshd` in the foreground, as
 * the current user, on a loopback address and a free port, with generated keys and its own config in a temp
 * dir. Nothing is mocked: what connects here is the same `ssh` a user runs, so host-key checking,
 * HostKeyAlias and known_hosts behave exactly as they will against an environment. Like the rest of
 * src/lib/simulator it is not in the published package (package.json "files").
 *
 * Two servers may share one set of keys (an environment that "moved" to a new IP keeps its host key), and
 * `restart()` brings the same server up on another address.
 */
import {spawn, execFile, type ChildProcess} from 'node:child_process'
import {existsSync, mkdirSync, openSync, closeSync} from 'node:fs'
import {mkdtemp, readFile, rm, writeFile, chmod} from 'node:fs/promises'
import net from 'node:net'
import os from 'node:os'
import path from 'node:path'
import {promisify} from 'node:util'

const execFileP = promisify(execFile)

export const SSHD_PATH = process.env.ONA_TEST_SSHD ?? '/usr/sbin/sshd'

/** Whether an sshd is installed where startSshd looks (openssh-server). */
export function sshdInstalled(): boolean {
  return existsSync(SSHD_PATH)
}

/** Host and client key pairs. Shared between servers by passing the same object to several `startSshd` calls. */
export interface SshKeys {
  dir: string
  hostKeyPath: string
  /** One line, `ssh-ed25519 AAAA...` (no comment), as it appears in known_hosts. */
  hostPublicKey: string
  clientKeyPath: string
  clientPublicKey: string
  /** Deletes the key files once no running server uses them (servers hold a reference). */
  release(): Promise<void>
}

export interface Sshd {
  host: string
  port: number
  /** The login name the server accepts (the current user, since sshd cannot switch users unprivileged). */
  user: string
  hostKeyPath: string
  hostPublicKey: string
  clientKeyPath: string
  keys: SshKeys
  /** The server's own temp dir: sshd_config, pid file, log. */
  dir: string
  configPath: string
  logPath: string
  /** sshd's own log (it runs with `-e`, so start-up errors and auth decisions land here). */
  log(): Promise<string>
  /** Stops the server and waits for it to exit. Safe to call twice. */
  stop(): Promise<void>
  /** Stops this server and starts one with the same keys on another address (and, by default, a new free port). */
  restart(options?: {host?: string; port?: number}): Promise<Sshd>
}

export interface StartSshdOptions {
  /** A loopback address (127.0.0.0/8). Default 127.0.0.1. */
  host?: string
  /** Default: a free port on `host`. */
  port?: number
  /** Reuse keys from another server (same host key at a new address). Default: generate fresh ones. */
  keys?: SshKeys
  /** Public key lines the server accepts. Default: the client key of `keys`. */
  authorizedKeys?: string[]
  /**
   * Read accepted keys from this file instead (absolute; kept across restart()), e.g. one the simulator
   * keeps equal to an environment's registered keys. `authorizedKeys` is then ignored.
   */
  authorizedKeysFile?: string
  /** Extra `Keyword value` lines appended to sshd_config. */
  extraConfig?: string[]
  /** How long to wait for the port to accept TCP. Default 10 s. */
  readyTimeoutMs?: number
}

interface KeyState {
  refs: number
  released: boolean
}

const keyStates = new WeakMap<SshKeys, KeyState>()
const running = new Set<ChildProcess>()

// A test runner that dies mid-test must not leave sshd listening: kill what is still running on exit.
process.once('exit', () => {
  for (const child of running) {
    try {
      if (child.pid !== undefined) process.kill(-child.pid, 'SIGKILL')
    } catch {
      // already gone
    }
  }
})

async function keygen(file: string, comment: string): Promise<void> {
  await execFileP('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', comment, '-f', file])
}

function stripComment(publicKeyLine: string): string {
  return publicKeyLine.trim().split(/\s+/).slice(0, 2).join(' ')
}

/**
 * Generates an ed25519 host key and client key in a new temp dir (or `dir`). The client key is what
 * `sshRun` passes with `-i`; every server started with these keys authorises it.
 */
export async function createSshKeys(dir?: string): Promise<SshKeys> {
  const keyDir = dir ?? (await mkdtemp(path.join(os.tmpdir(), 'ona-ssh-keys-')))
  mkdirSync(keyDir, {recursive: true, mode: 0o700})
  const hostKeyPath = path.join(keyDir, 'ssh_host_ed25519_key')
  const clientKeyPath = path.join(keyDir, 'id_ed25519')
  await Promise.all([keygen(hostKeyPath, 'ona-test-host'), keygen(clientKeyPath, 'ona-test-client')])
  const [hostPub, clientPub] = await Promise.all([readFile(`${hostKeyPath}.pub`, 'utf8'), readFile(`${clientKeyPath}.pub`, 'utf8')])
  const state: KeyState = {refs: 0, released: false}
  const keys: SshKeys = {
    dir: keyDir,
    hostKeyPath,
    hostPublicKey: stripComment(hostPub),
    clientKeyPath,
    clientPublicKey: stripComment(clientPub),
    async release() {
      state.released = true
      if (state.refs === 0) await rm(keyDir, {recursive: true, force: true})
    },
  }
  keyStates.set(keys, state)
  return keys
}

/** A port that was free on `host` a moment ago (sshd start-up retries if another process takes it first). */
export async function freePort(host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer()
    server.once('error', reject)
    server.listen(0, host, () => {
      const address = server.address()
      server.close(() => {
        if (address && typeof address === 'object') resolve(address.port)
        else reject(new Error('no port assigned'))
      })
    })
  })
}

function isRoot(): boolean {
  return typeof process.getuid === 'function' && process.getuid() === 0
}

/**
 * sshd refuses to start as root without its privilege-separation dir; unprivileged it runs without
 * privilege separation and never looks there, so only root needs (and can create) it.
 */
function ensurePrivsepDir(): void {
  if (!isRoot()) return
  if (!existsSync('/run/sshd')) mkdirSync('/run/sshd', {recursive: true, mode: 0o755})
}

function sshdConfig(options: {host: string; port: number; keys: SshKeys; dir: string; extra: string[]; authorizedKeysFile: string}): string {
  const lines = [
    `ListenAddress ${options.host}:${options.port}`,
    `HostKey ${options.keys.hostKeyPath}`,
    `AuthorizedKeysFile ${options.authorizedKeysFile}`,
    `PidFile ${path.join(options.dir, 'sshd.pid')}`,
    // Temp dirs and CI checkouts have whatever modes they have; the test must not depend on them.
    'StrictModes no',
    'UsePAM no',
    `PermitRootLogin ${isRoot() ? 'yes' : 'no'}`,
    `AllowUsers ${os.userInfo().username}`,
    'PubkeyAuthentication yes',
    'AuthenticationMethods publickey',
    'PasswordAuthentication no',
    'KbdInteractiveAuthentication no',
    // No reverse lookups: a loopback test must never wait on DNS.
    'UseDNS no',
    'PrintMotd no',
    'PrintLastLog no',
    'X11Forwarding no',
    'LoginGraceTime 20',
    'MaxStartups 50:30:100',
    'LogLevel VERBOSE',
    ...options.extra,
  ]
  return `${lines.join('\n')}\n`
}

/**
 * Ready when this sshd says it listens on host:port (its log) and that address accepts TCP. The log line
 * matters: another process that took the port between freePort() and sshd's bind would accept the probe
 * too, while this sshd exits with "Bind to port ... failed"; a test would then talk to a stranger.
 */
async function waitForTcp(host: string, port: number, child: ChildProcess, deadline: number, logPath: string): Promise<void> {
  const listening = `Server listening on ${host} port ${port}.`
  for (let attempt = 0; attempt < 400; attempt++) {
    if (child.exitCode !== null || child.signalCode !== null) throw new Error(`sshd exited (${child.exitCode ?? child.signalCode}) before it listened`)
    if (!(await readFile(logPath, 'utf8').catch(() => '')).includes(listening)) {
      if (Date.now() > deadline) throw new Error(`sshd did not report listening on ${host}:${port} in time`)
      await new Promise((r) => setTimeout(r, 25))
      continue
    }
    const ok = await new Promise<boolean>((resolve) => {
      const socket = net.connect({host, port})
      const done = (result: boolean) => {
        socket.destroy()
        resolve(result)
      }
      socket.once('connect', () => done(true))
      socket.once('error', () => done(false))
      socket.setTimeout(1000, () => done(false))
    })
    if (ok) return
    if (Date.now() > deadline) throw new Error(`sshd did not accept TCP on ${host}:${port} in time`)
    await new Promise((r) => setTimeout(r, 25))
  }
  throw new Error(`sshd did not accept TCP on ${host}:${port}`)
}

function waitForExit(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve()
  return new Promise((resolve) => child.once('exit', () => resolve()))
}

/**
 * Starts a real sshd in the foreground (`-D -e`) as the current user on `host`:`port`, authorising the
 * client key of `keys`, and resolves once it accepts TCP. Throws with sshd's log if it cannot start.
 */
export async function startSshd(options: StartSshdOptions = {}): Promise<Sshd> {
  return launch(options, options.keys === undefined)
}

async function launch(options: StartSshdOptions, ownsKeys: boolean): Promise<Sshd> {
  const host = options.host ?? '127.0.0.1'
  if (!net.isIPv4(host) || !host.startsWith('127.')) throw new Error(`startSshd binds loopback only, got ${host}`)
  if (!existsSync(SSHD_PATH)) throw new Error(`${SSHD_PATH} not found: install openssh-server (.ci/run does)`)
  ensurePrivsepDir()

  const keys = options.keys ?? (await createSshKeys())
  const state = keyStates.get(keys)
  if (!state) throw new Error('keys must come from createSshKeys()')
  if (state.released) throw new Error('these keys were already released')
  state.refs++

  const dir = await mkdtemp(path.join(os.tmpdir(), 'ona-sshd-'))
  const configPath = path.join(dir, 'sshd_config')
  const logPath = path.join(dir, 'sshd.log')
  const authorized = options.authorizedKeys ?? [keys.clientPublicKey]
  const authorizedKeysFile = options.authorizedKeysFile ?? path.join(dir, 'authorized_keys')
  if (options.authorizedKeysFile === undefined) await writeFile(authorizedKeysFile, authorized.map((line) => `${line}\n`).join(''), {mode: 0o600})

  const readyTimeoutMs = options.readyTimeoutMs ?? 10_000
  let lastError: unknown
  // A fixed port is tried once; a picked one is retried, since another process may grab it between pick and bind.
  const attempts = options.port === undefined ? 5 : 1
  for (let attempt = 0; attempt < attempts; attempt++) {
    const port = options.port ?? (await freePort(host))
    await writeFile(configPath, sshdConfig({host, port, keys, dir, extra: options.extraConfig ?? [], authorizedKeysFile}), {mode: 0o600})
    await chmod(configPath, 0o600)
    const logFd = openSync(logPath, 'a')
    // Own process group: stop() kills the listener and the per-connection children it forked.
    const child = spawn(SSHD_PATH, ['-D', '-e', '-f', configPath], {stdio: ['ignore', logFd, logFd], detached: true})
    closeSync(logFd)
    running.add(child)
    child.once('exit', () => running.delete(child))
    try {
      await waitForTcp(host, port, child, Date.now() + readyTimeoutMs, logPath)
    } catch (error) {
      lastError = error
      await killGroup(child)
      continue
    }
    return makeSshd({host, port, keys, dir, configPath, logPath, child, ownsKeys, state, extraConfig: options.extraConfig ?? [], authorizedKeys: options.authorizedKeys, authorizedKeysFile: options.authorizedKeysFile})
  }
  const log = await readFile(logPath, 'utf8').catch(() => '')
  state.refs--
  if (ownsKeys) await keys.release()
  await rm(dir, {recursive: true, force: true})
  throw new Error(`could not start sshd on ${host}: ${String(lastError)}\n--- sshd log ---\n${log}`)
}

async function killGroup(child: ChildProcess): Promise<void> {
  if (child.exitCode === null && child.signalCode === null && child.pid !== undefined) {
    try {
      process.kill(-child.pid, 'SIGTERM')
    } catch {
      child.kill('SIGTERM')
    }
    const exited = waitForExit(child)
    const timer = setTimeout(() => {
      try {
        process.kill(-child.pid!, 'SIGKILL')
      } catch {
        // gone
      }
    }, 3000)
    await exited
    clearTimeout(timer)
  }
  running.delete(child)
}

function makeSshd(parts: {
  host: string
  port: number
  keys: SshKeys
  dir: string
  configPath: string
  logPath: string
  child: ChildProcess
  ownsKeys: boolean
  state: KeyState
  extraConfig: string[]
  authorizedKeys: string[] | undefined
  authorizedKeysFile: string | undefined
}): Sshd {
  let stopped = false
  const sshd: Sshd = {
    host: parts.host,
    port: parts.port,
    user: os.userInfo().username,
    hostKeyPath: parts.keys.hostKeyPath,
    hostPublicKey: parts.keys.hostPublicKey,
    clientKeyPath: parts.keys.clientKeyPath,
    keys: parts.keys,
    dir: parts.dir,
    configPath: parts.configPath,
    logPath: parts.logPath,
    log: () => readFile(parts.logPath, 'utf8').catch(() => ''),
    async stop() {
      if (stopped) return
      stopped = true
      await killGroup(parts.child)
      parts.state.refs--
      await rm(parts.dir, {recursive: true, force: true})
      if (parts.ownsKeys) await parts.keys.release()
      else if (parts.state.released && parts.state.refs === 0) await rm(parts.keys.dir, {recursive: true, force: true})
    },
    async restart(options = {}) {
      // Hold the keys across the gap so stopping this server does not delete them.
      parts.state.refs++
      try {
        await killGroup(parts.child)
        stopped = true
        parts.state.refs--
        await rm(parts.dir, {recursive: true, force: true})
        // The new server inherits ownership: if this one generated the keys, the new one deletes them on stop().
        return await launch(
          {host: options.host ?? parts.host, port: options.port, keys: parts.keys, extraConfig: parts.extraConfig, authorizedKeys: parts.authorizedKeys, authorizedKeysFile: parts.authorizedKeysFile},
          parts.ownsKeys,
        )
      } finally {
        parts.state.refs--
      }
    },
  }
  return sshd
}
