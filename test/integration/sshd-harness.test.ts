/**
 * Proves the real-OpenSSH harness the end-to-end suites stand on: a real sshd, a real ssh, and the
 * host-key behaviour that `ona`'s HostKeyAlias design depends on (and its failure without it).
 */
import {mkdtemp, readFile, rm, writeFile} from 'node:fs/promises'
import net from 'node:net'
import os from 'node:os'
import path from 'node:path'
import {afterAll, afterEach, beforeAll, describe, expect, it} from 'vitest'

import {sshG, sshRun} from '../helpers/ssh.js'
import {createSshKeys, startSshd, type Sshd, type SshKeys} from '../helpers/sshd.js'

let work: string
const started: Sshd[] = []

async function start(options: Parameters<typeof startSshd>[0]): Promise<Sshd> {
  const sshd = await startSshd(options)
  started.push(sshd)
  return sshd
}

async function writeConfig(name: string, lines: string[]): Promise<string> {
  const file = path.join(work, name)
  await writeFile(file, `${lines.join('\n')}\n`, {mode: 0o600})
  return file
}

function hostBlock(alias: string, sshd: Sshd, extra: string[] = []): string[] {
  return [`Host ${alias}`, `  HostName ${sshd.host}`, `  Port ${sshd.port}`, `  User ${sshd.user}`, ...extra.map((line) => `  ${line}`)]
}

function tcpRefused(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({host, port})
    socket.once('connect', () => {
      socket.destroy()
      resolve(false)
    })
    socket.once('error', () => resolve(true))
  })
}

beforeAll(async () => {
  work = await mkdtemp(path.join(os.tmpdir(), 'ona-sshd-harness-'))
})

afterEach(async () => {
  await Promise.all(started.splice(0).map((sshd) => sshd.stop()))
})

afterAll(async () => {
  await rm(work, {recursive: true, force: true})
})

