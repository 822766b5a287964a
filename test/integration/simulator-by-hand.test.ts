/**
 * The README's "Try it by hand" walk, as a newcomer runs it: `npm run simulator -- --sshd` (the built
 * dist/lib/simulator/main.js) with a real local sshd, `ona login` and `ona ssh <name>` in a scratch HOME,
 * ending in a shell on that sshd. Also the simulator's own help, and ona's hint when a first connection
 * without a terminal ends in "Host key verification failed.".
 */
import {spawn, type ChildProcessWithoutNullStreams} from 'node:child_process'
import {mkdir, mkdtemp, readFile, rm, writeFile} from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'

import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {sshdInstalled} from '../../src/lib/simulator/sshd.js'
import {startDns, type Closable} from '../helpers/preflight-net.js'
import {baseEnv, builtCli, repoRoot, runCli, runCommand} from '../helpers/run-cli.js'

const main = path.join(repoRoot, 'dist', 'lib', 'simulator', 'main.js')

describe.skipIf(!builtCli)('npm run simulator: help', () => {
  it('answers --help (and -h, help) with its options and commands, without starting a server', async () => {
    const forms = await Promise.all([['--help'], ['-h'], ['help']].map((args) => runCommand(process.execPath, [main, ...args], {env: baseEnv(os.tmpdir())})))
    for (const form of forms) {
      expect(form.code).toBe(0)
      expect(form.stdout).toBe(forms[0]!.stdout)
    }
    expect(forms[0]!.stdout).toMatch(/^usage: npm run simulator -- /)
    expect(forms[0]!.stdout).toContain('--sshd')
    expect(forms[0]!.stdout).toContain('ip <env-id> <host> [port]')
    expect(forms[0]!.stdout).not.toContain('listening')
  })

  it('refuses an unknown option with a hint (exit 2)', async () => {
    const result = await runCommand(process.execPath, [main, '--bogus'], {env: baseEnv(os.tmpdir())})
    expect(result.code).toBe(2)
    expect(result.stderr).toBe('error: unknown option --bogus\nhint: npm run simulator -- --help lists the options.\n')
  })
})

describe.skipIf(!builtCli || !sshdInstalled())('the by-hand walk against `npm run simulator -- --sshd`', () => {
  let simulator: ChildProcessWithoutNullStreams
  let out = ''
  let home: string
  let env: NodeJS.ProcessEnv
  let token: string
  /** ona ssh checks the public release endpoints too: its DNS questions go to this server, which knows no name (a warning). */
  let dns: Closable & {server: string}

  /** Waits for `pattern` in the simulator's stdout (from `from` on). */
  async function waitFor(pattern: RegExp, from = 0): Promise<RegExpExecArray> {
    const deadline = Date.now() + 20_000
    for (;;) {
      const match = pattern.exec(out.slice(from))
      if (match) return match
      if (Date.now() > deadline) throw new Error(`simulator never printed ${pattern}; it printed:\n${out}`)
      await new Promise((resolve) => setTimeout(resolve, 20))
    }
  }

  beforeAll(async () => {
    simulator = spawn(process.execPath, [main, '--port', '0', '--sshd'], {cwd: repoRoot, stdio: ['pipe', 'pipe', 'pipe']})
    simulator.stdout.setEncoding('utf8').on('data', (chunk: string) => (out += chunk))
    simulator.stderr.setEncoding('utf8').on('data', (chunk: string) => (out += chunk))
    const url = (await waitFor(/simulator listening on (\S+)\n/))[1]!
    token = (await waitFor(/token: (\S+)\n/))[1]!
    await waitFor(/sshd listening on 127\.0\.0\.1:\d+/)
    // The README's scratch HOME: what ona and ssh write stays in it, known_hosts included.
    home = await mkdtemp(path.join(os.tmpdir(), 'ona-by-hand-'))
    await mkdir(path.join(home, '.ssh'), {mode: 0o700})
    await writeFile(path.join(home, '.ssh', 'config'), `UserKnownHostsFile ${path.join(home, '.ssh', 'known_hosts')}\n`, {mode: 0o600})
    env = baseEnv(home, {ONA_API_URL: url, ONA_KEYRING: 'off'})
    dns = await startDns({}, 'nxdomain')
  }, 60_000)

  afterAll(async () => {
    if (simulator && simulator.exitCode === null) {
      const exited = new Promise((resolve) => simulator.once('exit', resolve))
      simulator.kill('SIGTERM')
      await exited
    }
    if (home) await rm(home, {recursive: true, force: true})
    await dns?.close()
  })

  it('lists its commands on `help`', async () => {
    const from = out.length
    simulator.stdin.write('help\n')
    await waitFor(/commands \(type them here while it runs\):\n[\s\S]*help {2,}this list\n/, from)
  })

  it('logs in, then `ona ssh <name>` without a terminal says what to do about the unknown host key', async () => {
    const login = await runCli(['login', '--token-stdin'], {env, input: token})
    expect(login.code).toBe(0)
    // BatchMode: ssh may not ask, as with no terminal at all.
    const result = await runCli(['ssh', 'api-backend', '--runner', 'enterprise', '--resolver', dns.server, '--', '-o', 'BatchMode=yes', 'echo never'], {env, timeoutMs: 60_000})
    expect(result.code).toBe(255)
    expect(result.stderr).toContain('Host key verification failed.')
    expect(result.stderr).toContain(
      'hint: ssh has not seen the host key of 0199ec15-59d3-7e92-8e22-8cb6c7ba4df7.gitpod.environment yet and, with no terminal, could not ask you to confirm it. Run `ona ssh api-backend` once on a terminal and answer yes',
    )
  }, 60_000)

  it('ends in a shell: `ona ssh api-backend` logs in on the local sshd with the key ona registered', async () => {
    const result = await runCli(['ssh', 'api-backend', '--runner', 'enterprise', '--resolver', dns.server, '--', '-o', 'StrictHostKeyChecking=accept-new', '-o', 'BatchMode=yes', 'echo shell-$((6*7))'], {env, timeoutMs: 60_000})
    expect(result.stderr).not.toMatch(/error:|Permission denied/)
    expect(result.code).toBe(0)
    expect(result.stdout.trim()).toBe('shell-42')
    // The host key went to the scratch HOME's known_hosts, under the alias (HostKeyAlias).
    expect(await readFile(path.join(home, '.ssh', 'known_hosts'), 'utf8')).toContain('0199ec15-59d3-7e92-8e22-8cb6c7ba4df7.gitpod.environment ')
    // A stopped environment is started and comes up on the same sshd.
    const stopped = await runCli(['ssh', 'old-experiment', '--runner', 'enterprise', '--resolver', dns.server, '--', '-o', 'StrictHostKeyChecking=accept-new', '-o', 'BatchMode=yes', 'echo woke-$((6*7))'], {env, timeoutMs: 60_000})
    expect(stopped.stderr).toMatch(/ona: old-experiment \(0199ec15-c3d8\): starting/)
    expect(stopped.code).toBe(0)
    expect(stopped.stdout.trim()).toBe('woke-42')
  }, 120_000)
})
