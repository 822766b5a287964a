/**
 * A read-only ~/.ssh (Nix home-manager, a dotfiles directory mounted read-only): the built CLI runs in a
 * private mount namespace (`unshare -m`) where the scratch home's .ssh is a read-only bind mount, so writes
 * fail with EROFS as they would there, and nothing leaks into the machine's mounts. Needs root (mounting);
 * skipped with a message otherwise. A sync that changes nothing succeeds, `ona ssh` connects (real sshd),
 * and a sync that must change the file fails with the hint to keep the aliases in a writable file.
 */
import {spawnSync} from 'node:child_process'
import {mkdir, mkdtemp, readFile, rm, writeFile} from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'

import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {startSimulator, type Simulator} from '../../src/lib/simulator/server.js'
import {baseEnv, binRun, builtCli, runCli, runCommand} from '../helpers/run-cli.js'
import {startSshd, type Sshd} from '../helpers/sshd.js'

const ID = '0199ec15-59d3-7e92-8e22-8cb6c7ba4df7'
const ALIAS = `${ID}.gitpod.environment`
const MOUNT = 'mount --bind "$0" "$0" && mount -o remount,ro,bind "$0" "$0" && exec "$@"'

function mountsWork(): boolean {
  if (typeof process.getuid !== 'function' || process.getuid() !== 0) return false
  const probe = spawnSync('unshare', ['-m', '--propagation', 'private', 'sh', '-c', `${MOUNT}`, os.tmpdir(), 'true'], {stdio: 'ignore'})
  return probe.status === 0
}
const canMount = mountsWork()
if (!canMount) console.warn('read-only-config.test.ts skipped: needs root and `unshare -m` with mount (a read-only bind mount of the scratch ~/.ssh)')

let home: string
let sshd: Sshd
let sim: Simulator
let env: NodeJS.ProcessEnv

beforeAll(async () => {
  if (!canMount || !builtCli) return
  home = await mkdtemp(path.join(os.tmpdir(), 'ona-readonly-'))
  await mkdir(path.join(home, '.ssh'), {mode: 0o700})
  await writeFile(path.join(home, '.ssh', 'config'), 'Host *\n  ServerAliveInterval 30\n', {mode: 0o600})
  const authorized = path.join(home, 'authorized_keys')
  sshd = await startSshd({host: '127.0.0.43', authorizedKeysFile: authorized})
  sim = await startSimulator({seed: [{id: ID, name: 'api', ssh: {user: sshd.user, host: sshd.host, port: sshd.port}}], delays: {keyReadyMs: 0}})
  sim.linkAuthorizedKeys(ID, authorized)
  await writeFile(path.join(home, '.ssh', 'known_hosts'), `${ALIAS} ${sshd.hostPublicKey}\n`)
  env = baseEnv(home, {ONA_API_URL: sim.url, ONA_TOKEN: sim.token, ONA_KEYRING: 'off'})
}, 60_000)

afterAll(async () => {
  await sim?.close()
  await sshd?.stop()
  if (home) await rm(home, {recursive: true, force: true})
})

/** `ona ...` with the scratch ~/.ssh mounted read-only for it (and only for it). */
const readOnly = (args: string[]) => runCommand('unshare', ['-m', '--propagation', 'private', 'sh', '-c', MOUNT, path.join(home, '.ssh'), process.execPath, binRun, ...args], {env, timeoutMs: 60_000})

describe.skipIf(!canMount || !builtCli)('a read-only ~/.ssh (read-only bind mount, real sshd)', () => {
  it('a sync that changes nothing succeeds without a lock or a write; `ona ssh` connects', async () => {
    expect((await runCli(['ssh-sync'], {env})).code).toBe(0)
    const before = await readFile(path.join(home, '.ssh', 'config'), 'utf8')
    // The mount really is read-only for the command.
    const touch = await runCommand('unshare', ['-m', '--propagation', 'private', 'sh', '-c', MOUNT, path.join(home, '.ssh'), 'touch', path.join(home, '.ssh', 'x')], {env})
    expect(touch.stderr).toMatch(/Read-only file system/)
    const sync = await readOnly(['ssh-sync'])
    expect(sync.stderr).toBe('')
    expect({code: sync.code, out: sync.stdout}).toEqual({code: 0, out: expect.stringContaining('is up to date')})
    expect((await readOnly(['ssh-sync', '--check'])).code).toBe(0)
    const strict = ['-o', 'BatchMode=yes', '-o', 'StrictHostKeyChecking=yes', '-o', `UserKnownHostsFile=${path.join(home, '.ssh', 'known_hosts')}`, '-o', 'GlobalKnownHostsFile=/dev/null', '-o', 'ConnectTimeout=10']
    const ssh = await readOnly(['ssh', 'api', '--skip-preflight', '--', ...strict, 'echo connected-$((6*7))'])
    expect(ssh.stdout.trim(), ssh.stderr).toBe('connected-42')
    expect(ssh.code).toBe(0)
    expect(await readFile(path.join(home, '.ssh', 'config'), 'utf8')).toBe(before)
  }, 60_000)

  it('a sync that must change the file fails with the hint: a writable --ssh-config plus an Include', async () => {
    sim.setSshAddress(ID, {host: '127.0.0.44', port: 2222, user: sshd.user})
    const sync = await readOnly(['ssh-sync'])
    expect(sync.code).toBe(1)
    expect(sync.stderr).toMatch(/^error: cannot write .*\(EROFS\)/m)
    expect(sync.stderr).toMatch(/^hint: .*read-only file system.*--ssh-config <writable file>.*Include <writable file>/m)
    expect(await readFile(path.join(home, '.ssh', 'config'), 'utf8')).not.toContain('127.0.0.44')
  }, 60_000)
})
