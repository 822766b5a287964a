/**
 * `--ssh-option` (issue 19): the allow-list, the value checks, how given options change the saved list,
 * the lines written, what the settings file may hold, and how ssh -G's answer is compared.
 */
import {mkdtemp, readFile, rm, writeFile} from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'

import fc from 'fast-check'
import {describe, expect, it} from 'vitest'

import {isOnaError} from '../../src/lib/errors.js'
import {parseSettings, saveEntryPreferences, skippedSshOptionsWarning, sshOptionsFor, updateSettings} from '../../src/lib/settings.js'
import {renderBlockLines} from '../../src/lib/ssh-config/block.js'
import {checkRenderedBlock} from '../../src/lib/ssh-config/config-file.js'
import {applySshOptions, parseSshOption, sshOptionDifferences, sshOptionLines} from '../../src/lib/ssh-config/ssh-options.js'
import {validateEnvironments} from '../../src/lib/ssh-config/validate.js'

const refused = (text: string): string => {
  try {
    parseSshOption(text)
  } catch (error) {
    if (isOnaError(error) && error.code === 'ERR_SSH_OPTION') return error.message
    throw error
  }
  throw new Error(`${JSON.stringify(text)} was accepted`)
}

describe('parseSshOption', () => {
  it('takes allow-listed keywords in any case, KEY=VALUE or KEY VALUE, and writes them canonically', () => {
    expect(parseSshOption('forwardagent=YES')).toEqual({keyword: 'ForwardAgent', value: 'yes'})
    expect(parseSshOption('ServerAliveInterval 030')).toEqual({keyword: 'ServerAliveInterval', value: '30'})
    expect(parseSshOption('LocalForward=127.0.0.1:8080   localhost:80')).toEqual({keyword: 'LocalForward', value: '127.0.0.1:8080 localhost:80'})
    expect(parseSshOption('LocalForward=8080 [::1]:80')).toEqual({keyword: 'LocalForward', value: '8080 [::1]:80'})
    expect(parseSshOption('RemoteForward=9000')).toEqual({keyword: 'RemoteForward', value: '9000'})
    expect(parseSshOption('SetEnv=FOO=bar BAZ=')).toEqual({keyword: 'SetEnv', value: 'FOO=bar BAZ='})
    expect(parseSshOption('SendEnv=LANG LC_*')).toEqual({keyword: 'SendEnv', value: 'LANG LC_*'})
    expect(parseSshOption('LogLevel=debug1')).toEqual({keyword: 'LogLevel', value: 'DEBUG'})
    expect(parseSshOption('RequestTTY=Force')).toEqual({keyword: 'RequestTTY', value: 'force'})
    expect(parseSshOption('ForwardAgent=')).toEqual({keyword: 'ForwardAgent', value: ''})
  })

  it("refuses ona's own keywords and what changes how an alias connects or checks its host key, each with its reason", () => {
    for (const keyword of ['ClearAllForwardings', 'HostName', 'Port', 'User', 'ProxyCommand', 'ProxyJump', 'HostKeyAlias', 'IdentityFile', 'IdentitiesOnly', 'StrictHostKeyChecking', 'UserKnownHostsFile', 'Include', 'Match', 'Host', 'RemoteCommand', 'LocalCommand']) {
      expect(refused(`${keyword}=x`)).toMatch(new RegExp(`${keyword} is refused: .+`))
    }
    expect(refused('Ciphers=aes128-ctr')).toContain('Ciphers is not an option ona writes')
  })

  it('refuses values that are not plain, or not what the keyword takes', () => {
    expect(refused('ForwardAgent=yes\nHost *')).toContain('control character')
    expect(refused('ForwardAgent=yes\r')).toContain('control character')
    expect(refused('ForwardAgent=yes\tno')).toContain('control character')
    for (const value of ['"yes"', "'yes'", 'yes#x', '%h', '$HOME', 'a\\b', 'a`b`']) expect(refused(`SetEnv=A=${value}`)).toContain('plain value')
    expect(refused('ForwardAgent=maybe')).toContain('yes or no')
    expect(refused('ForwardAgent=yes no')).toContain('yes or no')
    expect(refused('ServerAliveInterval=-1')).toContain('whole number')
    expect(refused('ServerAliveInterval=86401')).toContain('whole number from 0 to 86400')
    expect(refused('ConnectionAttempts=0')).toContain('whole number from 1')
    expect(refused('LocalForward=8080:localhost:80')).toContain('LocalForward takes')
    expect(refused('LocalForward=70000 localhost:80')).toContain('LocalForward takes')
    expect(refused('LocalForward=8080 local_host:80')).toContain('LocalForward takes')
    expect(refused('DynamicForward=evil host:1080')).toContain('DynamicForward takes')
    expect(refused('SetEnv=1A=b')).toContain('SetEnv takes')
    expect(refused('SendEnv=LANG,LC')).toContain('SendEnv takes')
    expect(refused('RequestTTY=always')).toContain('one of yes, no, force, auto')
    expect(refused('=yes')).toContain('is not KEY=VALUE')
    expect(refused('')).toContain('is not KEY=VALUE')
    expect(refused('ForwardAgent')).toContain('is not KEY=VALUE')
  })
})

