/**
 * `ona ide setup` and `ona ssh --ide` as a user runs them: the built CLI, a scratch HOME holding editors'
 * settings files, the simulator on 127.0.0.1, and (for the argv ProxyCommand) a real sshd. Human output is
 * locked by test/golden/output/ide-setup.txt.
 */
import {spawn} from 'node:child_process'
import {chmod, lstat, mkdir, mkdtemp, readFile, readlink, rm, stat, symlink, writeFile} from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'

import SSHConfig from 'ssh-config'
import {afterAll, afterEach, beforeAll, beforeEach, describe, expect, it} from 'vitest'

import {startSimulator, type Simulator} from '../../src/lib/simulator/server.js'
import {expectGolden, normalise} from '../helpers/golden.js'
import {baseEnv, builtCli, runCli} from '../helpers/run-cli.js'
import {createSshKeys, startSshd, type SshKeys, type Sshd} from '../helpers/sshd.js'

const A = '0199ec15-59d3-7e92-8e22-8cb6c7ba4df7'
const STOPPED = '0199ec15-c3d8-7a66-b2f1-6e0d4f9a5b24'

const VSCODE_SETTINGS = `// VS Code user settings
{
\t"editor.fontSize": 14, // bigger
\t/* themes */
\t"workbench.colorTheme": "Default Dark+",
\t"remote.SSH.connectTimeout": 30,
\t"files.exclude": {"**/.git": true,},
}
`

let home: string
let sim: Simulator
let env: NodeJS.ProcessEnv

const settingsOf = (folder: string) => path.join(home, '.config', folder, 'User', 'settings.json')
async function writeSettings(folder: string, text: string): Promise<string> {
  const file = settingsOf(folder)
  await mkdir(path.dirname(file), {recursive: true})
  await writeFile(file, text, {mode: 0o644})
  return file
}

beforeAll(async () => {
  sim = await startSimulator({
    seed: [
      {id: A, name: 'api', ssh: {host: '127.0.0.11', port: 2222}, checkoutFolder: '/workspaces/api'},
      {id: STOPPED, name: 'old', phase: 'ENVIRONMENT_PHASE_STOPPED'},
    ],
  })
})
afterAll(async () => {
  await sim.close()
})
beforeEach(async () => {
  home = await mkdtemp(path.join(os.tmpdir(), 'ona-ide-'))
  await mkdir(path.join(home, '.ssh'), {mode: 0o700})
  await writeFile(path.join(home, '.ssh', 'config'), 'Host github.com\n  User git\n', {mode: 0o600})
  env = baseEnv(home, {ONA_API_URL: sim.url, ONA_TOKEN: sim.token, ONA_KEYRING: 'off'})
})
afterEach(async () => {
  await rm(home, {recursive: true, force: true})
})

const norm = (text: string) => normalise(text, {dirs: [home], replace: [[sim.url, '<API>']]})
const shown = (r: {stdout: string; stderr: string; code: number | null}) => norm(`${r.stdout}${r.stderr.replace(/^(.)/gm, '[stderr] $1')}[exit ${r.code}]\n`)

