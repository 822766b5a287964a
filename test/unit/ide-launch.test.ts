/**
 * Opening the forks of VS Code on an alias, per platform, with the platform injected: each editor's own
 * launcher (`cursor.cmd` through cmd.exe on Windows) and URL scheme (macOS `open`, Windows rundll32).
 */
import {describe, expect, it} from 'vitest'

import {editorRemoteUrl, planEditor} from '../../src/lib/ide/launch.js'
import type {Platform} from '../../src/lib/platform/platform.js'

const alias = '0199ec15.gitpod.environment'
const files = (...present: string[]) => (file: string) => present.includes(file)
const win = (env: NodeJS.ProcessEnv): Platform => ({name: 'win32', homedir: 'C:\\Users\\ada', env: {USERPROFILE: 'C:\\Users\\ada', SystemRoot: 'C:\\Windows', ...env}})
const mac: Platform = {name: 'darwin', homedir: '/Users/ada', env: {HOME: '/Users/ada', PATH: '/usr/bin'}}

describe('opening a fork of VS Code', () => {
  it.each([
    ['cursor', 'C:\\Cursor\\bin\\cursor.cmd'],
    ['windsurf', 'C:\\Windsurf\\bin\\windsurf.cmd'],
    ['vscodium', 'C:\\VSCodium\\bin\\codium.cmd'],
    ['code-insiders', 'C:\\Insiders\\bin\\code-insiders.cmd'],
  ] as const)('runs %s\'s batch launcher on Windows through cmd.exe, found through PATHEXT', (editor, launcher) => {
    const dir = launcher.slice(0, launcher.lastIndexOf('\\'))
    const plan = planEditor(win({PATH: `C:\\Windows;${dir}`, ComSpec: 'C:\\Windows\\system32\\cmd.exe'}), editor, {alias, path: '/workspaces/app'}, files(launcher))
    expect(plan).toMatchObject({command: 'C:\\Windows\\system32\\cmd.exe', windowsVerbatimArguments: true, via: 'cmd'})
    expect(plan!.args.slice(0, 3)).toEqual(['/d', '/s', '/c'])
    expect(plan!.args[3]).toContain(`^"${launcher}^"`)
    expect(plan!.args[3]).toContain(`^^^"ssh-remote+${alias}^^^"`)
  })

  it.each([
    ['cursor', 'cursor://vscode-remote/ssh-remote+0199ec15.gitpod.environment/workspaces/app'],
    ['windsurf', 'windsurf://vscode-remote/ssh-remote+0199ec15.gitpod.environment/workspaces/app'],
    ['vscodium', 'vscodium://vscode-remote/ssh-remote+0199ec15.gitpod.environment/workspaces/app'],
    ['code-insiders', 'vscode-insiders://vscode-remote/ssh-remote+0199ec15.gitpod.environment/workspaces/app'],
  ] as const)('without %s on PATH, hands its own URL to the app (macOS open, Windows rundll32)', (editor, url) => {
    expect(editorRemoteUrl(editor, alias, '/workspaces/app')).toBe(url)
    expect(planEditor(mac, editor, {alias, path: '/workspaces/app'}, files())).toEqual({command: '/usr/bin/open', args: [url], via: 'url'})
    expect(planEditor(win({PATH: 'C:\\Windows'}), editor, {alias, path: '/workspaces/app'}, files())).toEqual({command: 'C:\\Windows\\System32\\rundll32.exe', args: ['url.dll,FileProtocolHandler', url], via: 'url'})
  })

  it('never runs VS Code\'s `code` for a fork', () => {
    const linux: Platform = {name: 'linux', homedir: '/home/ada', env: {HOME: '/home/ada', PATH: '/usr/bin'}}
    expect(planEditor(linux, 'cursor', {alias}, files('/usr/bin/code'))).toBeUndefined()
    expect(planEditor(linux, 'cursor', {alias}, files('/usr/bin/code', '/usr/bin/cursor'))).toEqual({command: '/usr/bin/cursor', args: ['--remote', `ssh-remote+${alias}`], via: 'code'})
  })
})
