/**
 * `ona service`: the generated systemd unit, launchd plist and Task Scheduler XML (golden files, with the
 * platform injected so Linux runs all three; UPDATE_GOLDEN=1 rewrites them), `systemd-analyze verify`
 * where it exists, install/uninstall through an injected service-manager runner, and a real start and stop
 * of the watcher from the unit's own ExecStart line, with `ona service status` reading its status file.
 */
import {spawn} from 'node:child_process'
import {existsSync} from 'node:fs'
import {mkdir, mkdtemp, readFile, rm, writeFile} from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'

import {afterEach, beforeEach, describe, expect, it} from 'vitest'

import {createContext} from '../../src/lib/context.js'
import {installService, serviceDefinition, serviceSpec, uninstallService, type Runner} from '../../src/lib/service/index.js'
import {startSimulator, type Simulator} from '../../src/lib/simulator/server.js'
import {BEGIN_MARKER} from '../../src/lib/ssh-config/index.js'
import {baseEnv, binRun, runCli, runCommand} from '../helpers/run-cli.js'
import {waitFor} from '../helpers/wait-for.js'

const GOLDEN = path.resolve('test/golden/service')
const NODE = '/opt/node-v24/bin/node'
const SCRIPT = '/opt/ona/lib/node_modules/ona-ssh/bin/run.js'

const platforms = [
  {name: 'linux' as const, home: '/home/alice', env: {HOME: '/home/alice', ONA_API_URL: 'https://app.gitpod.io/api'}, golden: 'ona-watch.service', systemdVersion: 252},
  {name: 'linux' as const, home: '/home/alice', env: {HOME: '/home/alice'}, golden: 'ona-watch.systemd-256.service', systemdVersion: 256},
  {name: 'darwin' as const, home: '/Users/alice', env: {HOME: '/Users/alice'}, golden: 'dev.ona.watch.plist'},
  {
    name: 'win32' as const,
    home: 'C:\\Users\\alice',
    env: {USERPROFILE: 'C:\\Users\\alice', LOCALAPPDATA: 'C:\\Users\\alice\\AppData\\Local', APPDATA: 'C:\\Users\\alice\\AppData\\Roaming'},
    golden: 'ona-watch.xml',
  },
]

function definition(p: (typeof platforms)[number], node = NODE, script = SCRIPT) {
  const ctx = createContext({env: p.env, platform: p.name, homedir: p.home})
  const nodePath = p.name === 'win32' ? 'C:\\Program Files\\nodejs\\node.exe' : node
  const scriptPath = p.name === 'win32' ? 'C:\\Users\\alice\\AppData\\Roaming\\npm\\node_modules\\ona-ssh\\bin\\run.js' : script
  return serviceDefinition(serviceSpec(ctx, {node: nodePath, script: scriptPath, systemdVersion: p.systemdVersion}), {uid: 501, user: 'DESKTOP-1\\alice'})
}