describe.skipIf(!builtCli)('ona ide setup (built CLI)', () => {
  it('sets up, is idempotent, previews, warns, takes out only what it added: golden output', async () => {
    const vscode = await writeSettings('Code', VSCODE_SETTINGS)
    // Cursor's Remote-SSH reads another config file, one that does not Include ona's block.
    const other = path.join(home, 'other_ssh_config')
    await writeFile(other, 'Host work\n  HostName 10.0.0.1\n')
    const cursor = await writeSettings('Cursor', `{\n  "remote.SSH.configFile": "${other}"\n}\n`)
    const steps: string[] = []
    const step = async (title: string, args: string[]) => {
      const r = await runCli(args, {env})
      steps.push(`$ ona ${args.join(' ')}    # ${title}\n${shown(r)}`)
      return r
    }
    expect((await step('resolve-on-connect off: the timeout is left alone', ['ide', 'setup', 'vscode', '--dry-run'])).code).toBe(0)
    expect((await runCli(['ssh-sync', '--resolve-on-connect'], {env})).code).toBe(0)
    expect((await step('a preview', ['ide', 'setup', 'vscode', '--dry-run'])).code).toBe(0)
    expect(await readFile(vscode, 'utf8')).toBe(VSCODE_SETTINGS)
    expect((await step('the change', ['ide', 'setup', 'vscode'])).code).toBe(0)
    const after = await readFile(vscode, 'utf8')
    expect((await step('again: nothing to do', ['ide', 'setup', 'vscode'])).code).toBe(0)
    expect(await readFile(vscode, 'utf8')).toBe(after)
    expect((await step('every editor with settings', ['ide', 'setup', '--all'])).code).toBe(0)
    expect((await step('take it out again', ['ide', 'setup', 'vscode', '--remove'])).code).toBe(0)
    expect((await step('twice', ['ide', 'setup', 'vscode', '--remove'])).code).toBe(0)
    expect((await step('an editor that is not installed', ['ide', 'setup', 'windsurf'])).code).toBe(1)
    await writeFile(vscode, '{\n\t"a": 1\n\t"b": 2\n}\n')
    expect((await step('a broken settings file', ['ide', 'setup', 'vscode'])).code).toBe(1)
    expect(await readFile(vscode, 'utf8')).toBe('{\n\t"a": 1\n\t"b": 2\n}\n')
    expect((await step('no editor named', ['ide', 'setup'])).code).toBe(2)
    expectGolden('output/ide-setup.txt', steps.join('\n'))
    // Cursor's own key stays, ona's values went in beside it.
    expect(await readFile(cursor, 'utf8')).toContain(`"remote.SSH.configFile": "${other}"`)
  })

  it('--remove gives back the file byte for byte, keeping its mode; a symlinked settings.json is written through', async () => {
    // A dotfile manager's layout: settings.json is a link into the user's dotfiles repository.
    const dotfiles = path.join(home, 'dotfiles', 'vscode-settings.json')
    await mkdir(path.dirname(dotfiles), {recursive: true})
    await writeFile(dotfiles, VSCODE_SETTINGS, {mode: 0o640})
    await chmod(dotfiles, 0o640)
    const link = settingsOf('Code')
    await mkdir(path.dirname(link), {recursive: true})
    await symlink(dotfiles, link)
    expect((await runCli(['ssh-sync', '--resolve-on-connect'], {env})).code).toBe(0)
    expect((await runCli(['ide', 'setup', 'vscode'], {env})).code).toBe(0)
    expect((await lstat(link)).isSymbolicLink()).toBe(true)
    expect(await readlink(link)).toBe(dotfiles)
    expect(await readFile(dotfiles, 'utf8')).toContain('"remote.SSH.connectTimeout": 660,')
    expect((await stat(dotfiles)).mode & 0o777).toBe(0o640)
    const state = JSON.parse(await readFile(path.join(home, '.local', 'state', 'ona', 'ide-settings.json'), 'utf8')) as {files: Record<string, unknown>}
    expect(state.files[link]).toEqual({remotePlatform: ['*.gitpod.environment', '*.gitpod.remote'], remotePlatformCreated: true, connectTimeout: {value: 660, previous: 30}})
    expect((await runCli(['ide', 'setup', 'vscode', '--remove'], {env})).code).toBe(0)
    expect(await readFile(dotfiles, 'utf8')).toBe(VSCODE_SETTINGS)
    expect((await stat(dotfiles)).mode & 0o777).toBe(0o640)
  })

  it('with friendly aliases on, *.ona gets its platform too (or the editor asks for it at the first connect), and --remove takes it out', async () => {
    await writeSettings('Code', VSCODE_SETTINGS)
    expect((await runCli(['ssh-sync', '--friendly-aliases'], {env})).code).toBe(0)
    const result = await runCli(['ide', 'setup', 'vscode', '--json'], {env})
    expect(result.code).toBe(0)
    const changes = (JSON.parse(result.stdout) as {editors: Array<{changes: Array<{setting: string; action: string}>}>}).editors[0]!.changes
    expect(changes.filter((c) => c.setting.startsWith('remote.SSH.remotePlatform'))).toEqual([
      {setting: 'remote.SSH.remotePlatform["*.gitpod.environment"]', action: 'added', value: 'linux'},
      {setting: 'remote.SSH.remotePlatform["*.gitpod.remote"]', action: 'added', value: 'linux'},
      {setting: 'remote.SSH.remotePlatform["*.ona"]', action: 'added', value: 'linux'},
    ])
    expect(await readFile(settingsOf('Code'), 'utf8')).toContain('"*.ona": "linux"')
    expect((await runCli(['ide', 'setup', 'vscode', '--remove'], {env})).code).toBe(0)
    expect(await readFile(settingsOf('Code'), 'utf8')).toBe(VSCODE_SETTINGS)
  })

  it('--json reports each setting and what was done with it', async () => {
    await writeSettings('Code', '{}\n')
    const result = await runCli(['ide', 'setup', 'vscode', '--json'], {env})
    expect(result.code).toBe(0)
    expect(JSON.parse(result.stdout)).toEqual({
      action: 'setup',
      dryRun: false,
      resolveOnConnect: false,
      connectTimeout: 660,
      editors: [
        {
          editor: 'vscode',
          name: 'VS Code',
          file: settingsOf('Code'),
          existed: true,
          changed: true,
          written: true,
          changes: [
            {setting: 'remote.SSH.remotePlatform["*.gitpod.environment"]', action: 'added', value: 'linux'},
            {setting: 'remote.SSH.remotePlatform["*.gitpod.remote"]', action: 'added', value: 'linux'},
          ],
          warnings: [],
        },
      ],
      warnings: [expect.objectContaining({code: 'W_IDE_NO_RESOLVE_ON_CONNECT'})],
    })
  })

  it("remote.SSH.configFile is checked against the managed file saved with `ona ssh-sync --ssh-config`, as sync, `ona ssh` and doctor use it", async () => {
    const managed = path.join(home, '.ssh', 'ona.conf')
    expect((await runCli(['ssh-sync', '--ssh-config', managed], {env})).code).toBe(0)
    expect(await readFile(managed, 'utf8')).toContain(`${A}.gitpod.environment`)
    const configFile = async (target: string) => {
      const named = path.join(home, '.ssh', 'vscode_config')
      await writeFile(named, `Include ${target}\nHost work\n  HostName 10.0.0.1\n`)
      await writeSettings('Code', `{"remote.SSH.configFile": "${named}"}`)
      const result = await runCli(['ide', 'setup', 'vscode', '--json'], {env})
      expect(result.code).toBe(0)
      return (JSON.parse(result.stdout) as {editors: Array<{warnings: Array<{code: string; message: string}>}>}).editors[0]!.warnings
    }
    // The editor's file Includes the managed file: ssh given it with -F sees ona's block, nothing to say.
    expect(await configFile(managed)).toEqual([])
    // It Includes ~/.ssh/config, which holds no ona block since --ssh-config: the host list has no aliases.
    expect(await configFile(path.join(home, '.ssh', 'config'))).toEqual([
      expect.objectContaining({code: 'W_IDE_CONFIG_FILE', message: expect.stringContaining(`does not see ona's block in ${managed}`)}),
    ])
    // --ssh-config names the file for this run, as for doctor.
    await writeFile(path.join(home, '.ssh', 'vscode_config'), `Include ${path.join(home, '.ssh', 'config')}\n`)
    const flagged = await runCli(['ide', 'setup', 'vscode', '--json', '--ssh-config', path.join(home, '.ssh', 'config')], {env})
    expect((JSON.parse(flagged.stdout) as {editors: Array<{warnings: unknown[]}>}).editors[0]!.warnings).toEqual([])
  })

  it('`ona ssh-sync --resolve-on-connect` says once that VS Code needs `ona ide setup vscode`', async () => {
    const first = await runCli(['ssh-sync', '--resolve-on-connect'], {env})
    expect(first.code).toBe(0)
    // No editor settings on this machine: nothing to say (and nothing remembered, so it can come later).
    expect(first.stderr).not.toContain('ona ide setup')
    await writeSettings('Code', '{}\n')
    const second = await runCli(['ssh-sync', '--resolve-on-connect'], {env})
    expect(second.stderr).toContain('note: VS Code has user settings here: for a stopped environment to start when you pick it in the editor\'s Remote-SSH host list, run `ona ide setup vscode` once')
    const third = await runCli(['ssh-sync', '--resolve-on-connect'], {env})
    expect(third.code).toBe(0)
    expect(third.stderr).not.toContain('ona ide setup')
  })
})

