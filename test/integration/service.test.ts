/**
 * `ona service`: the generated systemd unit, launchd plist and Task Scheduler XML (golden files, with the
 * platform injected so Linux runs all three; UPDATE_GOLDEN=1 rewrites them), `systemd-analyze verify`
 * where it exists, one service per (API origin, SSH config), the shell's proxy/CA/ONA_* variables, the
 * real systemctl without a user bus, install/uninstall through an injected service-manager runner, and a
 * real start and stop of the watcher from the unit's own ExecStart line, with `ona service status`.
 */
import {spawn} from 'node:child_process'
import {existsSync} from 'node:fs'
import {chmod, mkdir, mkdtemp, readFile, readdir, rm, stat, writeFile} from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'

import {afterEach, beforeEach, describe, expect, it} from 'vitest'

import {createContext} from '../../src/lib/context.js'
import {definitionBytes, installService, serviceDefinition, serviceSpec, serviceStatus, serviceStatuses, serviceTarget, uninstallService, uninstallServices, type Runner} from '../../src/lib/service/index.js'
import {startSimulator, type Simulator} from '../../src/lib/simulator/server.js'
import {BEGIN_MARKER} from '../../src/lib/ssh-config/index.js'
import {baseEnv, binRun, runCli, runCommand} from '../helpers/run-cli.js'
import {waitFor} from '../helpers/wait-for.js'

const GOLDEN = path.resolve('test/golden/service')
const NODE = '/opt/node-v24/bin/node'
const SCRIPT = '/opt/ona/lib/node_modules/ona-ssh/bin/run.js'
const ENTERPRISE = 'https://ona.example.com/api'
/** What a user's shell has besides HOME: a proxy with credentials, CA, ona's settings and its tokens. */
const SHELL = {
  HTTPS_PROXY: 'http://alice:s3cret@proxy.corp:3128',
  NO_PROXY: '.corp,169.254.169.254',
  NODE_EXTRA_CA_CERTS: '/etc/corp/ca.pem',
  ONA_TIMEOUT: '2m',
  ONA_TOKEN: 'never-in-a-unit',
  GITPOD_API_KEY: 'never-in-a-unit',
}

const platforms = [
  {case: 'linux-default', name: 'linux' as const, home: '/home/alice', env: {HOME: '/home/alice', ...SHELL}, systemdVersion: 252},
  {case: 'linux-enterprise-systemd-256', name: 'linux' as const, home: '/home/alice', env: {HOME: '/home/alice', ...SHELL}, apiUrl: ENTERPRISE, sshConfig: '/home/alice/.ssh/config.d/ona', systemdVersion: 256},
  {case: 'darwin-default', name: 'darwin' as const, home: '/Users/alice', env: {HOME: '/Users/alice', ...SHELL}},
  {case: 'darwin-enterprise', name: 'darwin' as const, home: '/Users/alice', env: {HOME: '/Users/alice', ...SHELL}, apiUrl: ENTERPRISE},
  ...(['default', 'enterprise'] as const).map((which) => ({
    case: `win32-${which}`,
    name: 'win32' as const,
    home: 'C:\\Users\\alice',
    env: {USERPROFILE: 'C:\\Users\\alice', LOCALAPPDATA: 'C:\\Users\\alice\\AppData\\Local', APPDATA: 'C:\\Users\\alice\\AppData\\Roaming', ...SHELL, NODE_EXTRA_CA_CERTS: 'C:\\corp\\ca.pem'},
    ...(which === 'enterprise' ? {apiUrl: ENTERPRISE, sshConfig: 'C:\\Users\\alice\\.ssh\\ona.conf'} : {}),
  })),
]
type Case = (typeof platforms)[number] & {apiUrl?: string; sshConfig?: string; systemdVersion?: number}

function definition(p: Case, node = NODE, script = SCRIPT) {
  const ctx = createContext({env: p.env, platform: p.name, homedir: p.home, ...(p.sshConfig ? {sshConfig: p.sshConfig} : {})})
  const nodePath = p.name === 'win32' ? 'C:\\Program Files\\nodejs\\node.exe' : node
  const scriptPath = p.name === 'win32' ? 'C:\\Users\\alice\\AppData\\Roaming\\npm\\node_modules\\ona-ssh\\bin\\run.js' : script
  return serviceDefinition(serviceSpec(ctx, {node: nodePath, script: scriptPath, target: serviceTarget(ctx, {apiUrl: p.apiUrl}), systemdVersion: p.systemdVersion}), {uid: 501, user: 'DESKTOP-1\\alice'})
}
const byCase = (name: string) => definition(platforms.find((p) => p.case === name)! as Case)

