/**
 * The package as a user gets it: `.ci/pack-install` packed this checkout (prepack builds dist/) and ran
 * `npm install -g` into an empty prefix; ONA_INSTALLED_PREFIX names that prefix. Every command runs from
 * <prefix>/bin/ona, against the simulator on 127.0.0.1, from a working directory outside the repository,
 * so nothing can come from the checkout. CI always sets the variable (a failed pack or install then fails
 * here); elsewhere run `.ci/pack-install /tmp/p && ONA_INSTALLED_PREFIX=/tmp/p npx vitest run <this file>`.
 */
import {existsSync, readFileSync, readdirSync, statSync} from 'node:fs'
import {mkdir, mkdtemp, readFile, rm, writeFile} from 'node:fs/promises'
import net from 'node:net'
import os from 'node:os'
import path from 'node:path'

import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {startSimulator, type Simulator} from '../../src/lib/simulator/server.js'
import {startDns} from '../helpers/preflight-net.js'
import {baseEnv, repoRoot, runCommand} from '../helpers/run-cli.js'

const prefix = process.env.ONA_INSTALLED_PREFIX
const A = '0199ec15-59d3-7e92-8e22-8cb6c7ba4df7'

if (!prefix) console.warn('installed.test.ts skipped: ONA_INSTALLED_PREFIX is not set (run .ci/pack-install <prefix> first; CI does)')