describe.skipIf(!builtCli)('ona ssh --ide (built CLI)', () => {
  /** A stand-in launcher on PATH that records its arguments. */
  async function standIn(name: string): Promise<{bin: string; args: () => Promise<string[]>}> {
    const bin = path.join(home, 'bin')
    await mkdir(bin, {recursive: true})
    const out = path.join(home, `${name}-args`)
    await writeFile(path.join(bin, name), `#!/bin/sh\nprintf '%s\\n' "$@" > "${out}"\n`)
    await chmod(path.join(bin, name), 0o755)
    return {bin, args: async () => (await readFile(out, 'utf8')).trim().split('\n')}
  }

  it.each([
    ['cursor', 'cursor'],
    ['windsurf', 'windsurf'],
    ['vscodium', 'codium'],
  ])('--ide %s opens `%s --remote ssh-remote+<alias>` in the checkout folder the API reports', async (ide, cli) => {
    const launcher = await standIn(cli)
    const result = await runCli(['ssh', A, '--ide', ide, '--skip-preflight'], {env: {...env, PATH: `${launcher.bin}:${env.PATH}`}})
    expect(result.stderr).not.toContain('error:')
    expect(result.code).toBe(0)
    expect(await launcher.args()).toEqual(['--remote', `ssh-remote+${A}.gitpod.environment`, '/workspaces/api'])
    expect(result.stderr).toContain(`opening ${ide === 'vscodium' ? 'VSCodium' : ide === 'cursor' ? 'Cursor' : 'Windsurf'} on ${A}.gitpod.environment in /workspaces/api`)
  })

  it('--path wins over the checkout folder; an editor not on PATH is a clear error', async () => {
    const launcher = await standIn('code')
    const withPath = await runCli(['ssh', A, '--ide', 'vscode', '--path', '/tmp/x', '--skip-preflight'], {env: {...env, PATH: `${launcher.bin}:${env.PATH}`}})
    expect(withPath.code).toBe(0)
    expect(await launcher.args()).toEqual(['--remote', `ssh-remote+${A}.gitpod.environment`, '/tmp/x'])
    const missing = await runCli(['ssh', A, '--ide', 'cursor', '--skip-preflight'], {env})
    expect(missing.code).toBe(1)
    expect(missing.stderr).toContain('error: Cursor (`cursor`) is not on PATH')
  })

  it('--ide jetbrains starts the environment and says how to connect Gateway through the alias', async () => {
    const result = await runCli(['ssh', STOPPED, '--ide', 'jetbrains', '--skip-preflight'], {env, timeoutMs: 30_000})
    expect(result.code).toBe(0)
    expect(result.stderr).toMatch(/ready after/)
    expect(result.stdout).toContain(`Host ${STOPPED}.gitpod.environment, Port 22, Username gitpod_devcontainer`)
    expect(result.stdout).toContain('no documented way to be opened on an SSH host')
    expect(result.stdout).toContain(path.join(home, '.config', 'ona', 'ssh', 'id_ed25519'))
  })
})

