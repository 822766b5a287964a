/**
 * The per-OS rules of src/lib/platform, run on Linux with Windows and macOS platforms built by hand
 * (the same object createContext injects), so each branch is proven here and not only on that OS.
 */
import {mkdtemp, readFile, rm, writeFile} from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'

import {describe, expect, it} from 'vitest'

import {createContext} from '../../src/lib/context.js'
import {OnaError} from '../../src/lib/errors.js'
import {createDnsResolver} from '../../src/lib/preflight/dns.js'
import {
  cacheDir,
  configDir,
  defaultSshConfig,
  expandHome,
  hostsFile,
  renameWithRetry,
  shutdownSignals,
  stateDir,
  type Platform,
} from '../../src/lib/platform/index.js'
import {findOnPath, planVsCode, quoteForCmd, vscodeRemoteUrl} from '../../src/lib/ide/launch.js'

const win = (env: NodeJS.ProcessEnv = {}): Platform => ({name: 'win32', homedir: 'C:\\Users\\ada', env: {USERPROFILE: 'C:\\Users\\ada', ...env}})
const mac = (env: NodeJS.ProcessEnv = {}): Platform => ({name: 'darwin', homedir: '/Users/ada', env: {HOME: '/Users/ada', ...env}})
const linux = (env: NodeJS.ProcessEnv = {}): Platform => ({name: 'linux', homedir: '/home/ada', env: {HOME: '/home/ada', ...env}})

describe('the SSH config OpenSSH, VS Code and Gateway read', () => {
  it.each([
    ['Linux: $HOME/.ssh/config', linux(), '/home/ada/.ssh/config'],
    ['macOS: $HOME/.ssh/config', mac(), '/Users/ada/.ssh/config'],
    ['Windows: %USERPROFILE%\\.ssh\\config', win(), 'C:\\Users\\ada\\.ssh\\config'],
    // Regression: MSYS / Git Bash export HOME=/c/Users/ada (or a different profile); Windows OpenSSH ignores it.
    ['Windows with HOME set by Git Bash: still %USERPROFILE%', win({HOME: '/c/Users/other'}), 'C:\\Users\\ada\\.ssh\\config'],
    ['Windows without USERPROFILE: the OS home', {name: 'win32', homedir: 'D:\\Profiles\\ada', env: {HOME: '/c/x'}} as Platform, 'D:\\Profiles\\ada\\.ssh\\config'],
  ])('%s', (_, platform, expected) => {
    expect(defaultSshConfig(platform)).toBe(expected)
  })

  it('is what a Windows context uses even when HOME is set', () => {
    const ctx = createContext({platform: 'win32', homedir: 'C:\\Users\\ada', env: {HOME: '/c/Users/ada', USERPROFILE: 'C:\\Users\\ada'}})
    expect(ctx.paths.sshConfig).toBe('C:\\Users\\ada\\.ssh\\config')
    expect(ctx.paths.home).toBe('C:\\Users\\ada')
  })
})

describe('~ expansion', () => {
  it.each([
    ['~ alone', linux(), '~', '/home/ada'],
    ['~/ on Linux', linux(), '~/.ssh/ona', '/home/ada/.ssh/ona'],
    ['~\\ is a file name on Linux, made absolute', linux(), '~\\x', path.posix.resolve('~\\x')],
    ['~/ on Windows', win(), '~/.ssh/ona', 'C:\\Users\\ada\\.ssh\\ona'],
    ['~\\ on Windows', win(), '~\\.ssh\\ona', 'C:\\Users\\ada\\.ssh\\ona'],
    ['an absolute Windows path kept', win(), 'D:\\cfg\\ssh', 'D:\\cfg\\ssh'],
    ['~user left alone (made absolute)', linux(), '~bob/x', path.posix.resolve('~bob/x')],
  ])('%s', (_, platform, input, expected) => {
    expect(expandHome(platform, input)).toBe(expected)
  })

  it('applies to --ssh-config in a Windows context', () => {
    const ctx = createContext({platform: 'win32', homedir: 'C:\\Users\\ada', env: {USERPROFILE: 'C:\\Users\\ada'}, sshConfig: '~\\.ssh\\config.d\\ona'})
    expect(ctx.paths.sshConfig).toBe('C:\\Users\\ada\\.ssh\\config.d\\ona')
  })
})