describe('applySshOptions and the lines written', () => {
  it('replaces a single-valued keyword, adds forwards and SendEnv once each, SetEnv per variable; KEY= and clear remove', () => {
    let saved = applySshOptions([], ['ForwardAgent=yes', 'LocalForward=8080 localhost:80', 'SetEnv=A=1 B=2', 'SendEnv=LANG'])
    saved = applySshOptions(saved, ['ForwardAgent=no', 'LocalForward=8080 localhost:80', 'LocalForward=9090 localhost:90', 'SetEnv=A=3'])
    expect(saved).toEqual(['ForwardAgent no', 'LocalForward 8080 localhost:80', 'SetEnv A=3', 'SetEnv B=2', 'SendEnv LANG', 'LocalForward 9090 localhost:90'])
    expect(sshOptionLines(saved)).toEqual(['ForwardAgent no', 'LocalForward 8080 localhost:80', 'SetEnv A=3 B=2', 'SendEnv LANG', 'LocalForward 9090 localhost:90'])
    expect(applySshOptions(saved, ['LocalForward='])).toEqual(['ForwardAgent no', 'SetEnv A=3', 'SetEnv B=2', 'SendEnv LANG'])
    expect(applySshOptions(saved, [], true)).toEqual([])
    expect(applySshOptions(saved, ['Compression=yes'], true)).toEqual(['Compression yes'])
  })

  it('the rendered entries pass the pre-write check, and a smuggled option line does not', () => {
    const {valid} = validateEnvironments([{id: 'a', host: '10.0.0.1', port: 22, user: 'dev'}])
    const entry = {sshOptions: applySshOptions([], ['ForwardAgent=yes', 'LocalForward=8080 [::1]:80', 'LocalForward=9090 localhost:90', 'SendEnv=LC_*', 'SetEnv=A=1 B=2'])}
    const lines = renderBlockLines(valid, entry)
    expect(lines).toContain('  LocalForward 9090 localhost:90')
    expect(() => checkRenderedBlock(lines, valid, entry)).not.toThrow()
    // Lines the settings did not ask for, or changed, fail the check.
    expect(() => checkRenderedBlock(lines, valid, {sshOptions: ['ForwardAgent yes']})).toThrow(/unexpected values/)
    const injected = lines.map((l) => (l === '  ForwardAgent yes' ? '  ForwardAgent "yes"' : l))
    expect(() => checkRenderedBlock(injected, valid, entry)).toThrow(/does not write/)
    const twice = lines.flatMap((l) => (l === '  ForwardAgent yes' ? [l, l] : [l]))
    expect(() => checkRenderedBlock(twice, valid, entry)).toThrow(/ForwardAgent twice/)
  })
})