describe('service definitions (golden files)', () => {
  it.each(platforms as Case[])('$case', async (p) => {
    const def = definition(p)
    const file = path.join(GOLDEN, `${p.case}${path.extname(def.file.replaceAll('\\', '/'))}`)
    if (process.env.UPDATE_GOLDEN === '1') {
      await mkdir(GOLDEN, {recursive: true})
      await writeFile(file, def.content)
    }
    expect(def.content).toBe(await readFile(file, 'utf8'))
  })

  it('names: the default install keeps the plain name, any other API or config gets its own readable one', () => {
    const names = Object.fromEntries(platforms.map((p) => [p.case, [definition(p as Case).name, definition(p as Case).file]]))
    expect(names).toEqual({
      'linux-default': ['ona-watch.service', '/home/alice/.config/systemd/user/ona-watch.service'],
      'linux-enterprise-systemd-256': ['ona-watch-ona.example.com-ona-ecf2cc64.service', '/home/alice/.config/systemd/user/ona-watch-ona.example.com-ona-ecf2cc64.service'],
      'darwin-default': ['dev.ona.watch', '/Users/alice/Library/LaunchAgents/dev.ona.watch.plist'],
      'darwin-enterprise': ['dev.ona.watch.ona.example.com-92d0f028', '/Users/alice/Library/LaunchAgents/dev.ona.watch.ona.example.com-92d0f028.plist'],
      'win32-default': ['ona-watch', 'C:\\Users\\alice\\AppData\\Local\\ona\\ona-watch.xml'],
      'win32-enterprise': ['ona-watch-ona.example.com-ona.conf-64f618ca', 'C:\\Users\\alice\\AppData\\Local\\ona\\ona-watch-ona.example.com-ona.conf-64f618ca.xml'],
    })
  })

  it('each platform names absolute node and ona paths, pins the API and the config, and logs where the platform keeps logs', () => {
    const linux = byCase('linux-default')
    const mac = byCase('darwin-default')
    const windows = byCase('win32-default')
    expect(linux.content).toContain(`ExecStart="${NODE}" "--max-semi-space-size=1" "--lite-mode" "${SCRIPT}" "ssh-sync" "--watch" "--service" "--ssh-config" "/home/alice/.ssh/config"`)
    expect(linux.content).toContain('Environment="ONA_API_URL=https://app.ona.com/api"')
    expect(linux.logs).toBe('journalctl --user -u ona-watch.service')
    expect(byCase('linux-enterprise-systemd-256').content).toContain('RestartSteps=6')
    expect(mac.content).toContain('<string>--lite-mode</string>')
    expect(mac.content).toContain(`<string>${NODE}</string>`)
    expect(mac.content).toContain('<string>/Users/alice/Library/Logs/ona/watch.log</string>')
    expect(byCase('darwin-enterprise').logs).toBe('/Users/alice/Library/Logs/ona/watch-ona.example.com-92d0f028.log')
    expect(windows.content).toContain('&quot;--max-semi-space-size=1&quot; &quot;--lite-mode&quot;')
    expect(windows.content).toContain('<Command>C:\\Program Files\\nodejs\\node.exe</Command>')
    expect(windows.content).toContain('&quot;service&quot; &quot;run&quot; &quot;--definition&quot; &quot;C:\\Users\\alice\\AppData\\Local\\ona\\ona-watch.xml&quot;')
    expect(windows.content).toContain('"log":"C:\\\\Users\\\\alice\\\\AppData\\\\Local\\\\ona\\\\logs\\\\watch.log"')
    expect(windows.install[1]).toEqual(['schtasks', '/Create', '/TN', 'ona-watch', '/XML', windows.file, '/F'])
    expect(byCase('win32-enterprise').content).toContain('<URI>\\ona-watch-ona.example.com-ona.conf-64f618ca</URI>')
  })

  it('every definition carries the shell\'s proxy, CA and ONA_* variables, and no token', () => {
    for (const p of platforms) {
      const {content} = definition(p as Case)
      expect(content, p.case).toContain('http://alice:s3cret@proxy.corp:3128')
      expect(content, p.case).toContain('.corp,169.254.169.254')
      expect(content, p.case).toContain('ca.pem')
      expect(content, p.case).toMatch(/ONA_TIMEOUT(=|<\/key>\s*<string>|":")2m/)
      expect(content, p.case).not.toContain('never-in-a-unit')
    }
  })

  it('restart policy: exit 4 (token expired) is never restarted in a loop on any platform', () => {
    // systemd: restarts on failure, except exit 4.
    const unit = byCase('linux-default').content
    expect(unit).toMatch(/^Restart=on-failure$/m)
    expect(unit).toMatch(/^RestartPreventExitStatus=4$/m)
    // launchd: KeepAlive restarts every non-zero exit and has no per-code rule, so the agent maps exit 4 to 0.
    const plist = byCase('darwin-default').content
    expect(plist).toMatch(/<key>KeepAlive<\/key>\s*<dict>\s*<key>SuccessfulExit<\/key>\s*<false\/>/)
    expect(plist).toMatch(/<string>--auth-exit-code<\/string>\s*<string>0<\/string>/)
    // Task Scheduler retries only a failed start (Count is an unsignedByte: 1..255, 999 is rejected); the
    // task runs ona's supervisor, which restarts a crash with a growing delay and never exit 0 or 4
    // (service-supervisor.test.ts runs it).
    const xml = byCase('win32-default').content
    const count = Number(/<Count>(\d+)<\/Count>/.exec(xml)![1])
    expect(count).toBeGreaterThanOrEqual(1)
    expect(count).toBeLessThanOrEqual(255)
    expect(xml).toContain('&quot;service&quot; &quot;run&quot; &quot;--definition&quot;')
    expect(xml).not.toContain('auth\\u002dexit')
    expect(xml).not.toContain('--auth-exit-code')
  })

  it('the systemd units pass `systemd-analyze verify`', async (test) => {
    const analyze = await runCommand('systemd-analyze', ['--version'], {env: {PATH: process.env.PATH}}).catch(() => undefined)
    if (!analyze || analyze.code !== 0) {
      test.skip(true, 'systemd-analyze is not installed: the unit is checked by its golden file only')
      return
    }
    const dir = await mkdtemp(path.join(os.tmpdir(), 'ona-unit-'))
    try {
      // Units for a newer systemd use keys this one does not know: verify those it can run.
      const version = Number(/systemd (\d+)/.exec(analyze.stdout)?.[1] ?? 0)
      const units = platforms.filter((q) => q.name === 'linux' && ((q as Case).systemdVersion ?? 0) <= version)
      expect(units.length).toBeGreaterThan(0)
      for (const p of units) {
        // verify checks that ExecStart's binary exists: use the real node and launcher.
        const def = definition(p as Case, process.execPath, binRun)
        const file = path.join(dir, def.name)
        await writeFile(file, def.content)
        const result = await runCommand('systemd-analyze', ['verify', file], {env: {PATH: process.env.PATH, SYSTEMD_LOG_LEVEL: 'warning'}})
        const problems = result.stderr.split('\n').filter((l) => l.includes(def.name) && !/Failed to (connect|create|initialize)|bus|Transport endpoint/i.test(l))
        expect(problems, p.case).toEqual([])
      }
    } finally {
      await rm(dir, {recursive: true, force: true})
    }
  })
})

