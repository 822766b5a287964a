/**
 * `ideSetup` against real temp dirs, where two writers meet: the editor saving its settings while ona
 * writes them, and two `ona` processes recording what they added at the same time.
 */
import {mkdir, mkdtemp, readFile, rm, writeFile} from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import {PassThrough} from 'node:stream'

import {afterEach, beforeEach, describe, expect, it} from 'vitest'

import {createContext, type Context} from '../../src/lib/context.js'
import {userSettingsPath} from '../../src/lib/ide/editors.js'
import {parseSettings, remoteSshValues} from '../../src/lib/ide/settings.js'
import {configFileReach, ideSetup} from '../../src/lib/ide/setup.js'
import {readIdeState} from '../../src/lib/ide/state.js'
import {createIOStreams} from '../../src/lib/io.js'

let home: string
let ctx: Context
beforeEach(async () => {
  home = await mkdtemp(path.join(os.tmpdir(), 'ona-ide-lib-'))
  const env = {HOME: home}
  ctx = createContext({env, platform: 'linux', homedir: home, io: createIOStreams({out: new PassThrough(), err: new PassThrough(), isTTY: false, env})})
})
afterEach(async () => {
  await rm(home, {recursive: true, force: true})
})

async function settings(editor: 'vscode' | 'cursor', text: string): Promise<string> {
  const file = userSettingsPath(ctx.platform, editor)
  await mkdir(path.dirname(file), {recursive: true})
  await writeFile(file, text)
  return file
}

describe('ideSetup with other writers', () => {
  it('keeps what the editor saved while ona was writing: ona applies its change again on top of it', async () => {
    const file = await settings('vscode', '{\n\t"editor.fontSize": 14\n}\n')
    let saved = false
    const result = await ideSetup(ctx, {
      editors: ['vscode'],
      beforeRename: async () => {
        if (saved) return
        saved = true
        // The user changes a setting in the editor, which saves the file, between ona's read and its rename.
        await writeFile(file, '{\n\t"editor.fontSize": 16,\n\t"editor.tabSize": 2\n}\n')
      },
    })
    expect(saved).toBe(true)
    expect(result.editors[0]).toMatchObject({changed: true, written: true})
    const text = await readFile(file, 'utf8')
    expect(text).toBe('{\n\t"remote.SSH.remotePlatform": {\n\t\t"*.gitpod.environment": "linux",\n\t\t"*.gitpod.remote": "linux"\n\t},\n\t"editor.fontSize": 16,\n\t"editor.tabSize": 2\n}\n')
    expect(remoteSshValues(parseSettings(text, file)).remotePlatform).toEqual({'*.gitpod.environment': 'linux', '*.gitpod.remote': 'linux'})
  })

  it('two setups at once both have their additions recorded (the state file is merged under its lock)', async () => {
    const code = await settings('vscode', '{}\n')
    const cursor = await settings('cursor', '{}\n')
    await Promise.all([ideSetup(ctx, {editors: ['vscode']}), ideSetup(ctx, {editors: ['cursor']}), ideSetup(ctx, {editors: ['vscode', 'cursor']})])
    const state = await readIdeState(ctx)
    expect(Object.keys(state.files).sort()).toEqual([code, cursor].sort())
    for (const file of [code, cursor]) expect(state.files[file]!.remotePlatform).toEqual(['*.gitpod.environment', '*.gitpod.remote'])
    // And --remove of one leaves the other's record.
    await ideSetup(ctx, {editors: ['vscode'], remove: true})
    expect(Object.keys((await readIdeState(ctx)).files)).toEqual([cursor])
    expect(JSON.parse(await readFile(code, 'utf8'))).toEqual({})
  })
})

describe("remote.SSH.configFile: whether ssh given that file sees ona's block (ona ide setup and ona doctor)", () => {
  it('a path with a non-ASCII letter is read as written; an Include of the managed file in the system config does not count, as `ssh -F` skips that config', async () => {
    const system = path.join(home, 'ssh_config')
    const env = {HOME: home, ONA_SYSTEM_SSH_CONFIG: system}
    ctx = createContext({env, platform: 'linux', homedir: home, io: createIOStreams({out: new PassThrough(), err: new PassThrough(), isTTY: false, env})})
    await mkdir(path.join(home, '.ssh'), {recursive: true})
    await writeFile(ctx.paths.sshConfig, '# ona\n')
    await writeFile(system, `Include ${ctx.paths.sshConfig}\n`)
    const dir = path.join(home, 'jürgen')
    await mkdir(dir)
    const reads = path.join(dir, 'ssh_config')
    await writeFile(reads, `Include ${ctx.paths.sshConfig}\n`)
    const file = await settings('vscode', `{\n  "remote.SSH.configFile": "${reads}",\n}\n`)
    expect(await configFileReach(ctx, reads)).toEqual({named: reads, reads: true})
    expect((await ideSetup(ctx, {editors: ['vscode']})).editors[0]!.warnings).toEqual([])
    const other = path.join(home, 'other_config')
    await writeFile(other, 'Host work\n  HostName 10.0.0.1\n')
    await writeFile(file, `{"remote.SSH.configFile": "${other}"}`)
    expect(await configFileReach(ctx, other)).toEqual({named: other, reads: false})
    expect((await ideSetup(ctx, {editors: ['vscode']})).editors[0]!.warnings.map((w) => w.code)).toEqual(['W_IDE_CONFIG_FILE'])
  })
})
