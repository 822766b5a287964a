/**
 * The per-entry options (IdentityFile, IdentitiesOnly, ProxyCommand) as the two readers that matter see
 * them: the real OpenSSH client (`ssh -G`) and the `ssh-config` library VS Code forks parse with.
 */
import {mkdtemp, rm, writeFile} from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'

import SSHConfig from 'ssh-config'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {OnaError} from '../../src/lib/errors.js'
import {renderBlockLines} from '../../src/lib/ssh-config/block.js'
import {checkRenderedBlock} from '../../src/lib/ssh-config/config-file.js'
import {checkPathToken, pathToken, proxyCommandArgv, renderEntryOptions, validateEntryOptions, type EntryOptions} from '../../src/lib/ssh-config/entry.js'
import {validateEnvironments} from '../../src/lib/ssh-config/validate.js'
import {sshG} from '../helpers/ssh.js'

const ID = '0199ec15-59d3-7e92-8e22-8cb6c7ba4df7'
const [ENV] = validateEnvironments([{id: ID, host: '127.0.0.11', port: 2222, user: 'gitpod_devcontainer'}]).valid

let dir: string
beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'ona entry '))
})
afterAll(async () => {
  await rm(dir, {recursive: true, force: true})
})

describe('path tokens', () => {
  it.each([
    ['a plain path', '/home/me/.config/ona/ssh/id_ed25519', false, '/home/me/.config/ona/ssh/id_ed25519'],
    ['a path with a space', '/home/Jane Doe/.config/ona/ssh/id_ed25519', false, '"/home/Jane Doe/.config/ona/ssh/id_ed25519"'],
    ['a Windows path', 'C:\\Users\\jane\\AppData\\Roaming\\ona\\ssh\\id_ed25519', true, 'C:/Users/jane/AppData/Roaming/ona/ssh/id_ed25519'],
    ['a Windows path with spaces and parentheses', 'C:\\Program Files (x86)\\nodejs\\node.exe', true, '"C:/Program Files (x86)/nodejs/node.exe"'],
  ])('writes %s', (_, value, windows, token) => {
    expect(checkPathToken(value, 'the path', windows)).toBeUndefined()
    expect(pathToken(value, windows)).toBe(token)
  })

  it.each([
    ['a double quote', '/home/a"b/key', false, 'characters other than'],
    ['a percent sign (an ssh token)', '/home/100%/key', false, "'%'"],
    ['a dollar sign (a shell would expand it)', '/home/$USER/key', false, 'characters other than'],
    ['a backtick', '/home/`id`/key', false, 'characters other than'],
    ['a backslash on POSIX', '/home/a\\b/key', false, 'characters other than'],
    ['a newline', '/home/a\nIdentityFile /etc/x', false, 'line break'],
    ['a relative path', 'keys/id', false, 'not an absolute path'],
    ['a Windows relative path', 'keys\\id', true, 'not an absolute path'],
  ])('refuses %s', (_, value, windows, reason) => {
    expect(checkPathToken(value, 'the path', windows)).toContain(reason)
  })

  it('refuses to write a ProxyCommand with an unsafe API URL, naming it', () => {
    const options: EntryOptions = {proxyCommand: {node: '/usr/bin/node', script: '/opt/ona/bin/run.js', apiUrl: 'https://x.example/api?a=%41', sshConfig: '/home/me/.ssh/config'}}
    expect(() => validateEntryOptions(options)).toThrow(OnaError)
    expect(() => validateEntryOptions(options)).toThrow(/the API URL/)
  })

  it('refuses to write a ProxyCommand naming a config directory that is not one plain absolute path', () => {
    const spec = {node: '/usr/bin/node', script: '/opt/ona/bin/run.js', apiUrl: 'https://app.ona.com/api', sshConfig: '/home/me/.ssh/config'}
    expect(() => validateEntryOptions({proxyCommand: {...spec, configDir: 'ona'}})).toThrow(/the ona config directory "ona" is not an absolute path/)
    expect(() => validateEntryOptions({proxyCommand: {...spec, configDir: '/home/$USER/ona'}})).toThrow(/the ona config directory/)
    // Windows: written with forward slashes, which Windows OpenSSH and Node both read.
    const windows: EntryOptions = {
      windows: true,
      proxyCommand: {node: 'C:\\Program Files\\nodejs\\node.exe', script: 'C:\\ona\\bin\\run.js', apiUrl: 'https://app.ona.com/api', sshConfig: 'C:\\Users\\me\\.ssh\\config', configDir: 'C:\\Users\\me\\AppData\\Roaming\\ona'},
    }
    expect(() => validateEntryOptions(windows)).not.toThrow()
    expect(renderEntryOptions({id: ID}, windows)).toEqual([
      `ProxyCommand "C:/Program Files/nodejs/node.exe" C:/ona/bin/run.js ssh-proxy ${ID} --api-url https://app.ona.com/api --ssh-config C:/Users/me/.ssh/config --config-dir C:/Users/me/AppData/Roaming/ona`,
    ])
  })
})