/** A service manager that answers every command with success, and records them. */
function recordingRunner(calls: string[], answers: Record<string, {code: number; stdout?: string; stderr?: string}> = {}): Runner {
  return async (command, args) => {
    const line = [command, ...args].join(' ')
    calls.push(line)
    const answer = Object.entries(answers).find(([prefix]) => line.startsWith(prefix))?.[1]
    if (answer) return {code: answer.code, stdout: answer.stdout ?? '', stderr: answer.stderr ?? ''}
    return {code: 0, stdout: command === 'systemctl' && args[0] === '--version' ? 'systemd 252 (252.38)\n' : '', stderr: ''}
  }
}

/** The definition format of ona 0.x before one service per API: one name, no marker. */
function legacyUnit(apiUrl: string): string {
  return [
    '# Written by `ona service install`; `ona service uninstall` removes it.',
    '[Unit]',
    'Description=ona: keep the SSH aliases of your environments current',
    '',
    '[Service]',
    `ExecStart="${NODE}" "${SCRIPT}" "ssh-sync" "--watch" "--service"`,
    `Environment="ONA_API_URL=${apiUrl}"`,
    'Restart=on-failure',
    'RestartPreventExitStatus=4',
    '',
    '[Install]',
    'WantedBy=default.target',
    '',
  ].join('\n')
}

