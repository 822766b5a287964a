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
    ["a Windows home with an apostrophe", "C:\\Users\\O'Brien\\AppData\\Roaming\\ona\\ssh\\id_ed25519", true, `"C:/Users/O'Brien/AppData/Roaming/ona/ssh/id_ed25519"`],
    ['a home with a non-ASCII letter (as its UTF-8 bytes)', '/home/jürgen/.config/ona/ssh/id_ed25519', false, `"${Buffer.from('/home/jürgen/.config/ona/ssh/id_ed25519').toString('latin1')}"`],
    ['a dollar sign, in quotes (no shell reads an IdentityFile)', '/home/$USER/key', false, '"/home/$USER/key"'],
  ])('writes %s', (_, value, windows, token) => {
    expect(checkPathToken(value, 'the path', windows)).toBeUndefined()
    expect(pathToken(value, windows)).toBe(token)
  })

  it.each([
    ['a double quote', '/home/a"b/key', false, 'double quote'],
    ['a percent sign (an ssh token)', '/home/100%/key', false, "'%'"],
    ['a backslash on POSIX', '/home/a\\b/key', false, 'backslash'],
    ['a control character', '/home/a\u001bb/key', false, 'control character'],
    ['a newline', '/home/a\nIdentityFile /etc/x', false, 'line break'],
    ['a relative path', 'keys/id', false, 'not an absolute path'],
    ['a Windows relative path', 'keys\\id', true, 'not an absolute path'],
  ])('refuses %s', (_, value, windows, reason) => {
    expect(checkPathToken(value, 'the path', windows)).toContain(reason)
  })

  it('refuses $ and backticks in a ProxyCommand path (a POSIX ssh runs it through the shell), not on Windows', () => {
    const spec = {node: '/usr/bin/node', script: '/opt/ona/bin/run.js', apiUrl: 'https://app.ona.com/api', sshConfig: '/home/me/.ssh/config'}
    expect(() => validateEntryOptions({proxyCommand: {...spec, node: '/opt/$HOME/node'}})).toThrow(/\$ or a backtick/)
    expect(() => validateEntryOptions({proxyCommand: {...spec, script: '/opt/`id`/run.js'}})).toThrow(/\$ or a backtick/)
    expect(() => validateEntryOptions({windows: true, proxyCommand: {node: 'C:\\$x\\node.exe', script: 'C:\\ona\\bin\\run.js', apiUrl: spec.apiUrl, sshConfig: 'C:\\Users\\me\\.ssh\\config'}})).not.toThrow()
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
    expect(() => validateEntryOptions({proxyCommand: {...spec, configDir: '/home/a"b/ona'}})).toThrow(/the ona config directory/)
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

describe("paths OpenSSH reads in quotes: /home/jürgen, O'Brien, spaces (the real ssh -G, the shell, Windows injected)", () => {
  const id = ENV!
  const homes = ['jürgen', "O'Brien", 'Jane Doe (work)']

  it.each(homes)('a key under /home/%s is written quoted and ssh -G reads back the same path', async (name) => {
    const {syncBlockInFile} = await import('../../src/lib/ssh-config/config-file.js')
    const key = path.join(dir, name, '.config', 'ona', 'ssh', 'id_ed25519')
    const config = path.join(dir, `config-${homes.indexOf(name)}`)
    await syncBlockInFile(config, [{id: ID, host: '127.0.0.11', port: 2222, user: 'gitpod_devcontainer'}], {entry: {identityFile: key}})
    const bytes = await (await import('node:fs/promises')).readFile(config)
    expect(bytes.includes(Buffer.from(`  IdentityFile "${key}"\n`, 'utf8'))).toBe(true)
    const resolved = await sshG(config, id.environmentAlias)
    expect(resolved.code, resolved.stderr).toBe(0)
    expect(resolved.all('identityfile')).toEqual([key])
    expect(resolved.get('hostname')).toBe('127.0.0.11')
  })

  it("an Include of a managed file under a directory named O'Brien jürgen is written quoted, and ssh reads the block through it", async () => {
    const [{syncBlockInFile, addIncludeAtTop}, {includeLineFor}] = await Promise.all([import('../../src/lib/ssh-config/config-file.js'), import('../../src/lib/ssh-config/tree.js')])
    const managed = path.join(dir, "shared O'Brien jürgen", 'ona.conf')
    await syncBlockInFile(managed, [{id: ID, host: '127.0.0.12', port: 2222, user: 'gitpod_devcontainer'}])
    const main = path.join(dir, 'main-config')
    await writeFile(main, 'Host other\n  User x\n')
    const include = includeLineFor(managed, path.join(dir, 'nohome'))
    expect(include).toBe(`Include "${managed}"`)
    await addIncludeAtTop(main, include)
    const resolved = await sshG(main, id.environmentAlias)
    expect(resolved.code, resolved.stderr).toBe(0)
    expect(resolved.get('hostname')).toBe('127.0.0.12')
    // Idempotent: the line is recognised as present (compared as the bytes written).
    const again = await addIncludeAtTop(main, include)
    expect(again.changed).toBe(false)
  })

  it("the ProxyCommand's quoted paths reach the command as the same argv through the real shell ssh runs it with", async () => {
    const {execFileSync} = await import('node:child_process')
    const spec = {node: path.join(dir, "O'Brien", 'node bin', 'node'), script: path.join(dir, 'jürgen', 'ona', 'bin', 'run.js'), apiUrl: 'http://127.0.0.1:4010/api', sshConfig: path.join(dir, 'jürgen', '.ssh', 'config')}
    const [line] = renderEntryOptions(id, {proxyCommand: spec})
    const command = Buffer.from(line!.slice('ProxyCommand '.length), 'latin1').toString('utf8')
    // ssh runs `$SHELL -c "exec <command>"`: printf stands in for node, the shell splits the same way.
    const argv = execFileSync('/bin/sh', ['-c', `printf '%s\\n' ${command}`], {encoding: 'utf8'}).split('\n').slice(0, -1)
    expect(argv).toEqual([spec.node, spec.script, 'ssh-proxy', ID, '--api-url', spec.apiUrl, '--ssh-config', spec.sshConfig])
  })

  it("Windows (platform injected): C:\\Users\\O'Brien becomes one quoted forward-slash path, which ssh -G reads as written", async () => {
    const options: EntryOptions = {
      windows: true,
      identityFile: "C:\\Users\\O'Brien\\AppData\\Roaming\\ona\\ssh\\id_ed25519",
      proxyCommand: {node: 'C:\\Program Files\\nodejs\\node.exe', script: "C:\\Users\\O'Brien\\AppData\\Roaming\\npm\\node_modules\\ona-ssh\\bin\\run.js", apiUrl: 'https://app.ona.com/api', sshConfig: "C:\\Users\\O'Brien\\.ssh\\config"},
    }
    expect(() => validateEntryOptions(options)).not.toThrow()
    const lines = renderBlockLines([id], options)
    expect(() => checkRenderedBlock(lines, [id], options)).not.toThrow()
    expect(lines).toContain(`  IdentityFile "C:/Users/O'Brien/AppData/Roaming/ona/ssh/id_ed25519"`)
    const config = path.join(dir, 'config-windows')
    await writeFile(config, `${lines.join('\n')}\n`)
    const resolved = await sshG(config, id.environmentAlias)
    expect(resolved.all('identityfile')).toEqual(["C:/Users/O'Brien/AppData/Roaming/ona/ssh/id_ed25519"])
    expect(resolved.get('proxycommand')).toBe(`"C:/Program Files/nodejs/node.exe" "C:/Users/O'Brien/AppData/Roaming/npm/node_modules/ona-ssh/bin/run.js" ssh-proxy ${ID} --api-url https://app.ona.com/api --ssh-config "C:/Users/O'Brien/.ssh/config"`)
    // An IDE that parses with the ssh-config library gets the same argv.
    const section = SSHConfig.parse(lines.join('\n')).find((l) => l.type === SSHConfig.DIRECTIVE) as unknown as {config: Array<{param: string; value: unknown}>}
    expect((section.config.find((l) => l.param === 'ProxyCommand')!.value as Array<{val: string}>).map((t) => t.val)).toEqual(proxyCommandArgv(id, options.proxyCommand!, true))
  })
})