describe('the rendered entry as readers see it', () => {
  const keyPath = () => path.join(dir, 'my key', 'id_ed25519')
  const options = (): EntryOptions => ({
    identityFile: keyPath(),
    proxyCommand: {node: path.join(dir, 'node bin', 'node'), script: '/opt/ona/bin/run.js', apiUrl: 'http://127.0.0.1:4010/api', sshConfig: path.join(dir, 'config'), configDir: path.join(dir, 'ona config')},
  })

  it('ssh -G reads the key path with its space and the ProxyCommand as written', async () => {
    const lines = renderBlockLines([ENV!], options())
    const config = path.join(dir, 'config')
    await writeFile(config, `${lines.join('\n')}\n`)
    const resolved = await sshG(config, ENV!.environmentAlias)
    expect(resolved.code).toBe(0)
    expect(resolved.all('identityfile')).toEqual([keyPath()])
    expect(resolved.get('identitiesonly')).toBe('yes')
    expect(resolved.get('hostname')).toBe('127.0.0.11')
    expect(resolved.get('hostkeyalias')).toBe(ENV!.environmentAlias)
    expect(resolved.get('proxycommand')).toBe(`"${path.join(dir, 'node bin', 'node')}" /opt/ona/bin/run.js ssh-proxy ${ID} --api-url http://127.0.0.1:4010/api --ssh-config "${config}" --config-dir "${path.join(dir, 'ona config')}"`)
  })

  it('the ssh-config library hands an IDE the ProxyCommand as the argv ona means, and the pre-write check agrees', () => {
    const lines = renderBlockLines([ENV!], options())
    const parsed = SSHConfig.parse(lines.join('\n'))
    const computed = parsed.compute(ENV!.environmentAlias) as Record<string, unknown>
    expect(computed.IdentityFile).toEqual([keyPath()])
    const section = parsed.find((l) => l.type === SSHConfig.DIRECTIVE) as unknown as {config: Array<{param: string; value: unknown}>}
    const proxy = section.config.find((l) => l.param === 'ProxyCommand')!.value as Array<{val: string}>
    expect(proxy.map((t) => t.val)).toEqual(proxyCommandArgv(ENV!, options().proxyCommand!))
    expect(proxy.map((t) => t.val)).toEqual([path.join(dir, 'node bin', 'node'), '/opt/ona/bin/run.js', 'ssh-proxy', ID, '--api-url', 'http://127.0.0.1:4010/api', '--ssh-config', path.join(dir, 'config'), '--config-dir', path.join(dir, 'ona config')])
    expect(() => checkRenderedBlock(lines, [ENV!], options())).not.toThrow()
    // The check is not a formality: a block rendered without the options fails against them.
    expect(() => checkRenderedBlock(renderBlockLines([ENV!]), [ENV!], options())).toThrow(/unexpected values/)
  })

  it('without options an entry is exactly the four address lines', () => {
    expect(renderEntryOptions(ENV!, {})).toEqual([])
  })
})