describe.skipIf(!prefix)('the installed package (npm pack + npm install -g into an empty prefix)', () => {
  const bin = path.join(prefix ?? '', 'bin', 'ona')
  const pkgDir = path.join(prefix ?? '', 'lib', 'node_modules', 'ona-ssh')
  let home: string
  let sim: Simulator
  let env: NodeJS.ProcessEnv

  beforeAll(async () => {
    home = await mkdtemp(path.join(os.tmpdir(), 'ona-installed-'))
    await mkdir(path.join(home, '.ssh'), {mode: 0o700})
    sim = await startSimulator({seed: path.join(repoRoot, 'fixtures', 'environments.json')})
    // The project's Node first (the bin's `#!/usr/bin/env node` finds it), then the prefix's bin.
    env = baseEnv(home, {
      PATH: [path.dirname(process.execPath), path.join(prefix ?? '', 'bin'), process.env.PATH ?? '/usr/bin:/bin'].join(path.delimiter),
      ONA_API_URL: sim.url,
      ONA_KEYRING: 'off',
    })
  })
  afterAll(async () => {
    await sim?.close()
    if (home) await rm(home, {recursive: true, force: true})
  })

  const ona = (args: string[], input?: string) => runCommand(bin, args, {env, cwd: home, timeoutMs: 60_000, ...(input === undefined ? {} : {input})})

  it('installed a bin and a package holding the build, the LICENSE, and no source maps, sources or simulator', () => {
    expect(existsSync(bin)).toBe(true)
    const files: string[] = []
    const walk = (dir: string) => {
      for (const name of readdirSync(dir)) {
        const full = path.join(dir, name)
        if (name === 'node_modules') continue
        if (statSync(full).isDirectory()) walk(full)
        else files.push(path.relative(pkgDir, full))
      }
    }
    walk(pkgDir)
    expect(files).toContain('LICENSE')
    expect(readFileSync(path.join(pkgDir, 'LICENSE'), 'utf8')).toMatch(/^MIT License/)
    expect(files).toContain('oclif.manifest.json')
    expect(files).toContain(path.join('dist', 'commands', 'ssh-sync.js'))
    expect(files).toContain(path.join('dist', 'help-cache.json'))
    expect(files.filter((f) => f.endsWith('.map'))).toEqual([])
    expect(files.filter((f) => f.startsWith('src') || f.startsWith('test') || f.startsWith('scripts') || f.includes('simulator'))).toEqual([])
    // No dangling source-map comment: the build does not emit maps at all.
    expect(readFileSync(path.join(pkgDir, 'dist', 'commands', 'ssh-sync.js'), 'utf8')).not.toContain('sourceMappingURL')
  })

  it('answers --version and help for every command in its manifest', async () => {
    const version = await ona(['--version'])
    expect(version.stdout).toBe(`ona-ssh/${JSON.parse(readFileSync(path.join(repoRoot, 'package.json'), 'utf8')).version} ${process.platform}-${process.arch} node-${process.version}\n`)
    const manifest = JSON.parse(readFileSync(path.join(pkgDir, 'oclif.manifest.json'), 'utf8')) as {commands: Record<string, {hidden?: boolean}>}
    const ids = Object.keys(manifest.commands)
    expect(ids).toEqual(expect.arrayContaining(['login', 'logout', 'whoami', 'ssh-sync', 'ssh', 'preflight']))
    for (const id of ids) {
      const help = await ona([...id.split(':'), '--help'])
      expect({id, code: help.code, stderr: help.stderr}).toEqual({id, code: 0, stderr: ''})
      expect(help.stdout).toContain('USAGE')
    }
  })

  it('logs in, syncs, checks, connects through real ssh, runs a preflight, and logs out', async () => {
    const login = await ona(['login', '--token-stdin'], sim.token)
    expect(login.stderr).toContain('Logged in to http://127.0.0.1:')
    expect(login.code).toBe(0)

    const whoami = await ona(['whoami', '--json'])
    expect(whoami.code).toBe(0)
    expect(JSON.parse(whoami.stdout)).toMatchObject({tokenSource: 'file', principal: 'PRINCIPAL_USER'})

    const sync = await ona(['ssh-sync'])
    expect(sync.stderr).not.toMatch(/error:/)
    expect(sync.code).toBe(0)
    expect(await readFile(path.join(home, '.ssh', 'config'), 'utf8')).toContain(`Host ${A}.gitpod.environment`)
    expect((await ona(['ssh-sync', '--check'])).code).toBe(0)

    // ona ssh checks that the environment's SSH address answers with an SSH banner before it runs ssh.
    const banner = net.createServer((socket) => socket.end('SSH-2.0-ona-test\r\n'))
    await new Promise<void>((resolve) => banner.listen(0, '127.0.0.11', () => resolve()))
    sim.setSshAddress(A, {host: '127.0.0.11', port: (banner.address() as net.AddressInfo).port, user: 'gitpod_devcontainer'})
    // Its DNS questions (the release endpoints) go to a local server that knows no name: nothing leaves loopback.
    const dns = await startDns({}, 'nxdomain')
    const ssh = await ona(['ssh', A, '--runner', 'enterprise', '--resolver', dns.server, '--', '-G'])
    await dns.close()
    await new Promise<void>((resolve) => banner.close(() => resolve()))
    expect(ssh.stderr).not.toMatch(/error:/)
    expect(ssh.code).toBe(0)
    expect(ssh.stdout).toMatch(/^hostname 127\.0\.0\.11$/m)

    await writeFile(path.join(home, '.config', 'ona', 'preflight.json'), JSON.stringify({endpoints: [{url: sim.url, purpose: 'the simulator'}]}))
    const preflight = await ona(['preflight', '--only', 'custom', '--timeout', '3s', '--json'])
    expect(preflight.code).toBe(0)
    expect(JSON.parse(preflight.stdout)).toMatchObject({exitCode: 0})

    expect((await ona(['ssh-sync', '--remove'])).code).toBe(0)
    expect(await readFile(path.join(home, '.ssh', 'config'), 'utf8')).not.toContain('gitpod.environment')
    const logout = await ona(['logout'])
    expect(logout.code).toBe(0)
    expect(logout.stderr).toContain('Logged out of http://127.0.0.1:')
  })

  it('installs `ona-ssh` beside `ona`, the same CLI; what it writes names its own files by absolute path, not a command name', async () => {
    const onaSsh = path.join(prefix ?? '', 'bin', 'ona-ssh')
    expect(existsSync(onaSsh)).toBe(true)
    const own = await mkdtemp(path.join(os.tmpdir(), 'ona-installed-ona-ssh-'))
    try {
      const ownEnv = {...env, HOME: own, ONA_TOKEN: sim.token}
      const run = (args: string[]) => runCommand(onaSsh, args, {env: ownEnv, cwd: own, timeoutMs: 60_000})
      expect((await run(['--version'])).stdout).toBe((await ona(['--version'])).stdout)
      const sync = await run(['ssh-sync', '--resolve-on-connect'])
      expect(sync.code, sync.stderr).toBe(0)
      const config = await readFile(path.join(own, '.ssh', 'config'), 'utf8')
      const proxy = config.split('\n').find((l) => l.trim().startsWith('ProxyCommand'))!
      const launcher = (await import('node:fs')).realpathSync(path.join(pkgDir, 'bin', 'run.js'))
      expect([launcher, path.join(pkgDir, 'bin', 'run.js')].some((p) => proxy.includes(p)), proxy).toBe(true)
      expect(proxy.trim().split(/\s+/)[1]).toBe(process.execPath)
      expect(proxy).not.toMatch(/\bona-ssh\s|[\s/]ona\s/)
    } finally {
      await rm(own, {recursive: true, force: true})
    }
  })
})