describe('config and state directories', () => {
  it.each([
    ['Linux default', linux(), '/home/ada/.config/ona', '/home/ada/.local/state/ona', '/home/ada/.cache/ona'],
    ['Linux XDG', linux({XDG_CONFIG_HOME: '/x/c', XDG_STATE_HOME: '/x/s', XDG_CACHE_HOME: '/x/k'}), '/x/c/ona', '/x/s/ona', '/x/k/ona'],
    ['Linux relative XDG ignored (XDG spec)', linux({XDG_CONFIG_HOME: 'rel', XDG_STATE_HOME: 'rel'}), '/home/ada/.config/ona', '/home/ada/.local/state/ona', '/home/ada/.cache/ona'],
    ['macOS: ~/Library', mac(), '/Users/ada/Library/Application Support/ona', '/Users/ada/Library/Application Support/ona/state', '/Users/ada/Library/Caches/ona'],
    ['macOS ignores XDG (platform-native)', mac({XDG_CONFIG_HOME: '/x/c'}), '/Users/ada/Library/Application Support/ona', '/Users/ada/Library/Application Support/ona/state', '/Users/ada/Library/Caches/ona'],
    [
      'Windows: %APPDATA% and %LOCALAPPDATA%',
      win({APPDATA: 'C:\\Users\\ada\\AppData\\Roaming', LOCALAPPDATA: 'C:\\Users\\ada\\AppData\\Local'}),
      'C:\\Users\\ada\\AppData\\Roaming\\ona',
      'C:\\Users\\ada\\AppData\\Local\\ona',
      'C:\\Users\\ada\\AppData\\Local\\ona\\cache',
    ],
    ['Windows variables in any case', win({AppData: 'E:\\roam', LocalAppData: 'E:\\local'}), 'E:\\roam\\ona', 'E:\\local\\ona', 'E:\\local\\ona\\cache'],
    ['Windows without the variables', win(), 'C:\\Users\\ada\\AppData\\Roaming\\ona', 'C:\\Users\\ada\\AppData\\Local\\ona', 'C:\\Users\\ada\\AppData\\Local\\ona\\cache'],
    ['ONA_CONFIG_DIR and ONA_STATE_DIR override (Linux)', linux({ONA_CONFIG_DIR: '/etc/ona-cfg', ONA_STATE_DIR: '/run/ona'}), '/etc/ona-cfg', '/run/ona', '/home/ada/.cache/ona'],
    ['ONA_CONFIG_DIR overrides (Windows)', win({ONA_CONFIG_DIR: 'D:\\ona', APPDATA: 'C:\\r'}), 'D:\\ona', 'C:\\Users\\ada\\AppData\\Local\\ona', 'C:\\Users\\ada\\AppData\\Local\\ona\\cache'],
  ])('%s', (_, platform, config, state, cache) => {
    expect([configDir(platform), stateDir(platform), cacheDir(platform)]).toEqual([config, state, cache])
  })

  it('are what the context carries', () => {
    const ctx = createContext({platform: 'darwin', homedir: '/Users/ada', env: {HOME: '/Users/ada', ONA_STATE_DIR: '/tmp/st'}})
    expect(ctx.paths.configDir).toBe('/Users/ada/Library/Application Support/ona')
    expect(ctx.paths.stateDir).toBe('/tmp/st')
  })
})

describe('--ssh-config', () => {
  // Regression: `--ssh-config ''` resolved to the working directory and reported "/cwd is not a regular file".
  it('refuses an empty value as a usage error instead of using the working directory', () => {
    let error: unknown
    try {
      createContext({env: {HOME: '/home/ada'}, sshConfig: ''})
    } catch (caught) {
      error = caught
    }
    expect(error).toBeInstanceOf(OnaError)
    expect((error as OnaError).code).toBe('ERR_USAGE')
    expect((error as OnaError).exitCode).toBe(2)
    expect((error as OnaError).message).toBe('--ssh-config was given an empty path')
  })

  it('treats an empty ONA_SSH_CONFIG as unset', () => {
    expect(createContext({env: {HOME: '/home/ada', ONA_SSH_CONFIG: ''}}).paths.sshConfig).toBe('/home/ada/.ssh/config')
  })
})