describe('service definitions (golden files)', () => {
  it.each(platforms)('$golden', async (p) => {
    const def = definition(p)
    const file = path.join(GOLDEN, p.golden)
    if (process.env.UPDATE_GOLDEN === '1') {
      await mkdir(GOLDEN, {recursive: true})
      await writeFile(file, def.content)
    }
    expect(def.content).toBe(await readFile(file, 'utf8'))
  })

  it('each platform names absolute node and ona paths, restarts on failure, and logs where the platform keeps logs', () => {
    const [linux, , mac, windows] = platforms.map((p) => definition(p))
    expect(linux!.file).toBe('/home/alice/.config/systemd/user/ona-watch.service')
    // Node's memory flags for a watcher that never stops go before the launcher (watch/runtime.ts).
    expect(linux!.content).toContain(`ExecStart="${NODE}" "--max-semi-space-size=1" "--lite-mode" "${SCRIPT}" "ssh-sync" "--watch"`)
    expect(mac!.content).toContain('<string>--lite-mode</string>')
    expect(windows!.content).toContain('&quot;--max-semi-space-size=1&quot; &quot;--lite-mode&quot;')
    expect(linux!.content).toContain('Restart=on-failure')
    expect(linux!.logs).toBe('journalctl --user -u ona-watch.service')
    expect(definition(platforms[1]!).content).toContain('RestartSteps=6')
    expect(mac!.file).toBe('/Users/alice/Library/LaunchAgents/dev.ona.watch.plist')
    expect(mac!.content).toContain(`<string>${NODE}</string>`)
    expect(mac!.content).toContain('<string>/Users/alice/Library/Logs/ona/watch.log</string>')
    expect(mac!.content).toMatch(/<key>SuccessfulExit<\/key>\s*<false\/>/)
    expect(windows!.file).toBe('C:\\Users\\alice\\AppData\\Local\\ona\\ona-watch.xml')
    expect(windows!.content).toContain('&quot;C:\\Program Files\\nodejs\\node.exe&quot;')
    expect(windows!.content).toContain('C:\\Users\\alice\\AppData\\Local\\ona\\logs\\watch.log')
    expect(windows!.content).toContain('<RestartOnFailure>')
    expect(windows!.install[0]).toEqual(['schtasks', '/Create', '/TN', 'ona-watch', '/XML', windows!.file, '/F'])
  })

  it('the systemd unit passes `systemd-analyze verify`', async (test) => {
    const analyze = await runCommand('systemd-analyze', ['--version'], {env: {PATH: process.env.PATH}}).catch(() => undefined)
    if (!analyze || analyze.code !== 0) {
      test.skip(true, 'systemd-analyze is not installed: the unit is checked by its golden file only')
      return
    }
    const dir = await mkdtemp(path.join(os.tmpdir(), 'ona-unit-'))
    try {
      // verify checks that ExecStart's binary exists: use the real node and launcher.
      const def = definition(platforms[0]!, process.execPath, binRun)
      const file = path.join(dir, 'ona-watch.service')
      await writeFile(file, def.content)
      const result = await runCommand('systemd-analyze', ['verify', file], {env: {PATH: process.env.PATH, SYSTEMD_LOG_LEVEL: 'warning'}})
      const problems = result.stderr.split('\n').filter((l) => l.includes('ona-watch.service') && !/Failed to (connect|create|initialize)|bus|Transport endpoint/i.test(l))
      expect(problems).toEqual([])
    } finally {
      await rm(dir, {recursive: true, force: true})
    }
  })
})

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

  it.each(['linux', 'darwin', 'win32'] as const)('on %s: writes the definition and runs the service manager in order; uninstall stops and removes it', async (platform) => {
    const calls: string[] = []
    const runner: Runner = async (command, args) => {
      calls.push([command, ...args].join(' '))
      return {code: 0, stdout: command === 'systemctl' && args[0] === '--version' ? 'systemd 252 (252.38)\n' : '', stderr: ''}
    }
    const env = platform === 'win32' ? {USERPROFILE: home, LOCALAPPDATA: path.join(home, 'Local')} : {HOME: home}
    const ctx = createContext({env, platform, homedir: home})
    const installed = await installService(ctx, {node: NODE, script: SCRIPT, runner, identity: {uid: 501, user: 'alice'}})
    expect(installed.written).toBe(true)
    expect(installed.started).toBe(true)
    const bytes = await readFile(installed.file)
    if (platform === 'win32') {
      // schtasks reads the XML in the UTF-16 its declaration names.
      expect([...bytes.subarray(0, 2)]).toEqual([0xff, 0xfe])
      expect(bytes.subarray(2).toString('utf16le')).toContain('<LogonTrigger>')
    }
    const expected = {
      linux: ['systemctl --version', 'systemctl --user daemon-reload', 'systemctl --user enable --now ona-watch.service'],
      darwin: ['launchctl bootout gui/501/dev.ona.watch', `launchctl bootstrap gui/501 ${installed.file}`],
      win32: [`schtasks /Create /TN ona-watch /XML ${installed.file} /F`, 'schtasks /Run /TN ona-watch'],
    }[platform]
    expect(calls).toEqual(expected)
    calls.length = 0
    const removed = await uninstallService(ctx, {node: NODE, script: SCRIPT, runner, identity: {uid: 501, user: 'alice'}})
    expect(removed.removed).toBe(true)
    expect(existsSync(installed.file)).toBe(false)
    expect(calls.length).toBeGreaterThan(0)
  })

  it('a failing service manager is a clear error naming the command, and the file stays for a retry', async () => {
    const runner: Runner = async (command, args) => (args[1] === 'enable' ? {code: 1, stdout: '', stderr: 'Failed to connect to bus: No medium found'} : {code: 0, stdout: '', stderr: ''})
    const ctx = createContext({env: {HOME: home}, platform: 'linux', homedir: home})
    await expect(installService(ctx, {node: NODE, script: SCRIPT, runner})).rejects.toMatchObject({
      code: 'ERR_SERVICE',
      message: expect.stringContaining('`systemctl --user enable --now ona-watch.service` failed (exit 1): Failed to connect to bus'),
    })
    expect(existsSync(path.join(home, '.config', 'systemd', 'user', 'ona-watch.service'))).toBe(true)
  })

  it('the watcher started from the unit\'s own ExecStart runs, `ona service status` reports it, and SIGTERM stops it cleanly', async () => {
    const env = baseEnv(home, {ONA_API_URL: sim.url, ONA_TOKEN: sim.token, ONA_KEYRING: 'off'})
    const install = await runCli(['service', 'install', '--no-start', '--json'], {env})
    expect(install.code).toBe(0)
    const {file} = JSON.parse(install.stdout) as {file: string}
    const unit = await readFile(file, 'utf8')
    // What systemd would run: ExecStart's words and the unit's Environment= lines.
    const words = (line: string) => [...line.matchAll(/"((?:[^"\\]|\\.)*)"/g)].map((m) => m[1]!.replaceAll('\\"', '"').replaceAll('\\\\', '\\'))
    const [command, ...args] = words(/^ExecStart=(.*)$/m.exec(unit)![1]!)
    expect(command).toBe(process.execPath)
    expect(args.slice(0, 5)).toEqual(['--max-semi-space-size=1', '--lite-mode', binRun, 'ssh-sync', '--watch'])
    const unitEnv = Object.fromEntries(
      [...unit.matchAll(/^Environment=(.*)$/gm)].map((m) => {
        const [pair] = words(m[1]!)
        return [pair!.slice(0, pair!.indexOf('=')), pair!.slice(pair!.indexOf('=') + 1)]
      }),
    )
    expect(unitEnv.ONA_API_URL).toBe(sim.url)
    const child = spawn(command!, args, {env: {...env, ...unitEnv}, stdio: ['ignore', 'pipe', 'pipe']})
    let out = ''
    child.stdout.setEncoding('utf8').on('data', (c: string) => (out += c))
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)))
    try {
      await waitFor(async () => (await readFile(path.join(home, '.ssh', 'config'), 'utf8')).includes(BEGIN_MARKER), 15_000, 'the first sync')
      await waitFor(async () => {
        const status = await runCli(['service', 'status', '--json'], {env})
        const parsed = JSON.parse(status.stdout) as {running: boolean; lastSync?: string}
        return parsed.running && parsed.lastSync !== undefined
      }, 15_000, 'status: running, with a last sync')
      const status = JSON.parse((await runCli(['service', 'status', '--json'], {env})).stdout) as Record<string, unknown>
      expect(status).toMatchObject({kind: 'systemd', installed: true, running: true, pid: child.pid, environments: 3, logs: 'journalctl --user -u ona-watch.service'})
      const human = await runCli(['service', 'status'], {env})
      expect(human.stdout).toContain(`watcher   running (pid ${child.pid})`)
    } finally {
      child.kill('SIGTERM')
    }
    expect(await exited).toBe(0)
    expect(out).toContain('watching your environments')
    const after = JSON.parse((await runCli(['service', 'status', '--json'], {env})).stdout) as Record<string, unknown>
    expect(after).toMatchObject({running: false, stoppedAt: expect.any(String)})
  }, 60_000)
})