describe('settings.json sshOptions and friendlyAliases', () => {
  const settings = (origin: Record<string, unknown>) => JSON.stringify({version: 1, origins: {'https://app.ona.com': origin}})
  it('reads what ona saves', () => {
    expect(parseSettings(settings({friendlyAliases: true, sshOptions: ['ForwardAgent yes', 'SetEnv A=1']})).origins['https://app.ona.com']).toEqual({friendlyAliases: true, sshOptions: ['ForwardAgent yes', 'SetEnv A=1']})
  })

  it('refuses a hand edit that could inject config text or is not a valid option', () => {
    for (const sshOptions of [['ForwardAgent yes\nHost *'], ['ProxyCommand nc x 22'], ['ForwardAgent'], 'ForwardAgent yes', [1]]) {
      expect(() => parseSettings(settings({sshOptions}))).toThrow(/"origins\.https:\/\/app\.ona\.com\.sshOptions"/)
    }
    expect(() => parseSettings(settings({friendlyAliases: 'yes'}))).toThrow(/friendlyAliases" must be true or false/)
  })

  it('a saved keyword a later ona added is a warning naming it, never an error, and is not written into the entries', () => {
    const read = parseSettings(settings({sshOptions: ['ForwardAgent yes', 'FutureKeyword on', 'SetEnv A=1']}))
    expect(sshOptionsFor(read, 'https://app.ona.com/api')).toEqual(['ForwardAgent yes', 'SetEnv A=1'])
    const warning = skippedSshOptionsWarning(read, 'https://app.ona.com/api')!
    expect(warning.code).toBe('W_SSH_OPTIONS_SKIPPED')
    expect(warning.message).toContain('"FutureKeyword on"')
    expect(skippedSshOptionsWarning(parseSettings(settings({sshOptions: ['ForwardAgent yes']})), 'https://app.ona.com/api')).toBeUndefined()
    // A refused keyword or a line that could be more than one config line is still a hand edit, not a later ona's.
    for (const sshOptions of [['ProxyCommand nc x 22'], ['FutureKeyword on\nHost *']]) expect(() => parseSettings(settings({sshOptions}))).toThrow(/sshOptions/)
  })
})

describe('settings.json written by a later ona', () => {
  const withFile = async (content: unknown, run: (ctx: {paths: {configDir: string}}, file: string) => Promise<void>) => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'ona-settings-'))
    try {
      const file = path.join(dir, 'settings.json')
      await writeFile(file, JSON.stringify(content))
      await run({paths: {configDir: dir}} as never, file)
    } finally {
      await rm(dir, {recursive: true, force: true})
    }
  }

  it('keeps unknown top-level and per-origin keys through an update of another field', async () => {
    const later = {
      version: 1,
      identityFile: '/home/me/.ssh/id_work',
      futureTopLevel: {nested: [1, 'two']},
      origins: {
        'https://app.ona.com': {resolveOnConnect: true, futureOriginSetting: 'kept'},
        'https://ona.corp.example': {futureOnly: 42},
      },
    }
    await withFile(later, async (ctx, file) => {
      await updateSettings(ctx, (s) => {
        s.origins['https://app.ona.com'] = {...s.origins['https://app.ona.com'], friendlyAliases: true}
      })
      expect(JSON.parse(await readFile(file, 'utf8'))).toEqual({
        ...later,
        origins: {...later.origins, 'https://app.ona.com': {resolveOnConnect: true, futureOriginSetting: 'kept', friendlyAliases: true}},
      })
    })
  })

  it('keeps a saved line with a later keyword in the file when this version saves options; clearing removes it too', async () => {
    const later = {version: 1, origins: {'https://app.ona.com': {sshOptions: ['FutureKeyword on', 'ForwardAgent yes']}}}
    await withFile(later, async (ctx, file) => {
      const saved = await saveEntryPreferences(ctx, 'https://app.ona.com/api', {sshOptions: ['Compression=yes']})
      expect(sshOptionsFor(saved, 'https://app.ona.com/api')).toEqual(['ForwardAgent yes', 'Compression yes'])
      const written = JSON.parse(await readFile(file, 'utf8')) as typeof later
      expect(written.origins['https://app.ona.com'].sshOptions).toEqual(['ForwardAgent yes', 'Compression yes', 'FutureKeyword on'])
      await saveEntryPreferences(ctx, 'https://app.ona.com/api', {clearSshOptions: true})
      expect(JSON.parse(await readFile(file, 'utf8'))).toEqual({version: 1, origins: {'https://app.ona.com': {}}})
    })
  })
})