describe('real sshd harness', () => {
  it('runs a command over a real ssh connection through a config alias', async () => {
    const sshd = await start({host: '127.0.0.2'})
    const config = await writeConfig('basic.conf', hostBlock('box', sshd))
    const result = await sshRun(config, 'box', 'echo ok', {clientKeyPath: sshd.clientKeyPath, knownHostsPath: path.join(work, 'kh-basic')})
    expect(result.stderr).not.toMatch(/Permission denied|Connection refused/)
    expect(result).toMatchObject({code: 0, stdout: 'ok\n', timedOut: false})
    // accept-new recorded the server's own host key under [host]:port.
    const knownHosts = await readFile(path.join(work, 'kh-basic'), 'utf8')
    expect(knownHosts).toContain(`[${sshd.host}]:${sshd.port} ${sshd.hostPublicKey}`)
  })

  it('refuses a client key the server did not authorise', async () => {
    const sshd = await start({host: '127.0.0.2'})
    const stranger = await createSshKeys()
    try {
      const config = await writeConfig('stranger.conf', hostBlock('box', sshd))
      const result = await sshRun(config, 'box', 'echo ok', {clientKeyPath: stranger.clientKeyPath, knownHostsPath: path.join(work, 'kh-stranger')})
      expect(result.code).toBe(255)
      expect(result.stdout).toBe('')
      expect(result.stderr).toContain('Permission denied')
    } finally {
      await stranger.release()
    }
  })

  describe('an environment that moves to another loopback address with the same host key', () => {
    let keys: SshKeys

    beforeAll(async () => {
      keys = await createSshKeys()
    })

    afterAll(async () => {
      await keys.release()
    })

    it('stays trusted under a HostKeyAlias: strict checking passes with no changed-key warning', async () => {
      const knownHosts = path.join(work, 'kh-alias')
      const first = await start({host: '127.0.0.2', keys})
      const config = path.join(work, 'alias.conf')
      await writeFile(config, `${hostBlock('env1', first, ['HostKeyAlias env1.ona-test']).join('\n')}\n`)
      const accepted = await sshRun(config, 'env1', 'echo first', {clientKeyPath: keys.clientKeyPath, knownHostsPath: knownHosts, strictHostKeyChecking: 'accept-new'})
      expect(accepted).toMatchObject({code: 0, stdout: 'first\n'})
      // The key is recorded under the alias, with no address or port, so a new address does not matter.
      expect((await readFile(knownHosts, 'utf8')).trim()).toBe(`env1.ona-test ${keys.hostPublicKey}`)

      const moved = await start({host: '127.0.0.3', keys})
      await first.stop()
      expect(await tcpRefused(first.host, first.port)).toBe(true)
      await writeFile(config, `${hostBlock('env1', moved, ['HostKeyAlias env1.ona-test']).join('\n')}\n`)

      const again = await sshRun(config, 'env1', 'echo moved', {clientKeyPath: keys.clientKeyPath, knownHostsPath: knownHosts, strictHostKeyChecking: 'yes'})
      expect(again.stderr).not.toContain('REMOTE HOST IDENTIFICATION HAS CHANGED')
      expect(again.stderr).not.toContain('Host key verification failed')
      expect(again).toMatchObject({code: 0, stdout: 'moved\n'})
    })

    it('without HostKeyAlias the new address is an unknown host and strict BatchMode ssh fails', async () => {
      const knownHosts = path.join(work, 'kh-noalias')
      const first = await start({host: '127.0.0.2', keys})
      const config = path.join(work, 'noalias.conf')
      await writeFile(config, `${hostBlock('env1', first).join('\n')}\n`)
      const accepted = await sshRun(config, 'env1', 'echo first', {clientKeyPath: keys.clientKeyPath, knownHostsPath: knownHosts})
      expect(accepted).toMatchObject({code: 0, stdout: 'first\n'})

      const moved = await first.restart({host: '127.0.0.3'})
      started.push(moved)
      expect(moved.hostPublicKey).toBe(first.hostPublicKey)
      await writeFile(config, `${hostBlock('env1', moved).join('\n')}\n`)

      const again = await sshRun(config, 'env1', 'echo moved', {clientKeyPath: keys.clientKeyPath, knownHostsPath: knownHosts, strictHostKeyChecking: 'yes'})
      expect(again.code).toBe(255)
      expect(again.stdout).toBe('')
      expect(again.stderr).toContain('Host key verification failed')
      expect(again.stderr).toContain(`[${moved.host}]:${moved.port}`)
    })

    it('under the same HostKeyAlias, a server with a different host key is reported as changed and refused', async () => {
      const knownHosts = path.join(work, 'kh-impostor')
      const genuine = await start({host: '127.0.0.2', keys})
      const config = path.join(work, 'impostor.conf')
      await writeFile(config, `${hostBlock('env1', genuine, ['HostKeyAlias env1.ona-test']).join('\n')}\n`)
      expect(await sshRun(config, 'env1', 'true', {clientKeyPath: keys.clientKeyPath, knownHostsPath: knownHosts})).toMatchObject({code: 0})

      // Same client key authorised, different host key: only the host key differs.
      const impostorKeys = await createSshKeys()
      try {
        const impostor = await start({host: '127.0.0.4', keys: impostorKeys, authorizedKeys: [keys.clientPublicKey]})
        await writeFile(config, `${hostBlock('env1', impostor, ['HostKeyAlias env1.ona-test']).join('\n')}\n`)
        const result = await sshRun(config, 'env1', 'echo should-not-run', {clientKeyPath: keys.clientKeyPath, knownHostsPath: knownHosts, strictHostKeyChecking: 'yes'})
        expect(result.code).toBe(255)
        expect(result.stdout).toBe('')
        expect(result.stderr).toContain('REMOTE HOST IDENTIFICATION HAS CHANGED')
      } finally {
        await Promise.all(started.splice(0).map((sshd) => sshd.stop()))
        await impostorKeys.release()
      }
    })
  })

  it('restart() moves the server: the old address refuses, the new one serves the same host key', async () => {
    const first = await start({host: '127.0.0.5'})
    const moved = await first.restart({host: '127.0.0.6'})
    started.push(moved)
    expect(moved.host).toBe('127.0.0.6')
    expect(moved.hostPublicKey).toBe(first.hostPublicKey)
    expect(await tcpRefused(first.host, first.port)).toBe(true)
    const config = await writeConfig('restart.conf', hostBlock('box', moved))
    const result = await sshRun(config, 'box', 'echo ok', {clientKeyPath: moved.clientKeyPath, knownHostsPath: path.join(work, 'kh-restart')})
    expect(result).toMatchObject({code: 0, stdout: 'ok\n'})
  })

  it('deletes generated keys and its temp dir once stopped', async () => {
    const sshd = await start({host: '127.0.0.2'})
    const moved = await sshd.restart({host: '127.0.0.3'})
    await expect(readFile(moved.hostKeyPath)).resolves.toBeInstanceOf(Buffer)
    await moved.stop()
    await expect(readFile(moved.hostKeyPath)).rejects.toThrow(/ENOENT/)
    await expect(readFile(moved.configPath)).rejects.toThrow(/ENOENT/)
  })
})

describe('sshG', () => {
  it('reports what OpenSSH resolves an alias to, with repeated keywords kept as arrays', async () => {
    const config = await writeConfig('g.conf', [
      'Host web',
      '  HostName 127.0.0.9',
      '  Port 2222',
      '  HostKeyAlias web.ona-test',
      '  IdentityFile /tmp/ona-a',
      '  IdentityFile /tmp/ona-b',
      '  LocalForward 8080 127.0.0.1:80',
    ])
    const result = await sshG(config, 'web')
    expect(result.code).toBe(0)
    expect(result.get('hostname')).toBe('127.0.0.9')
    expect(result.get('Port')).toBe('2222')
    expect(result.get('hostkeyalias')).toBe('web.ona-test')
    expect(result.all('identityfile')).toEqual(['/tmp/ona-a', '/tmp/ona-b'])
    expect(result.options.get('localforward')).toEqual(['8080 [127.0.0.1]:80'])
    expect(result.raw).toContain('hostname 127.0.0.9\n')
  })

  it('returns a non-zero code and ssh’s message for a broken config', async () => {
    const config = await writeConfig('bad.conf', ['Host web', '  HostName a b c'])
    const result = await sshG(config, 'web')
    expect(result.code).not.toBe(0)
    expect(result.stderr).toMatch(/bad\.conf line 2/)
  })
})
