/**
 * `ona doctor` through the built CLI, against the simulator on 127.0.0.1 and a real sshd on loopback, with
 * the real `ssh -G`: a healthy setup (golden human and JSON output), the vendor CLI's and Coder's blocks
 * judged as `ona ssh-sync --check` judges them, the managed file chosen with `--ssh-config`, another `ona`
 * first on PATH, a rejected token, one environment named, the settings of every editor `ona ide setup`
 * knows, judged as it judges them, and the promise that it writes nothing.
 */
import {execFileSync} from 'node:child_process'
import {lstat, mkdir, mkdtemp, readdir, readFile, rm, symlink, writeFile} from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'

import {afterAll, afterEach, beforeAll, beforeEach, describe, expect, it} from 'vitest'

import {startSimulator, type Simulator} from '../../src/lib/simulator/server.js'
import type {DoctorReport} from '../../src/lib/doctor/types.js'
import {expectGolden, normalise} from '../helpers/golden.js'
import {startBlackHole} from '../helpers/preflight-net.js'
import {baseEnv, binRun, builtCli, runCli} from '../helpers/run-cli.js'
import {startSshd, type Sshd} from '../helpers/sshd.js'

const A = '0199ec15-59d3-7e92-8e22-8cb6c7ba4df7'
const B = '0199ec15-8a41-7c10-9d3b-2f6e1b7a9c02'
const ALIAS_A = `${A}.gitpod.environment`

let sshd: Sshd
let sim: Simulator
let home: string
let bin: string

beforeAll(async () => {
  sshd = await startSshd({host: '127.0.0.41'})
})
afterAll(async () => {
  await sshd?.stop()
})
beforeEach(async () => {
  home = await mkdtemp(path.join(os.tmpdir(), 'ona-doctor-'))
  await mkdir(path.join(home, '.ssh'), {mode: 0o700})
  await writeFile(path.join(home, '.ssh', 'config'), 'Host github.com\n  User git\n', {mode: 0o600})
  // `ona` on PATH is this one, as after `npm install -g ona-ssh` (a symlink to bin/run.js).
  bin = path.join(home, 'bin')
  await mkdir(bin)
  await symlink(binRun, path.join(bin, 'ona'))
  sim = await startSimulator({
    seed: [
      {id: A, name: 'api-backend', phase: 'ENVIRONMENT_PHASE_RUNNING', ssh: {user: sshd.user, host: sshd.host, port: sshd.port}},
      {id: B, name: 'web-frontend', phase: 'ENVIRONMENT_PHASE_STOPPED'},
    ],
    subject: {id: 'f53d2330-3795-4c5d-a1ce-8d2bba6c4b39', name: 'Dana Developer', organizationName: 'Acme Platform'},
    delays: {keyReadyMs: 0},
  })
})
afterEach(async () => {
  await sim.close()
  await rm(home, {recursive: true, force: true})
})

const env = (extra: Record<string, string> = {}) =>
  baseEnv(home, {PATH: `${bin}:${process.env.PATH}`, ONA_API_URL: sim.url, ONA_TOKEN: sim.token, ONA_KEYRING: 'off', ...extra})