describe('hosts file for the preflight', () => {
  it.each([
    ['Linux', linux(), '/etc/hosts'],
    ['macOS', mac(), '/etc/hosts'],
    ['Windows, %SystemRoot%', win({SystemRoot: 'D:\\WINDOWS'}), 'D:\\WINDOWS\\System32\\drivers\\etc\\hosts'],
    ['Windows, windir when SystemRoot is missing', win({windir: 'C:\\WinNT'}), 'C:\\WinNT\\System32\\drivers\\etc\\hosts'],
    ['Windows, neither set', win(), 'C:\\Windows\\System32\\drivers\\etc\\hosts'],
  ])('%s', (_, platform, expected) => {
    expect(hostsFile(platform)).toBe(expected)
  })

  it('is the file the resolver falls back to for a name DNS does not know (CRLF lines too)', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'ona-hosts-'))
    try {
      const file = path.join(dir, 'hosts')
      await writeFile(file, '# Windows hosts\r\n127.0.0.9  ona-hosts-test.invalid\r\n')
      const answer = await createDnsResolver(undefined, {hostsFile: file}).resolve('ona-hosts-test.invalid', 3000)
      expect(answer).toEqual({ok: true, v4: ['127.0.0.9'], v6: [], via: file})
    } finally {
      await rm(dir, {recursive: true, force: true})
    }
  })
})

describe('shutdown signals', () => {
  it('include Ctrl-Break and console close on Windows', () => {
    expect(shutdownSignals(win())).toEqual(['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGBREAK'])
    expect(shutdownSignals(linux())).toEqual(['SIGINT', 'SIGTERM', 'SIGHUP'])
  })
})

describe('renameWithRetry', () => {
  const busy = (code: string) => Object.assign(new Error(code), {code})

  function flaky(failures: string[]) {
    const calls: string[] = []
    return {
      calls,
      rename: async (from: string, to: string) => {
        calls.push(`${from}->${to}`)
        const code = failures.shift()
        if (code) throw busy(code)
      },
    }
  }

  it.each(['EPERM', 'EBUSY', 'EACCES'])('retries %s on Windows until the holder lets go', async (code) => {
    const fake = flaky([code, code, code])
    const slept: number[] = []
    await renameWithRetry('a', 'b', {platform: 'win32', rename: fake.rename, sleep: async (ms) => void slept.push(ms)})
    expect(fake.calls).toHaveLength(4)
    expect(slept).toEqual([10, 20, 40])
  })

  it('gives up after the bounded wait and throws the last error', async () => {
    const fake = flaky(Array(1000).fill('EPERM'))
    const slept: number[] = []
    await expect(renameWithRetry('a', 'b', {platform: 'win32', maxWaitMs: 1000, rename: fake.rename, sleep: async (ms) => void slept.push(ms)})).rejects.toMatchObject({code: 'EPERM'})
    expect(slept.reduce((a, b) => a + b, 0)).toBe(1000)
    expect(Math.max(...slept)).toBeLessThanOrEqual(500)
  })

  it.each([
    ['EPERM on Linux (a real failure there)', 'linux', 'EPERM'],
    ['ENOSPC on Windows', 'win32', 'ENOSPC'],
    ['EXDEV on Windows', 'win32', 'EXDEV'],
  ] as const)('does not retry %s', async (_, platform, code) => {
    const fake = flaky([code])
    await expect(renameWithRetry('a', 'b', {platform, rename: fake.rename, sleep: async () => {}})).rejects.toMatchObject({code})
    expect(fake.calls).toHaveLength(1)
  })

  it('renames a real file', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'ona-rename-'))
    try {
      await writeFile(path.join(dir, 'a'), 'new')
      await writeFile(path.join(dir, 'b'), 'old')
      await renameWithRetry(path.join(dir, 'a'), path.join(dir, 'b'))
      expect(await readFile(path.join(dir, 'b'), 'utf8')).toBe('new')
    } finally {
      await rm(dir, {recursive: true, force: true})
    }
  })
})