/**
 * Open Remote - SSH (VSCodium's Remote-SSH) does not run OpenSSH: it reads the config with the `ssh-config`
 * library, splits the ProxyCommand into words (whitespace; double quotes group; a backslash escapes the next
 * character), puts the host in for %h, and spawns the words as argv without a shell, then speaks SSH over
 * the child's stdin/stdout. Here the ProxyCommand ona wrote is run exactly so, and the SSH banner of a real
 * sshd must come back.
 */
describe.skipIf(!builtCli)('Open Remote - SSH: the ProxyCommand spawned as argv, without a shell', () => {
  let keys: SshKeys
  let sshd: Sshd
  beforeAll(async () => {
    keys = await createSshKeys()
    sshd = await startSshd({host: '127.0.0.62', keys})
  })
  afterAll(async () => {
    await sshd?.stop()
    await keys?.release()
  })

  /** The word splitting Open Remote - SSH applies to a ProxyCommand string (ssh-config 5 returns one string). */
  function words(value: string): string[] {
    const out: string[] = []
    let current = ''
    let inWord = false
    let quoted = false
    for (let i = 0; i < value.length; i++) {
      const ch = value[i]!
      if (ch === '\\' && i + 1 < value.length) {
        current += value[++i]
        inWord = true
      } else if (ch === '"') {
        quoted = !quoted
        inWord = true
      } else if (!quoted && /\s/.test(ch)) {
        if (inWord) out.push(current)
        current = ''
        inWord = false
      } else {
        current += ch
        inWord = true
      }
    }
    if (inWord) out.push(current)
    return out
  }

  it('carries the connection to the environment: the sshd banner comes back on stdout', async () => {
    sim.setSshAddress(A, {host: sshd.host, port: sshd.port, user: sshd.user})
    expect((await runCli(['ssh-sync', '--resolve-on-connect'], {env})).code).toBe(0)
    const alias = `${A}.gitpod.environment`
    const parsed = SSHConfig.parse(await readFile(path.join(home, '.ssh', 'config'), 'utf8'))
    const host = parsed.compute(alias) as Record<string, string | string[]>
    const proxy = host.ProxyCommand!
    const argv = (Array.isArray(proxy) ? proxy : words(proxy)).map((w) => w.replace('%h', String(host.HostName)).replace('%n', alias).replace('%p', String(host.Port)).replace('%r', String(host.User)))
    expect(argv[0]).toBe(process.execPath)
    const child = spawn(argv[0]!, argv.slice(1), {env, stdio: ['pipe', 'pipe', 'pipe'], shell: false})
    const banner = await new Promise<string>((resolve, reject) => {
      let out = ''
      child.stdout.setEncoding('latin1').on('data', (chunk: string) => {
        out += chunk
        if (out.includes('\n')) resolve(out.split('\n')[0]!)
      })
      child.once('error', reject)
      child.once('exit', (code) => reject(new Error(`the ProxyCommand exited (${code}) before the banner`)))
      setTimeout(() => reject(new Error('no banner within 20 s')), 20_000).unref()
    })
    child.stdin.end()
    child.kill()
    expect(banner).toMatch(/^SSH-2\.0-OpenSSH/)
  }, 30_000)
})