const norm = (text: string) =>
  normalise(text, {dirs: [home], replace: [[sim.url, '<API>'], [sim.url.replace(/\/api$/, ''), '<ORIGIN>'], [`:${sshd.port}`, ':<SSHD>'], [binRun, '<ONA>'], [os.userInfo().homedir, '<ACCOUNT>']]})
    .replace(/SSH-2\.0-[^\n"]*/g, 'SSH-2.0-<SERVER>')
    .replace(/in \d+\.\d s$/m, 'in <N> s')
    .replace(/Node\.js v\d+\.\d+\.\d+/g, 'Node.js <NODE>')
    .replace(/"(durationMs)": \d+/g, '"$1": <N>')
    .replace(/"(node)": "v[\d.]+"/g, '"$1": "<NODE>"')
    .replace(/"(version)": "[\d.]+"/g, '"$1": "<VERSION>"')
    .replace(/ona \d+\.\d+\.\d+ on/g, 'ona <VERSION> on')

async function doctor(args: string[] = [], extra: Record<string, string> = {}) {
  const r = await runCli(['doctor', ...args], {env: env(extra), timeoutMs: 60_000})
  return r
}

async function json(args: string[] = [], extra: Record<string, string> = {}): Promise<{report: DoctorReport; code: number | null}> {
  const r = await doctor([...args, '--json'], extra)
  return {report: JSON.parse(r.stdout) as DoctorReport, code: r.code}
}

const find = (report: DoctorReport, id: string, environment?: string) => report.findings.filter((f) => f.id === id && (environment === undefined || f.environment === environment))

/**
 * The report (exit 1) with its one finding of another tool's block, which says what `ona ssh-sync --check`
 * says of it (file:line, the effect, the fix as its hint); ssh -G confirmed the block's lines, so none of
 * them is reported again on its own.
 */
async function onlyForeignBlock(): Promise<{report: DoctorReport; foreign: DoctorReport['findings'][number]}> {
  const {report, code} = await json()
  expect(code).toBe(1)
  const [foreign, ...more] = find(report, 'ssh.foreign-config')
  expect(more).toEqual([])
  expect(find(report, 'ssh.decides')).toEqual([])
  await expectSameAsCheck(foreign!)
  return {report, foreign: foreign!}
}

async function expectSameAsCheck(finding: DoctorReport['findings'][number]): Promise<void> {
  const check = await runCli(['ssh-sync', '--check', '--json'], {env: env()})
  expect(check.code).toBe(1)
  const warnings = (JSON.parse(check.stdout) as {warnings: Array<{code: string; message: string; file: string; line: number; fix: string}>}).warnings
  const same = warnings.filter((w) => w.code === 'W_FOREIGN_CONFIG' && w.file === finding.file && w.line === finding.line)
  expect(same).toHaveLength(1)
  const {message, fix} = same[0]!
  expect(message.endsWith(`; ${fix}`)).toBe(true)
  expect(finding.message).toBe(`${finding.file}:${finding.line}: ${message.slice(0, -(fix.length + 2))}`)
  expect(finding.hint).toBe(`${fix.charAt(0).toUpperCase()}${fix.slice(1)}.`)
}

/** Every file under `dir` with its bytes and mode (a missing dir is an empty map). */
async function snapshot(dir: string): Promise<Map<string, string>> {
  const out = new Map<string, string>()
  const walk = async (d: string) => {
    const entries = await readdir(d, {withFileTypes: true}).catch(() => [])
    for (const e of entries) {
      const p = path.join(d, e.name)
      const st = await lstat(p)
      if (e.isDirectory()) {
        out.set(p, `dir ${st.mode}`)
        await walk(p)
      } else out.set(p, `${st.mode} ${st.mtimeMs} ${e.isFile() ? (await readFile(p)).toString('base64') : 'other'}`)
    }
  }
  await walk(dir)
  return out
}

describe.skipIf(!builtCli)('ona doctor (built CLI, simulator, real sshd and ssh -G)', () => {
  it('a healthy setup: every step passes and the exit code is 0 (golden human and JSON output)', async () => {
    expect((await runCli(['ssh-sync'], {env: env()})).code).toBe(0)
    // The host key, known under its HostKeyAlias as after a first connection. ssh expands `~` with the
    // account's home, not $HOME: the scratch home's known_hosts is named by absolute path, after the block.
    const knownHosts = path.join(home, '.ssh', 'known_hosts')
    const config = path.join(home, '.ssh', 'config')
    await writeFile(config, `${await readFile(config, 'utf8')}\nHost *\n  UserKnownHostsFile ${knownHosts}\n`)
    const unknown = await json([A])
    expect(find(unknown.report, 'env.host-key', A)[0]!.message).toContain('not known yet')
    await writeFile(knownHosts, `${ALIAS_A} ${sshd.hostPublicKey}\n`)
    const human = await doctor()
    expect(human.code, human.stdout + human.stderr).toBe(0)
    expectGolden('output/doctor.txt', norm(`${human.stdout}[exit ${human.code}]\n`))
    const {report, code} = await json()
    expect(code).toBe(0)
    expect(report.verdict).not.toBe('fail')
    for (const id of ['ona.version', 'ona.path', 'auth.token', 'auth.user', 'api.tcp', 'ssh.managed', 'ssh.reads-managed', 'env.phase', 'env.address', 'env.key', 'env.tcp', 'env.banner', 'env.host-key']) {
      expect(find(report, id, id.startsWith('env.') ? A : undefined).map((f) => f.status), id).toEqual(['pass'])
    }
    expect(find(report, 'auth.user')[0]!.message).toContain('Dana Developer')
    expect(find(report, 'auth.user')[0]!.message).toContain('Acme Platform')
    expect(find(report, 'env.banner', A)[0]!.message).toMatch(/SSH-2\.0-OpenSSH/)
    expect(find(report, 'env.host-key', A)[0]!.message).toBe(`host key known as ${ALIAS_A}`)
    // The stopped environment is not probed unless named; its alias is not in the block.
    expect(report.findings.some((f) => f.environment === B)).toBe(false)
    expectGolden('output/doctor.json', norm(`${JSON.stringify(report, null, 2)}\n`))
  }, 60_000)

  it('writes nothing: the config dir, the state dir and ~/.ssh are byte-identical after, and no key is created', async () => {
    const dirs = [path.join(home, '.ssh'), path.join(home, '.config'), path.join(home, '.local', 'state')]
    await writeFile(path.join(home, '.ssh', 'config'), 'Host *\n  StrictHostKeyChecking accept-new\n', {mode: 0o644})
    const before = await Promise.all(dirs.map((d) => snapshot(d)))
    const r = await doctor([A])
    expect(r.code).toBe(1)
    expect(r.stdout).toContain('does not exist')
    const after = await Promise.all(dirs.map((d) => snapshot(d)))
    expect(after).toEqual(before)
    // After a sync (key, key id, settings and state present) a second run changes nothing either.
    expect((await runCli(['ssh-sync'], {env: env()})).code).toBe(0)
    const synced = await Promise.all(dirs.map((d) => snapshot(d)))
    expect(synced[1]!.size).toBeGreaterThan(0)
    await doctor()
    expect(await Promise.all(dirs.map((d) => snapshot(d)))).toEqual(synced)
  }, 60_000)

  it("the vendor CLI's block Included above ona's: one failure naming the tool, file:line, effect and fix, judged as `ona ssh-sync --check` judges it (golden)", async () => {
    expect((await runCli(['ssh-sync'], {env: env()})).code).toBe(0)
    const vendor = path.join(home, '.ssh', 'gitpod', 'config')
    await mkdir(path.dirname(vendor))
    await writeFile(vendor, [
      'Host *.gitpod.environment',
      '    User gitpod_devcontainer',
      '    ProxyCommand gitpod environment ssh %h --proxy-connect --user %r',
      '    StrictHostKeyChecking no',
      '    UserKnownHostsFile /dev/null',
      '    LogLevel ERROR',
      '',
    ].join('\n'))
    const config = path.join(home, '.ssh', 'config')
    await writeFile(config, `Include ${vendor}\n\n${await readFile(config, 'utf8')}`)
    const {report, foreign} = await onlyForeignBlock()
    expect(foreign).toMatchObject({status: 'fail', file: vendor, line: 1})
    expect(foreign.message).toContain("a block of the vendor's CLI")
    expect(foreign.message).toContain('User gitpod_devcontainer instead of ona\'s root; ssh connects through `gitpod environment ssh %h --proxy-connect --user %r`')
    expect(foreign.hint).toContain(`Remove \`Include ${vendor}\` (${config}:1)`)
    expect(find(report, 'env.host-key', A)[0]!.status).toBe('warn')
    const human = await doctor()
    expectGolden('output/doctor-vendor-cli.txt', norm(`${human.stdout}[exit ${human.code}]\n`))
  }, 60_000)

  it("Coder's block (its markers, `Host *`) above ona's: named as Coder's, where doctor's own recogniser named no tool for its lines", async () => {
    expect((await runCli(['ssh-sync'], {env: env()})).code).toBe(0)
    const config = path.join(home, '.ssh', 'config')
    const coder = [
      '# ------------START-CODER-----------',
      '# This section is managed by coder. DO NOT EDIT.',
      'Host *',
      '  ConnectTimeout=0',
      '  StrictHostKeyChecking=no',
      '  UserKnownHostsFile=/dev/null',
      '  LogLevel ERROR',
      '# ------------END-CODER------------',
      '',
    ].join('\n')
    await writeFile(config, `${coder}${await readFile(config, 'utf8')}`)
    const {foreign} = await onlyForeignBlock()
    expect(foreign).toMatchObject({status: 'fail', file: config, line: 3})
    expect(foreign.message).toContain('a block of Coder (`coder config-ssh`), `Host *`, decides how every ona alias (2) connect: host-key checking off (StrictHostKeyChecking no); host keys never kept (UserKnownHostsFile /dev/null)')
  }, 60_000)

  it('the managed file chosen before with `ona ssh-sync --ssh-config` is the one doctor checks, as plain sync and `ona ssh` use it', async () => {
    const conf = path.join(home, '.ssh', 'ona.conf')
    expect((await runCli(['ssh-sync', '--ssh-config', conf, '--add-include'], {env: env()})).code).toBe(0)
    const {report} = await json()
    expect(report.sshConfig).toBe(conf)
    expect(find(report, 'ssh.managed')[0]).toMatchObject({status: 'pass'})
    expect(find(report, 'ssh.managed')[0]!.message).toBe(`${conf} holds 1 alias of ${sim.url.replace(/\/api$/, '')} (block at line 1)`)
    expect(find(report, 'env.address', A)[0]).toMatchObject({status: 'pass'})
  }, 60_000)

  it('another program named `ona` first on PATH is a warning that says how to tell them apart; a copy of this one passes', async () => {
    const other = path.join(home, 'vendor-bin')
    await mkdir(other)
    await writeFile(path.join(other, 'ona'), '#!/bin/sh\necho "vendor ona"\n', {mode: 0o755})
    const onaSsh = path.join(home, 'ona-ssh-bin')
    await mkdir(onaSsh)
    await symlink(binRun, path.join(onaSsh, 'ona-ssh'))
    const {report} = await json([], {PATH: `${other}:${onaSsh}:${bin}:${process.env.PATH}`})
    const [finding] = find(report, 'ona.path')
    expect(finding!.status).toBe('warn')
    expect(finding!.message).toContain(path.join(other, 'ona'))
    expect(finding!.message).toContain('different program')
    expect(finding!.hint).toContain('ona-ssh')
    const mine = await json([], {PATH: `${bin}:${other}:${process.env.PATH}`})
    expect(find(mine.report, 'ona.path')[0]!.status).toBe('pass')
  }, 60_000)

  it('a rejected token fails with the login hint; no token at all fails naming the origin', async () => {
    const rejected = await json([], {ONA_TOKEN: 'ona_pat_wrong_wrong_wrong'})
    expect(rejected.code).toBe(1)
    const [user] = find(rejected.report, 'auth.user')
    expect(user!.status).toBe('fail')
    expect(user!.hint).toContain('ona login')
    const none = await json([], {ONA_TOKEN: ''})
    expect(none.code).toBe(1)
    expect(find(none.report, 'auth.token')[0]).toMatchObject({status: 'fail'})
    expect(find(none.report, 'auth.token')[0]!.message).toContain(sim.url.replace(/\/api$/, ''))
  }, 60_000)

  it('one environment named: only its findings; a stopped one says how to start it; an unknown name fails', async () => {
    expect((await runCli(['ssh-sync'], {env: env()})).code).toBe(0)
    const {report} = await json(['web-frontend'])
    expect(new Set(report.findings.filter((f) => f.environment).map((f) => f.environment))).toEqual(new Set([B]))
    expect(find(report, 'env.phase', B)[0]).toMatchObject({status: 'warn'})
    expect(find(report, 'env.phase', B)[0]!.hint).toContain(`ona ssh ${B}`)
    const unknown = await json(['no-such-env'])
    expect(unknown.code).toBe(1)
    expect(find(unknown.report, 'env.find')[0]).toMatchObject({status: 'fail'})
  }, 60_000)

  it("VS Code: a remote.SSH.configFile that does not read ona's block fails; no remotePlatform entry warns (settings with comments)", async () => {
    expect((await runCli(['ssh-sync'], {env: env()})).code).toBe(0)
    const settings = path.join(home, '.config', 'Code', 'User', 'settings.json')
    await mkdir(path.dirname(settings), {recursive: true})
    const other = path.join(home, '.ssh', 'vscode-only')
    await writeFile(other, 'Host box\n  HostName 10.0.0.1\n')
    await writeFile(settings, `{\n  // mine\n  "remote.SSH.configFile": "${other}",\n  "remote.SSH.connectTimeout": 30, /* s */\n}\n`)
    const {report} = await json()
    expect(find(report, 'vscode.config-file')[0]).toMatchObject({status: 'fail', file: settings})
    expect(find(report, 'vscode.config-file')[0]!.hint).toContain(`Include ${path.join(home, '.ssh', 'config')}`)
    expect(find(report, 'vscode.remote-platform')[0]).toMatchObject({status: 'warn'})
    expect(find(report, 'vscode.connect-timeout')[0]!.message).toContain('30 s')
    // The .gitpod.remote alias has no entry either: VS Code asks for it, and `ona ide setup` would add it.
    await writeFile(settings, `{"remote.SSH.configFile": "~/.ssh/config", "remote.SSH.remotePlatform": {"*.gitpod.environment": "linux"},}`)
    const half = await json()
    expect(find(half.report, 'vscode.config-file')[0]).toMatchObject({status: 'pass'})
    expect(find(half.report, 'vscode.remote-platform')[0]).toMatchObject({status: 'warn', message: `VS Code has no remote.SSH.remotePlatform entry for ${A}.gitpod.remote: it asks for the platform on every new host`})
    await writeFile(settings, `{"remote.SSH.configFile": "~/.ssh/config", "remote.SSH.remotePlatform": {"*.gitpod.environment": "linux", "*.gitpod.remote": "linux"},}`)
    const fixed = await json()
    expect(find(fixed.report, 'vscode.config-file')[0]).toMatchObject({status: 'pass'})
    expect(find(fixed.report, 'vscode.remote-platform')[0]).toMatchObject({status: 'pass'})
  }, 60_000)

  it('friendly aliases on: a `Host *.ona` line above the block that sends <name>.ona elsewhere is reported (tree check and ssh -G of the friendly alias); the editor check expects *.ona', async () => {
    expect((await runCli(['ssh-sync', '--friendly-aliases', '--ssh-option', 'ForwardAgent=yes'], {env: env()})).code).toBe(0)
    const config = path.join(home, '.ssh', 'config')
    expect(await readFile(config, 'utf8')).toContain(`${A}.gitpod.remote api-backend.ona\n`)
    await writeFile(config, `Host *.ona\n  HostName 10.9.9.9\n  ForwardAgent no\n\n${await readFile(config, 'utf8')}`)
    const settings = path.join(home, '.config', 'Code', 'User', 'settings.json')
    await mkdir(path.dirname(settings), {recursive: true})
    await writeFile(settings, `{"remote.SSH.remotePlatform": {"*.gitpod.environment": "linux", "*.gitpod.remote": "linux"}}`)
    const {report, code} = await json()
    expect(code).toBe(1)
    const shadowing = report.findings.filter((f) => f.file === config && f.line === 2)
    expect(shadowing.map((f) => f.message).join('\n')).toContain('api-backend.ona')
    expect(shadowing.map((f) => f.status)).toContain('fail')
    // Only ssh -G of the friendly alias sees this one (the tree check does not judge --ssh-option values).
    const decides = find(report, 'ssh.decides').filter((f) => f.file === config && f.line === 3)
    expect(decides).toHaveLength(1)
    expect(decides[0]!.message).toBe(`${config}:3: ssh will use ForwardAgent no for api-backend.ona, not yes as ona wrote`)
    expect(find(report, 'vscode.remote-platform')[0]).toMatchObject({status: 'warn', message: 'VS Code has no remote.SSH.remotePlatform entry for api-backend.ona: it asks for the platform on every new host'})
    expect(find(report, 'vscode.remote-platform')[0]!.hint).toContain('*.ona')
  }, 60_000)

  it('every editor `ona ide setup` knows is read as it reads it: Windsurf warns until `ona ide setup windsurf`, then passes; a platform it keeps fails; broken settings name their line', async () => {
    expect((await runCli(['ssh-sync', '--resolve-on-connect'], {env: env()})).code).toBe(0)
    const windsurf = path.join(home, '.config', 'Windsurf', 'User', 'settings.json')
    await mkdir(path.dirname(windsurf), {recursive: true})
    await writeFile(windsurf, '{\n  // mine\n  "editor.fontSize": 14,\n}\n')
    const before = (await json()).report
    expect(find(before, 'vscode.connect-timeout')[0]).toMatchObject({status: 'warn', file: windsurf, message: 'Windsurf gives up after 15 s (remote.SSH.connectTimeout), less than a stopped environment may take to start through ona'})
    expect(find(before, 'vscode.remote-platform')[0]).toMatchObject({status: 'warn', file: windsurf, hint: 'Run `ona ide setup windsurf` (maps *.gitpod.environment and *.gitpod.remote to linux).'})
    const setup = await runCli(['ide', 'setup', 'windsurf'], {env: env()})
    expect(setup.code, setup.stderr).toBe(0)
    const after = (await json()).report
    expect(find(after, 'vscode.connect-timeout')[0]).toMatchObject({status: 'pass', message: 'Windsurf waits 660 s to connect (remote.SSH.connectTimeout)'})
    expect(find(after, 'vscode.remote-platform')[0]).toMatchObject({status: 'pass'})

    // A platform the user set is kept by `ona ide setup`; doctor says it is wrong for a Linux environment.
    const insiders = path.join(home, '.config', 'Code - Insiders', 'User', 'settings.json')
    await mkdir(path.dirname(insiders), {recursive: true})
    await writeFile(insiders, `{"remote.SSH.connectTimeout": 900, "remote.SSH.remotePlatform": {"${A}.gitpod.environment": "windows", "*.gitpod.*": "linux"}}`)
    const kept = await runCli(['ide', 'setup', 'code-insiders', '--dry-run'], {env: env()})
    expect(kept.stdout.split('\n').filter((l) => l.startsWith('+') && l.includes(`"${A}.gitpod.environment": "windows"`))).toHaveLength(1)
    const wrong = find((await json()).report, 'vscode.remote-platform').find((f) => f.file === insiders)
    expect(wrong).toMatchObject({status: 'fail', message: `VS Code Insiders's remote.SSH.remotePlatform maps ${A}.gitpod.environment to "windows": ona's environments run Linux`})

    const vscodium = path.join(home, '.config', 'VSCodium', 'User', 'settings.json')
    await mkdir(path.dirname(vscodium), {recursive: true})
    await writeFile(vscodium, '{\n  "a": 1\n  "b": 2\n}\n')
    const broken = find((await json()).report, 'vscode.settings')
    expect(broken).toEqual([expect.objectContaining({status: 'warn', file: vscodium, message: `VSCodium: ${vscodium}:3:3: a ',' is expected; its Remote-SSH settings were not read`})])
  }, 60_000)

  it('VS Code with resolve-on-connect: a connectTimeout below what `ona ide setup` writes warns and names that command', async () => {
    expect((await runCli(['ssh-sync', '--resolve-on-connect'], {env: env()})).code).toBe(0)
    const settings = path.join(home, '.config', 'Cursor', 'User', 'settings.json')
    await mkdir(path.dirname(settings), {recursive: true})
    // 180 s passed doctor's own bar (60 s) while `ona ide setup` raises anything below 660 s: they disagreed.
    await writeFile(settings, `{\n  "remote.SSH.connectTimeout": 180,\n}\n`)
    const {report} = await json()
    const [finding] = find(report, 'vscode.connect-timeout')
    expect(finding).toMatchObject({status: 'warn', file: settings})
    expect(finding!.hint).toContain('`ona ide setup cursor`')
    expect(finding!.hint).toContain('660')
    await writeFile(settings, `{"remote.SSH.connectTimeout": 660}`)
    expect(find((await json()).report, 'vscode.connect-timeout')[0]).toMatchObject({status: 'pass'})
  }, 60_000)

  it('an API that never answers: the report still ends, within its --timeout, with the TCP check failed', async () => {
    const hole = await startBlackHole('127.0.0.42')
    try {
      const r = await doctor(['--timeout', '3s', '--json'], {ONA_API_URL: `http://127.0.0.42:${hole.port}/api`})
      expect(r.code).toBe(1)
      const report = JSON.parse(r.stdout) as DoctorReport
      expect(find(report, 'api.tcp')[0]!.status).toMatch(/fail|warn/)
      expect(find(report, 'auth.user')[0]!.status).toBe('fail')
      expect(report.timeoutMs).toBe(3000)
    } finally {
      await hole.close()
    }
  }, 60_000)
})

describe('known_hosts lookups match what ssh-keygen hashes', () => {
  it('a hashed entry (ssh-keygen -H) is found under its name and not under another', async () => {
    const {knownHostsLookup} = await import('../../src/lib/doctor/probes.js')
    const dir = await mkdtemp(path.join(os.tmpdir(), 'ona-kh-'))
    try {
      const file = path.join(dir, 'known_hosts')
      await writeFile(file, `${ALIAS_A} ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIG0cfKnnsNcJT2bF1oHmG0I5Jm6fu5k7cIiRV0s4cd2L\n`)
      execFileSync('ssh-keygen', ['-q', '-H', '-f', file], {stdio: 'ignore'})
      const hashed = await readFile(file, 'utf8')
      expect(hashed.startsWith('|1|')).toBe(true)
      expect(knownHostsLookup(hashed, ALIAS_A)).toBe('known')
      expect(knownHostsLookup(hashed, `${B}.gitpod.environment`)).toBe('unknown')
    } finally {
      await rm(dir, {recursive: true, force: true})
    }
  })
})