describe('opening VS Code', () => {
  const files = (...present: string[]) => (file: string) => present.includes(file)
  const alias = '0199ec15.gitpod.environment'

  it('finds code.cmd on a Windows PATH through PATHEXT, with quoted entries and Path spelled any case', () => {
    const platform = win({Path: 'C:\\Windows;"C:\\Program Files\\Microsoft VS Code\\bin"', PATHEXT: '.COM;.EXE;.BAT;.CMD'})
    expect(findOnPath(platform, 'code', files('C:\\Program Files\\Microsoft VS Code\\bin\\code.cmd'))).toBe('C:\\Program Files\\Microsoft VS Code\\bin\\code.cmd')
  })

  // Regression: spawn('code') never finds code.cmd on Windows, and Node refuses to spawn a .cmd without a shell.
  it('runs code.cmd on Windows through cmd.exe with every argument quoted and escaped', () => {
    const platform = win({PATH: 'C:\\VSCode\\bin', ComSpec: 'C:\\Windows\\system32\\cmd.exe'})
    const plan = planVsCode(platform, {alias, path: '/work/a b&c'}, files('C:\\VSCode\\bin\\code.cmd'))
    expect(plan).toEqual({
      command: 'C:\\Windows\\system32\\cmd.exe',
      args: ['/d', '/s', '/c', `"^"C:\\VSCode\\bin\\code.cmd^" ^^^"--remote^^^" ^^^"ssh-remote+0199ec15.gitpod.environment^^^" ^^^"/work/a^^^ b^^^&c^^^""`],
      windowsVerbatimArguments: true,
      via: 'cmd',
    })
  })

  it.each([
    ['& | < > ^ %', 'a&b|c<d>e^f%PATH%'],
    ['quotes and backslashes', 'C:\\x\\"y\\'],
    ['parentheses and !', '(a)!b'],
  ])('leaves no unescaped cmd metacharacter in an argument with %s', (_, arg) => {
    const quoted = quoteForCmd(arg)
    // Every metacharacter is preceded by a caret (itself escaped): none can end the quoting or chain a command.
    const unescaped = quoted.replace(/\^\^\^./g, '').replace(/\^./g, '')
    expect(unescaped).not.toMatch(/[()\][%!^"`<>&|;, *?]/)
  })

  it('opens the vscode:// URL through rundll32 on Windows without code on PATH', () => {
    const plan = planVsCode(win({PATH: 'C:\\Windows', SystemRoot: 'C:\\Windows'}), {alias, path: '/workspaces/app'}, files())
    expect(plan).toEqual({
      command: 'C:\\Windows\\System32\\rundll32.exe',
      args: ['url.dll,FileProtocolHandler', 'vscode://vscode-remote/ssh-remote+0199ec15.gitpod.environment/workspaces/app'],
      via: 'url',
    })
  })

  it('spawns code directly when it is on PATH (Linux and macOS)', () => {
    expect(planVsCode(linux({PATH: '/usr/bin:/opt/code/bin'}), {alias}, files('/opt/code/bin/code'))).toEqual({
      command: '/opt/code/bin/code',
      args: ['--remote', `ssh-remote+${alias}`],
      via: 'code',
    })
  })

  it('falls back to the VS Code app through open and the vscode:// URL on macOS', () => {
    expect(planVsCode(mac({PATH: '/usr/bin'}), {alias, path: '/workspaces/my app'}, files())).toEqual({
      command: '/usr/bin/open',
      args: ['vscode://vscode-remote/ssh-remote+0199ec15.gitpod.environment/workspaces/my%20app'],
      via: 'url',
    })
  })

  it('has no plan on Linux without code on PATH', () => {
    expect(planVsCode(linux({PATH: '/usr/bin'}), {alias}, files())).toBeUndefined()
  })

  it.each([
    ['no path', undefined, 'vscode://vscode-remote/ssh-remote+h/'],
    ['a relative path', 'src', 'vscode://vscode-remote/ssh-remote+h/src'],
    ['# and ? encoded', '/a#b?c', 'vscode://vscode-remote/ssh-remote+h/a%23b%3Fc'],
  ])('builds the remote URL with %s', (_, remotePath, expected) => {
    expect(vscodeRemoteUrl('h', remotePath)).toBe(expected)
  })
})