describe('ona service install / uninstall / status', () => {
  let home: string
  let sim: Simulator
  beforeEach(async () => {
    home = await mkdtemp(path.join(os.tmpdir(), 'ona-service-'))
    await mkdir(path.join(home, '.ssh'), {mode: 0o700})
    await writeFile(path.join(home, '.ssh', 'config'), 'Host mine\n  Port 2200\n', {mode: 0o600})
    sim = await startSimulator({seed: path.resolve('fixtures/environments.json')})
  })
  afterEach(async () => {
    await sim.close()
    await rm(home, {recursive: true, force: true})
  })
  const unitDir = () => path.join(home, '.config', 'systemd', 'user')
  /** A session without a user bus, as in a container or an SSH login without lingering: the real systemctl fails. */
  const noBus = async (extra: Record<string, string> = {}) => {
    const runtime = path.join(home, 'no-runtime')
    await mkdir(runtime, {recursive: true})
    return baseEnv(home, {XDG_RUNTIME_DIR: runtime, DBUS_SESSION_BUS_ADDRESS: `unix:path=${runtime}/bus`, ONA_KEYRING: 'off', ...extra})
  }

  it.each(['linux', 'darwin'] as const)('on %s: writes the definition (mode 0600) and runs the service manager in order; uninstall stops and removes it', async (platform) => {
    const calls: string[] = []
    const runner = recordingRunner(calls)
    const ctx = createContext({env: {HOME: home}, platform, homedir: home})
    const installed = await installService(ctx, {node: NODE, script: SCRIPT, runner, identity: {uid: 501, user: 'alice'}})
    expect(installed.written).toBe(true)
    expect(installed.started).toBe(true)
    // It may hold a proxy's credentials: private to the user.
    expect((await stat(installed.file)).mode & 0o777).toBe(0o600)
    const expected = {
      // restart, not enable --now: running again with the new definition when it already ran.
      linux: ['systemctl --version', 'systemctl --user daemon-reload', 'systemctl --user enable ona-watch.service', 'systemctl --user restart ona-watch.service'],
      darwin: ['launchctl bootout gui/501/dev.ona.watch', `launchctl bootstrap gui/501 ${installed.file}`],
    }[platform]
    expect(calls).toEqual(expected)
    // launchd opens its log file but does not create the directory: install does.
    if (platform === 'darwin') expect((await stat(path.join(home, 'Library', 'Logs', 'ona'))).isDirectory()).toBe(true)
    calls.length = 0
    const removed = await uninstallService(ctx, {node: NODE, script: SCRIPT, runner, identity: {uid: 501, user: 'alice'}})
    expect(removed).toMatchObject({removed: true, files: [installed.file], notDone: []})
    expect(existsSync(installed.file)).toBe(false)
    expect(calls).toEqual({linux: ['systemctl --user disable --now ona-watch.service', 'systemctl --user daemon-reload', 'systemctl --user reset-failed ona-watch.service'], darwin: ['launchctl bootout gui/501/dev.ona.watch']}[platform])
  })

  it('on win32 (its paths cannot be written on Linux: a dry run): the task is created from UTF-16 XML, then run', async () => {
    const ctx = createContext({env: {USERPROFILE: 'C:\\Users\\alice', LOCALAPPDATA: 'C:\\Users\\alice\\AppData\\Local'}, platform: 'win32', homedir: 'C:\\Users\\alice'})
    const planned = await installService(ctx, {node: NODE, script: SCRIPT, dryRun: true, identity: {uid: 501, user: 'alice'}})
    expect(planned.commands).toEqual([
      // A running instance of an earlier definition ends first (IgnoreNew would keep it).
      ['-schtasks', '/End', '/TN', 'ona-watch'],
      ['schtasks', '/Create', '/TN', 'ona-watch', '/XML', 'C:\\Users\\alice\\AppData\\Local\\ona\\ona-watch.xml', '/F'],
      ['schtasks', '/Run', '/TN', 'ona-watch'],
    ])
    const bytes = definitionBytes({kind: 'task', content: planned.content!})
    // schtasks reads the XML in the UTF-16 its declaration names.
    expect([...bytes.subarray(0, 2)]).toEqual([0xff, 0xfe])
    expect(bytes.subarray(2).toString('utf16le')).toContain('<LogonTrigger>')
  })

  it('a second API\'s install gets a service of its own, next to the first; status lists both; uninstall of one leaves the other', async () => {
    const calls: string[] = []
    const runner = recordingRunner(calls)
    const ctx = createContext({env: {HOME: home}, platform: 'linux', homedir: home})
    const first = await installService(ctx, {node: NODE, script: SCRIPT, runner})
    const second = await installService(ctx, {node: NODE, script: SCRIPT, runner, apiUrl: ENTERPRISE})
    const third = await installService(createContext({env: {HOME: home}, platform: 'linux', homedir: home, sshConfig: path.join(home, '.ssh', 'work')}), {node: NODE, script: SCRIPT, runner})
    expect(new Set([first.file, second.file, third.file]).size).toBe(3)
    expect((await readdir(unitDir())).filter((n) => n.endsWith('.service')).sort()).toEqual([path.basename(first.file), path.basename(second.file), path.basename(third.file)].sort())
    expect(calls).toContain(`systemctl --user restart ${second.name}`)
    const statuses = await serviceStatuses(ctx, {runner: recordingRunner([])})
    expect(statuses.map((s) => [s.origin, s.sshConfig, s.installed])).toEqual(
      expect.arrayContaining([
        ['https://app.ona.com', path.join(home, '.ssh', 'config'), true],
        ['https://ona.example.com', path.join(home, '.ssh', 'config'), true],
        ['https://app.ona.com', path.join(home, '.ssh', 'work'), true],
      ]),
    )
    expect(statuses).toHaveLength(3)
    await uninstallService(ctx, {runner, apiUrl: ENTERPRISE})
    expect(existsSync(second.file)).toBe(false)
    expect(existsSync(first.file)).toBe(true)
    expect(existsSync(third.file)).toBe(true)
    const all = await uninstallServices(ctx, {runner, all: true})
    expect(all.map((r) => r.removed)).toEqual([true, true])
    expect((await readdir(unitDir())).filter((n) => n.endsWith('.service'))).toEqual([])
  })

  it('without --ssh-config, install, status and uninstall use the file the API\'s setting names, as the watcher does (issue 21); a plain install\'s unit pinned to ~/.ssh/config is replaced', async () => {
    const calls: string[] = []
    const runner = recordingRunner(calls)
    const managed = path.join(home, '.ssh', 'ona.conf')
    const {saveManagedFile} = await import('../../src/lib/settings.js')
    const fresh = () => createContext({env: {HOME: home}, platform: 'linux', homedir: home})
    // An earlier `ona service install` (before this fix) pinned the default install to ~/.ssh/config.
    const pinned = await installService(createContext({env: {HOME: home}, platform: 'linux', homedir: home, sshConfig: path.join(home, '.ssh', 'config')}), {node: NODE, script: SCRIPT, runner})
    // `ona ssh-sync --ssh-config ~/.ssh/ona.conf --add-include` remembered the file for this API.
    await saveManagedFile(fresh(), 'https://app.ona.com/api', managed)
    const installed = await installService(fresh(), {node: NODE, script: SCRIPT, runner})
    expect(installed.sshConfig).toBe(managed)
    expect(await readFile(installed.file, 'utf8')).toContain(`"--ssh-config" "${managed}"`)
    expect(installed.replaced).toEqual([pinned.file])
    expect((await readdir(unitDir())).filter((n) => n.endsWith('.service'))).toEqual([path.basename(installed.file)])
    const status = await serviceStatus(fresh(), {runner: recordingRunner([])})
    expect(status).toMatchObject({installed: true, sshConfig: managed, name: installed.name})
    const removed = await uninstallService(fresh(), {runner})
    expect(removed).toMatchObject({removed: true, files: [installed.file], sshConfig: managed})
  })

  it('upgrade: an earlier ona\'s single-name unit is moved, replaced or refused, never left as a second service', async () => {
    const calls: string[] = []
    const runner = recordingRunner(calls)
    const ctx = createContext({env: {HOME: home}, platform: 'linux', homedir: home})
    await mkdir(unitDir(), {recursive: true})
    const legacy = path.join(unitDir(), 'ona-watch.service')
    await writeFile(legacy, legacyUnit(ENTERPRISE))
    // status names what it serves.
    const [listed] = await serviceStatuses(ctx, {runner: recordingRunner([])})
    expect(listed).toMatchObject({name: 'ona-watch.service', origin: 'https://ona.example.com', installed: true})
    // The default install would take its name: refused, the file left alone.
    await expect(installService(ctx, {node: NODE, script: SCRIPT, runner})).rejects.toMatchObject({code: 'ERR_SERVICE_CONFLICT', hint: expect.stringContaining(`--api-url ${ENTERPRISE}`)})
    expect(await readFile(legacy, 'utf8')).toBe(legacyUnit(ENTERPRISE))
    // Installing the API it serves moves it: stopped and deleted, the new name written and started.
    const moved = await installService(ctx, {node: NODE, script: SCRIPT, runner, apiUrl: ENTERPRISE})
    expect(moved.replaced).toEqual([legacy])
    expect(existsSync(legacy)).toBe(false)
    expect(calls).toContain('systemctl --user disable --now ona-watch.service')
    expect(calls.indexOf('systemctl --user disable --now ona-watch.service')).toBeLessThan(calls.indexOf(`systemctl --user restart ${moved.name}`))
    // An earlier unit for the default install is simply replaced in place.
    await writeFile(legacy, legacyUnit('https://app.ona.com/api'))
    const replaced = await installService(ctx, {node: NODE, script: SCRIPT, runner})
    expect(replaced.file).toBe(legacy)
    expect(await readFile(legacy, 'utf8')).toContain('# ona-service {')
    expect((await readdir(unitDir())).filter((n) => n.endsWith('.service'))).toHaveLength(2)
  })

  it('no user bus (real systemctl): install fails with ERR_SERVICE_MANAGER_UNREACHABLE and the lingering hint, the unit kept for a retry', async (test) => {
    if ((await runCommand('systemctl', ['--version'], {env: {PATH: process.env.PATH}}).catch(() => ({code: 127}))).code !== 0) {
      test.skip(true, 'systemctl is not installed')
      return
    }
    const result = await runCli(['service', 'install'], {env: await noBus()})
    expect(result.code).toBe(1)
    expect(result.stderr).toMatch(/error: wrote .*ona-watch\.service, but could not start ona-watch\.service: there is no systemd user session/)
    expect(result.stderr).toContain('hint: Run `loginctl enable-linger $USER`')
    expect(result.stderr).toContain('`ona ssh-sync --watch` in a terminal')
    expect(existsSync(path.join(unitDir(), 'ona-watch.service'))).toBe(true)
    const json = await runCli(['service', 'install', '--json'], {env: await noBus()})
    expect(JSON.parse(json.stdout)).toMatchObject({error: {code: 'ERR_SERVICE_MANAGER_UNREACHABLE'}})
  })

  it('no systemd at all (WSL, containers): the hint says how to get it or to run the watcher in a terminal', async () => {
    // A systemctl as WSL without systemd has it: first on PATH.
    const bin = path.join(home, 'bin')
    await mkdir(bin)
    await writeFile(path.join(bin, 'systemctl'), '#!/bin/sh\n[ "$1" = --version ] && { echo "systemd 255 (255.4)"; exit 0; }\necho "System has not been booted with systemd as init system (PID 1). Can\'t operate." >&2\necho "Failed to connect to bus: Host is down" >&2\nexit 1\n')
    await chmod(path.join(bin, 'systemctl'), 0o755)
    const result = await runCli(['service', 'install'], {env: baseEnv(home, {PATH: `${bin}:${process.env.PATH}`})})
    expect(result.code).toBe(1)
    expect(result.stderr).toContain('not booted with systemd')
    expect(result.stderr).toContain('/etc/wsl.conf')
  })

  it('uninstall removes what install wrote even without a user bus, and says what it could not do', async (test) => {
    if ((await runCommand('systemctl', ['--version'], {env: {PATH: process.env.PATH}}).catch(() => ({code: 127}))).code !== 0) {
      test.skip(true, 'systemctl is not installed')
      return
    }
    const env = await noBus()
    expect((await runCli(['service', 'install', '--no-start'], {env})).code).toBe(0)
    expect((await runCli(['service', 'install', '--no-start', '--api-url', ENTERPRISE], {env})).code).toBe(0)
    const result = await runCli(['service', 'uninstall'], {env})
    expect(result.code).toBe(0)
    expect(result.stdout).toContain(`removed ona-watch.service (${path.join(unitDir(), 'ona-watch.service')})`)
    expect(result.stderr).toMatch(/not done: could not stop ona-watch\.service: there is no systemd user session/)
    expect(existsSync(path.join(unitDir(), 'ona-watch.service'))).toBe(false)
    // The other API's service is not touched by it; --all takes it.
    expect((await readdir(unitDir())).filter((n) => n.endsWith('.service'))).toHaveLength(1)
    const all = JSON.parse((await runCli(['service', 'uninstall', '--all', '--json'], {env})).stdout) as Array<{removed: boolean; notDone: string[]}>
    expect(all).toMatchObject([{removed: true, notDone: [expect.stringContaining('no systemd user session')]}])
    expect((await readdir(unitDir())).filter((n) => n.endsWith('.service'))).toEqual([])
  })

  it('--dry-run shows the environment the service gets with proxy credentials masked; the file written has them', async () => {
    const env = await noBus({HTTPS_PROXY: 'http://alice:s3cret@proxy.corp:3128', NO_PROXY: 'localhost', ONA_TIMEOUT: '2m', ONA_TOKEN: 'tok-never'})
    const dry = await runCli(['service', 'install', '--dry-run'], {env})
    expect(dry.code).toBe(0)
    expect(dry.stdout).toContain('Environment="HTTPS_PROXY=http://****@proxy.corp:3128"')
    expect(dry.stdout).toContain('Environment="ONA_TIMEOUT=2m"')
    expect(dry.stdout).toContain('would run: systemctl --user enable ona-watch.service')
    expect(dry.stdout).toContain('would run: systemctl --user restart ona-watch.service')
    expect(dry.stdout + dry.stderr).not.toContain('s3cret')
    expect(dry.stdout + dry.stderr).not.toContain('tok-never')
    const json = JSON.parse((await runCli(['service', 'install', '--dry-run', '--json'], {env})).stdout) as {environment: Record<string, string>; content: string}
    expect(json.environment.HTTPS_PROXY).toBe('http://****@proxy.corp:3128')
    expect(JSON.stringify(json)).not.toContain('s3cret')
    expect(existsSync(path.join(unitDir(), 'ona-watch.service'))).toBe(false)
    expect((await runCli(['service', 'install', '--no-start'], {env})).code).toBe(0)
    expect(await readFile(path.join(unitDir(), 'ona-watch.service'), 'utf8')).toContain('Environment="HTTPS_PROXY=http://alice:s3cret@proxy.corp:3128"')
  })

  it('status: "not installed" has no logs line; "installed, not running" when neither the manager nor a socket says it runs', async () => {
    const env = await noBus()
    const none = await runCli(['service', 'status'], {env})
    expect(none.code).toBe(0)
    expect(none.stdout).toContain('service   not installed (`ona service install`)')
    expect(none.stdout).not.toContain('logs')
    expect(none.stdout).not.toContain('journalctl')
    expect(JSON.parse((await runCli(['service', 'status', '--json'], {env})).stdout)).toEqual([expect.objectContaining({installed: false, state: 'not installed', running: false})])
    expect((await runCli(['service', 'install', '--no-start'], {env})).code).toBe(0)
    const [installed] = JSON.parse((await runCli(['service', 'status', '--json'], {env})).stdout) as Array<Record<string, unknown>>
    expect(installed).toMatchObject({installed: true, state: 'installed, not running', running: false, logs: 'journalctl --user -u ona-watch.service'})
    const human = await runCli(['service', 'status'], {env})
    expect(human.stdout).toContain('service   ona-watch.service: installed, not running (~/.config/systemd/user/ona-watch.service)')
    expect(human.stdout).toContain('logs      journalctl --user -u ona-watch.service')
  })

  it('status: a unit systemd keeps "failed" with exit 4 says the token expired and how to start it again', async () => {
    const ctx = createContext({env: {HOME: home}, platform: 'linux', homedir: home})
    await installService(ctx, {node: NODE, script: SCRIPT, runner: recordingRunner([])})
    const failed = recordingRunner([], {'systemctl --user show': {code: 0, stdout: 'LoadState=loaded\nActiveState=failed\nSubState=failed\nResult=exit-code\nExecMainStatus=4\nNRestarts=0\n'}})
    const status = await serviceStatus(ctx, {runner: failed})
    expect(status).toMatchObject({state: 'installed, not running', manager: {state: 'failed', lastExit: 4}, stoppedBecause: {exit: 4, hint: expect.stringContaining('ona login')}})
    const active = recordingRunner([], {'systemctl --user show': {code: 0, stdout: 'LoadState=loaded\nActiveState=active\nSubState=running\nResult=success\nExecMainStatus=0\n'}})
    expect(await serviceStatus(ctx, {runner: active})).toMatchObject({state: 'running'})
    expect((await serviceStatus(ctx, {runner: active})).stoppedBecause).toBeUndefined()
  })

  it('an expired token ends the service\'s watcher without a restart loop: exit 4, or 0 with --auth-exit-code 0 (launchd); status says why', async () => {
    const env = await noBus({ONA_API_URL: sim.url, ONA_TOKEN: 'revoked-token'})
    expect((await runCli(['service', 'install', '--no-start'], {env})).code).toBe(0)
    const unit = await readFile(path.join(unitDir(), 'ona-watch-127.0.0.1-' + (await readdir(unitDir())).find((n) => n.startsWith('ona-watch-127'))!.slice('ona-watch-127.0.0.1-'.length)), 'utf8')
    const args = execStartArgs(unit)
    const plain = await runCommand(args[0]!, args.slice(1), {env: {...env, ...unitEnvironment(unit)}, timeoutMs: 20_000})
    expect(plain.code).toBe(4)
    expect(plain.stdout + plain.stderr).toContain('ona login')
    const mapped = await runCommand(args[0]!, [...args.slice(1), '--auth-exit-code', '0'], {env: {...env, ...unitEnvironment(unit)}, timeoutMs: 20_000})
    expect(mapped.code).toBe(0)
    expect(mapped.stdout + mapped.stderr).toContain('ona login')
    const [status] = JSON.parse((await runCli(['service', 'status', '--api-url', sim.url, '--json'], {env})).stdout) as Array<Record<string, unknown>>
    expect(status).toMatchObject({installed: true, state: 'installed, not running', stoppedBecause: {code: 'ERR_AUTH_EXPIRED', exit: 4}})
    expect((await runCli(['service', 'status', '--api-url', sim.url], {env})).stdout).toMatch(/stopped {3}the token expired or was revoked \(exit 4\), so the service is not restarted: .*; Run `ona login`, then `ona service install` again/)
  }, 60_000)

  it('the watcher started from the unit\'s own ExecStart runs, `ona service status` reports it running, and SIGTERM stops it cleanly', async () => {
    const env = await noBus({ONA_API_URL: sim.url, ONA_TOKEN: sim.token})
    const install = await runCli(['service', 'install', '--no-start', '--json'], {env})
    expect(install.code).toBe(0)
    const {file, name} = JSON.parse(install.stdout) as {file: string; name: string}
    const unit = await readFile(file, 'utf8')
    const [command, ...args] = execStartArgs(unit)
    expect(command).toBe(process.execPath)
    expect(args.slice(0, 5)).toEqual(['--max-semi-space-size=1', '--lite-mode', binRun, 'ssh-sync', '--watch'])
    const unitEnv = unitEnvironment(unit)
    expect(unitEnv.ONA_API_URL).toBe(sim.url)
    expect(unitEnv.ONA_TOKEN).toBeUndefined()
    const child = spawn(command!, args, {env: {...env, ...unitEnv}, stdio: ['ignore', 'pipe', 'pipe']})
    let out = ''
    child.stdout.setEncoding('utf8').on('data', (c: string) => (out += c))
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)))
    try {
      await waitFor(async () => (await readFile(path.join(home, '.ssh', 'config'), 'utf8')).includes(BEGIN_MARKER), 15_000, 'the first sync')
      await waitFor(async () => {
        const status = await runCli(['service', 'status', '--json'], {env})
        const [parsed] = JSON.parse(status.stdout) as Array<{running: boolean; lastSync?: string}>
        return parsed!.running && parsed!.lastSync !== undefined
      }, 15_000, 'status: running, with a last sync')
      const [status] = JSON.parse((await runCli(['service', 'status', '--json'], {env})).stdout) as Array<Record<string, unknown>>
      // No user bus here: the manager cannot tell, the watcher's socket does.
      expect(status).toMatchObject({kind: 'systemd', name, installed: true, state: 'running', manager: {state: 'unreachable'}, running: true, pid: child.pid, environments: 3, logs: `journalctl --user -u ${name}`})
      const human = await runCli(['service', 'status'], {env})
      expect(human.stdout).toContain(`watcher   running (pid ${child.pid})`)
      expect(human.stdout).toContain(`service   ${name}: running`)
    } finally {
      child.kill('SIGTERM')
    }
    expect(await exited).toBe(0)
    expect(out).toContain('watching your environments')
    const [after] = JSON.parse((await runCli(['service', 'status', '--json'], {env})).stdout) as Array<Record<string, unknown>>
    expect(after).toMatchObject({running: false, state: 'installed, not running', stoppedAt: expect.any(String)})
  }, 60_000)
})

/** systemd's words of a quoted line (the unit quotes every word). */
function words(line: string): string[] {
  return [...line.matchAll(/"((?:[^"\\]|\\.)*)"/g)].map((m) => m[1]!.replaceAll('\\"', '"').replaceAll('\\\\', '\\'))
}

function execStartArgs(unit: string): string[] {
  return words(/^ExecStart=(.*)$/m.exec(unit)![1]!)
}

function unitEnvironment(unit: string): Record<string, string> {
  return Object.fromEntries(
    [...unit.matchAll(/^Environment=(.*)$/gm)].map((m) => {
      const [pair] = words(m[1]!)
      return [pair!.slice(0, pair!.indexOf('=')), pair!.slice(pair!.indexOf('=') + 1)]
    }),
  )
}