describe('sshOptionDifferences (what ssh -G shows against what ona wrote)', () => {
  const map = (entries: Record<string, string[]>) => new Map(Object.entries(entries))
  it('accepts the forms ssh -G prints', () => {
    const mine = map({forwardagent: ['yes'], addkeystoagent: ['yes'], localforward: ['8080 localhost:80', '127.0.0.1:9090 [::1]:90'], remoteforward: ['9001'], setenv: ['FOO=bar BAZ=1'], sendenv: ['LANG -LC_ALL'], loglevel: ['DEBUG']})
    const got = map({forwardagent: ['yes'], addkeystoagent: ['true'], localforward: ['8080 [localhost]:80', '[127.0.0.1]:9090 [::1]:90'], remoteforward: ['9001 [socks]:0'], setenv: ['FOO=bar', 'BAZ=1'], sendenv: ['LANG'], loglevel: ['DEBUG']})
    expect(sshOptionDifferences(got, mine)).toEqual([])
  })

  it('names each option another line decided, and ignores ona\'s own keywords', () => {
    const mine = map({serveraliveinterval: ['30'], localforward: ['8080 localhost:80'], setenv: ['FOO=bar'], hostname: ['10.0.0.1']})
    const got = map({serveraliveinterval: ['60'], localforward: ['7070 [localhost]:70'], setenv: ['FOO=other'], hostname: ['10.9.9.9']})
    expect(sshOptionDifferences(got, mine)).toEqual([
      {option: 'ServerAliveInterval', keyword: 'serveraliveinterval', expected: '30', actual: '60'},
      {option: 'LocalForward', keyword: 'localforward', expected: '8080 localhost:80', actual: '7070 [localhost]:70'},
      {option: 'SetEnv', keyword: 'setenv', expected: 'FOO=bar', actual: 'FOO=other'},
    ])
  })
})

describe('properties (fast-check)', () => {
  it('any --ssh-option text is refused with ERR_SSH_OPTION or becomes lines the pre-write check accepts', () => {
    const {valid} = validateEnvironments([{id: 'a', host: '10.0.0.1', port: 22, user: 'dev'}])
    const keyword = fc.constantFrom('ForwardAgent', 'LocalForward', 'SetEnv', 'SendEnv', 'ServerAliveInterval', 'RequestTTY', 'ProxyCommand', 'X')
    const value = fc.string({unit: fc.constantFrom('a', '1', ' ', '=', ':', '"', '\n', '#', '%', '*', '[', ']', '\\', 'y', 'e', 's', '8', '0', '.', '-'), maxLength: 30})
    fc.assert(
      fc.property(keyword, value, (key, text) => {
        let saved: string[]
        try {
          saved = applySshOptions([], [`${key}=${text}`])
        } catch (error) {
          expect(isOnaError(error) && error.code === 'ERR_SSH_OPTION').toBe(true)
          return
        }
        const lines = renderBlockLines(valid, {sshOptions: saved})
        expect(lines.filter((l) => l.startsWith('  ')).every((l) => !/[\r\n"#%\\]/.test(l))).toBe(true)
        expect(() => checkRenderedBlock(lines, valid, {sshOptions: saved})).not.toThrow()
      }),
      {numRuns: 500},
    )
  })
})
