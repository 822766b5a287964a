/**
 * Editing an editor's settings.json: what `ona ide setup` adds, what `--remove` takes out, and that every
 * other byte (comments, trailing commas, order, indentation, line endings) stays as it was, and what the
 * values mean for ona's aliases. Pure functions over text, and the reader on a real temp file; the file
 * handling of setup is in test/integration/ide-setup-lib.test.ts.
 */
import {mkdtemp, rm, writeFile} from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'

import fc from 'fast-check'
import {findNodeAtLocation, type Node} from 'jsonc-parser'
import {describe, expect, it} from 'vitest'

import {appDataDir, userSettingsPath} from '../../src/lib/ide/editors.js'
import {ALIAS_PATTERNS, checkRemoteSsh, formattingOf, parseSettings, planRemove, planSetup, readEditorSettings, remotePlatformOf, remoteSshValues, START_CONNECT_TIMEOUT_S} from '../../src/lib/ide/settings.js'
import type {Platform} from '../../src/lib/platform/platform.js'

const USER_FILE = `// Place your settings in this file to overwrite the default settings
{
\t"editor.fontSize": 14, // my size
\t/* block
\t   comment */
\t"files.exclude": {
\t\t"**/.git": true,
\t},
\t"remote.SSH.connectTimeout": 30,
\t"workbench.colorTheme": "Default Dark+", // trailing comma next
}
`

describe('settings paths per platform and product', () => {
  const linux: Platform = {name: 'linux', homedir: '/home/ada', env: {HOME: '/home/ada'}}
  const mac: Platform = {name: 'darwin', homedir: '/Users/ada', env: {HOME: '/Users/ada'}}
  const win: Platform = {name: 'win32', homedir: 'C:\\Users\\ada', env: {USERPROFILE: 'C:\\Users\\ada', APPDATA: 'C:\\Users\\ada\\AppData\\Roaming'}}

  it.each([
    ['Linux VS Code', linux, 'vscode', '/home/ada/.config/Code/User/settings.json'],
    ['Linux Cursor with XDG_CONFIG_HOME', {...linux, env: {HOME: '/home/ada', XDG_CONFIG_HOME: '/xdg'}}, 'cursor', '/xdg/Cursor/User/settings.json'],
    ['Linux with a relative XDG_CONFIG_HOME (ignored)', {...linux, env: {HOME: '/home/ada', XDG_CONFIG_HOME: 'rel'}}, 'windsurf', '/home/ada/.config/Windsurf/User/settings.json'],
    ['macOS VSCodium', mac, 'vscodium', '/Users/ada/Library/Application Support/VSCodium/User/settings.json'],
    ['Windows Insiders', win, 'code-insiders', 'C:\\Users\\ada\\AppData\\Roaming\\Code - Insiders\\User\\settings.json'],
    ['Windows without APPDATA', {...win, env: {USERPROFILE: 'C:\\Users\\ada'}}, 'vscode', 'C:\\Users\\ada\\AppData\\Roaming\\Code\\User\\settings.json'],
  ] as const)('%s', (_, platform, editor, expected) => {
    expect(userSettingsPath(platform, editor)).toBe(expected)
  })

  it('uses %APPDATA% spelled in any case on Windows', () => {
    expect(appDataDir({...win, env: {USERPROFILE: 'C:\\Users\\ada', AppData: 'D:\\roam'}})).toBe('D:\\roam')
  })
})

describe('ona ide setup on the text of settings.json', () => {
  it('adds the alias patterns and raises the timeout, changing no other byte', () => {
    const plan = planSetup(USER_FILE, 'settings.json', {connectTimeout: START_CONNECT_TIMEOUT_S})
    // Every byte of the user's is there: ona's object goes in whole after the `{` line, the timeout value
    // is replaced in place; the comments, the trailing commas and the tabs are untouched.
    const expected = USER_FILE.replace('{\n', '{\n\t"remote.SSH.remotePlatform": {\n\t\t"*.gitpod.environment": "linux",\n\t\t"*.gitpod.remote": "linux"\n\t},\n').replace(
      '"remote.SSH.connectTimeout": 30',
      `"remote.SSH.connectTimeout": ${START_CONNECT_TIMEOUT_S}`,
    )
    expect(plan.text).toBe(expected)
    expect(remoteSshValues(parseSettings(plan.text, 'f'))).toEqual({remotePlatform: {'*.gitpod.environment': 'linux', '*.gitpod.remote': 'linux'}, connectTimeout: START_CONNECT_TIMEOUT_S})
    expect(plan.changes.map((c) => [c.setting, c.action])).toEqual([
      ['remote.SSH.remotePlatform["*.gitpod.environment"]', 'added'],
      ['remote.SSH.remotePlatform["*.gitpod.remote"]', 'added'],
      ['remote.SSH.connectTimeout', 'raised'],
    ])
    expect(plan.record).toEqual({remotePlatform: [...ALIAS_PATTERNS], remotePlatformCreated: true, connectTimeout: {value: START_CONNECT_TIMEOUT_S, previous: 30}})
  })

  it('running it twice changes nothing the second time', () => {
    const first = planSetup(USER_FILE, 'f', {connectTimeout: START_CONNECT_TIMEOUT_S})
    const second = planSetup(first.text, 'f', {connectTimeout: START_CONNECT_TIMEOUT_S, record: first.record})
    expect(second.text).toBe(first.text)
    expect(second.changes.every((c) => c.action === 'kept')).toBe(true)
    expect(second.record).toEqual(first.record)
  })

  it('--remove gives back the original bytes, with the user\'s own timeout restored', () => {
    const setup = planSetup(USER_FILE, 'f', {connectTimeout: START_CONNECT_TIMEOUT_S})
    const removed = planRemove(setup.text, 'f', setup.record)
    expect(removed.text).toBe(USER_FILE)
    expect(removed.changes.map((c) => [c.setting, c.action, c.value])).toEqual([
      ['remote.SSH.remotePlatform["*.gitpod.environment"]', 'removed', 'linux'],
      ['remote.SSH.remotePlatform["*.gitpod.remote"]', 'removed', 'linux'],
      ['remote.SSH.connectTimeout', 'restored', 30],
    ])
  })

  it('never lowers a larger timeout, and never records or removes a value the user set', () => {
    const own = '{\n  "remote.SSH.connectTimeout": 900,\n  "remote.SSH.remotePlatform": {\n    "*.gitpod.environment": "linux",\n    "myhost": "windows"\n  }\n}\n'
    const plan = planSetup(own, 'f', {connectTimeout: START_CONNECT_TIMEOUT_S})
    expect(plan.text).toBe('{\n  "remote.SSH.connectTimeout": 900,\n  "remote.SSH.remotePlatform": {\n    "*.gitpod.environment": "linux",\n    "*.gitpod.remote": "linux",\n    "myhost": "windows"\n  }\n}\n')
    expect(plan.record).toEqual({remotePlatform: ['*.gitpod.remote']})
    // The user's own *.gitpod.environment and timeout survive --remove; the object ona did not create stays.
    expect(planRemove(plan.text, 'f', plan.record).text).toBe(own)
  })

  it('leaves a value the user changed after ona set it', () => {
    const setup = planSetup('{}', 'f', {connectTimeout: START_CONNECT_TIMEOUT_S})
    const edited = setup.text.replace(`${START_CONNECT_TIMEOUT_S}`, '1200').replace('"*.gitpod.remote": "linux"', '"*.gitpod.remote": "macOS"')
    const removed = planRemove(edited, 'f', setup.record)
    expect(remoteSshValues(parseSettings(removed.text, 'f'))).toEqual({remotePlatform: {'*.gitpod.remote': 'macOS'}, connectTimeout: 1200})
    expect(removed.changes.filter((c) => c.action === 'kept').map((c) => c.setting)).toEqual(['remote.SSH.remotePlatform["*.gitpod.remote"]', 'remote.SSH.connectTimeout'])
  })

  it('without resolve-on-connect leaves the timeout alone', () => {
    const plan = planSetup(USER_FILE, 'f', {})
    expect(remoteSshValues(parseSettings(plan.text, 'f')).connectTimeout).toBe(30)
    expect(plan.record.connectTimeout).toBeUndefined()
  })

  it.each([
    ['an empty file', ''],
    ['whitespace only', '  \n'],
    ['an empty object', '{}'],
  ])('writes a settings object into %s', (_, text) => {
    const plan = planSetup(text, 'f', {connectTimeout: 660})
    expect(remoteSshValues(parseSettings(plan.text, 'f'))).toEqual({remotePlatform: {'*.gitpod.environment': 'linux', '*.gitpod.remote': 'linux'}, connectTimeout: 660})
  })

  it('keeps CRLF line endings, a UTF-8 BOM and space indentation', () => {
    const text = '\u00EF\u00BB\u00BF{\r\n    "a": 1\r\n}\r\n'
    const plan = planSetup(text, 'f', {})
    expect(plan.text.startsWith('\u00EF\u00BB\u00BF{\r\n    "remote.SSH.remotePlatform": {\r\n        "*.gitpod.environment": "linux",\r\n')).toBe(true)
    expect(plan.text.replace(/\r\n/g, '')).not.toContain('\n')
    expect(planRemove(plan.text, 'f', plan.record).text).toBe(text)
    expect(formattingOf('{\n  "a": 1\n}')).toEqual({insertSpaces: true, tabSize: 2, eol: '\n'})
  })

  it.each([
    ['a missing comma', '{\n\t"a": 1\n\t"b": 2\n}\n', 3, 'a \',\' is expected'],
    ['an unclosed string', '{\n\t"a": "x\n}\n', 2, 'a string is not closed'],
    ['a top-level array', '\n\n[1]\n', 3, 'not a JSON object'],
  ])('refuses a file with %s, naming the line', (_, text, line, problem) => {
    expect(() => planSetup(text, 'settings.json', {})).toThrow(expect.objectContaining({code: 'ERR_IDE_SETTINGS_INVALID', message: expect.stringMatching(new RegExp(`^settings\\.json:${line}(:\\d+)?: .*${problem.replace(/[.*+?^${}()|[\]\\']/g, '\\$&')}`))}))
  })

  it('leaves a remotePlatform that is not an object alone, and says so', () => {
    const plan = planSetup('{"remote.SSH.remotePlatform": "linux"}', 'f', {})
    expect(plan.text).toBe('{"remote.SSH.remotePlatform": "linux"}')
    expect(plan.changes).toEqual([expect.objectContaining({action: 'skipped'})])
  })
})

describe('every byte of the user\'s kept, whatever the layout', () => {
  const PLATFORM = '{"*.gitpod.environment": "linux", "*.gitpod.remote": "linux"}'

  it('a one-line file stays one line: ona\'s members go last on it, and --remove gives the bytes back', () => {
    const text = '{"editor.fontSize": 13}'
    const plan = planSetup(text, 'f', {connectTimeout: START_CONNECT_TIMEOUT_S})
    expect(plan.text).toBe(`{"editor.fontSize": 13, "remote.SSH.remotePlatform": ${PLATFORM}, "remote.SSH.connectTimeout": ${START_CONNECT_TIMEOUT_S}}`)
    expect(planRemove(plan.text, 'f', plan.record).text).toBe(text)
    // A user's one-line remotePlatform inside a multi-line file: the keys go in on its line.
    const inner = '{\n  "remote.SSH.remotePlatform": {"myhost": "windows"},\n  "a": 1\n}\n'
    const innerPlan = planSetup(inner, 'f', {})
    expect(innerPlan.text).toBe('{\n  "remote.SSH.remotePlatform": {"myhost": "windows", "*.gitpod.environment": "linux", "*.gitpod.remote": "linux"},\n  "a": 1\n}\n')
    expect(planRemove(innerPlan.text, 'f', innerPlan.record).text).toBe(inner)
  })

  it('{} and {\\n} both come back as they were after --remove', () => {
    for (const text of ['{}', '{\n}', '{\n}\n', '{ }']) {
      const plan = planSetup(text, 'f', {connectTimeout: START_CONNECT_TIMEOUT_S})
      expect(remoteSshValues(parseSettings(plan.text, 'f'))).toEqual({remotePlatform: {'*.gitpod.environment': 'linux', '*.gitpod.remote': 'linux'}, connectTimeout: START_CONNECT_TIMEOUT_S})
      expect(planRemove(plan.text, 'f', plan.record).text).toBe(text)
    }
    expect(planSetup('{\n}\n', 'f', {}).text).toBe(`{\n\t"remote.SSH.remotePlatform": {\n\t\t"*.gitpod.environment": "linux",\n\t\t"*.gitpod.remote": "linux"\n\t}\n}\n`)
  })

  it('a key added after the last member of its object: a comma after that value, the member on a line of its own, the comment on the value\'s line left there', () => {
    const text = '{\n  "remote.SSH.remotePlatform": {\n    "*.gitpod.environment": "windows" // mine\n  }\n}\n'
    const plan = planSetup(text, 'f', {})
    expect(plan.text).toBe('{\n  "remote.SSH.remotePlatform": {\n    "*.gitpod.environment": "windows", // mine\n    "*.gitpod.remote": "linux"\n  }\n}\n')
    expect(planRemove(plan.text, 'f', plan.record).text).toBe(text)
  })

  // Settings files as people and editors write them: one line, tabs, 2 or 4 spaces, LF or CRLF, comments on
  // their own line and after a value, trailing commas, a user's own remotePlatform and connectTimeout.
  const key = fc.constantFrom('editor.fontSize', 'files.exclude', 'workbench.colorTheme', 'remote.SSH.useLocalServer', 'terminal.integrated.env.linux', 'x.y')
  const scalar = fc.oneof(fc.integer({min: -5, max: 2000}), fc.boolean(), fc.constantFrom('a', 'Default Dark+', 'ü', ''))
  const member = fc.oneof(
    {weight: 4, arbitrary: fc.tuple(key, fc.oneof(scalar, fc.dictionary(fc.constantFrom('**/.git', 'b', 'c'), scalar, {maxKeys: 2})))},
    {weight: 1, arbitrary: fc.tuple(fc.constant('remote.SSH.remotePlatform'), fc.dictionary(fc.constantFrom('*.gitpod.environment', '*.gitpod.remote', 'myhost'), fc.constantFrom('linux', 'windows', 'macOS'), {maxKeys: 3}) as fc.Arbitrary<unknown>)},
    {weight: 1, arbitrary: fc.tuple(fc.constant('remote.SSH.connectTimeout'), fc.integer({min: 1, max: 2000}) as fc.Arbitrary<unknown>)},
  )
  const style = fc.record({
    indent: fc.constantFrom<string | undefined>(undefined, '\t', '  ', '    '),
    eol: fc.constantFrom('\n', '\r\n'),
    trailingComma: fc.boolean(),
    comments: fc.array(fc.constantFrom(0, 1, 2), {maxLength: 8}),
    header: fc.boolean(),
    finalEol: fc.boolean(),
  })
  function render(members: Array<[string, unknown]>, s: fc.RecordValue<{indent: string | undefined; eol: string; trailingComma: boolean; comments: number[]; header: boolean; finalEol: boolean}>, depth = 1): string {
    const value = (v: unknown): string => (v && typeof v === 'object' ? render(Object.entries(v), s, depth + 1) : JSON.stringify(v))
    if (s.indent === undefined) return `{${members.map(([k, v]) => `${JSON.stringify(k)}: ${value(v)}`).join(', ')}${s.trailingComma && members.length > 0 ? ',' : ''}}`
    const pad = s.indent.repeat(depth)
    const lines = members.map(([k, v], i) => {
      const comment = s.comments[i % Math.max(1, s.comments.length)] ?? 0
      const comma = i < members.length - 1 || s.trailingComma ? ',' : ''
      return `${comment === 1 ? `${pad}// about ${k}${s.eol}` : ''}${pad}${JSON.stringify(k)}: ${value(v)}${comma}${comment === 2 ? ' /* note */ // and more' : ''}`
    })
    return `{${s.eol}${lines.map((l) => l + s.eol).join('')}${s.indent.repeat(depth - 1)}}`
  }
  const settingsFile = fc.tuple(fc.uniqueArray(member, {selector: ([k]) => k, maxLength: 6}), style).map(([members, s]) => {
    const body = render(members, s)
    return (s.header ? `// Place your settings in this file${s.eol}` : '') + body + (s.finalEol ? s.eol : '')
  })

  it('setup changes no member of the user\'s but those it sets, and --remove gives back the original bytes (property)', () => {
    fc.assert(
      fc.property(settingsFile, fc.boolean(), (text, resolveOnConnect) => {
        const plan = planSetup(text, 'f', resolveOnConnect ? {connectTimeout: START_CONNECT_TIMEOUT_S} : {})
        const after = parseSettings(plan.text, 'f')!
        const before = parseSettings(text, 'f')!
        const touched = new Set(plan.changes.filter((c) => c.action === 'added' || c.action === 'raised').map((c) => c.setting.replace(/\[.*$/, '')))
        const memberText = (tree: Node, t: string, k: string) => {
          const node = findNodeAtLocation(tree, [k])?.parent
          return node && t.slice(node.offset, node.offset + node.length)
        }
        for (const child of before.children ?? []) {
          const k = child.children![0]!.value as string
          if (!touched.has(k)) expect(memberText(after, plan.text, k)).toBe(memberText(before, text, k))
        }
        // Every comment and every line ending kept, none added in another style.
        const comments = (t: string) => t.match(/\/\/[^\r\n]*|\/\*[^]*?\*\//g) ?? []
        expect(comments(plan.text)).toEqual(comments(text))
        if (text.includes('\r\n')) expect(plan.text.replace(/\r\n/g, '')).not.toContain('\n')
        if (!/[\r\n]/.test(text.trim())) expect(plan.text.trim()).not.toMatch(/[\r\n]/)
        expect(checkRemoteSsh(remoteSshValues(after)).remotePlatformMissing).toEqual([])
        expect(planRemove(plan.text, 'f', plan.record).text).toBe(text)
      }),
      {numRuns: 300},
    )
  })
})

describe('checkRemoteSsh (what ona doctor reads)', () => {
  it('says whether the aliases are mapped and the timeout is long enough for a start', () => {
    const before = checkRemoteSsh(remoteSshValues(parseSettings(USER_FILE, 'f')))
    expect(before).toEqual({remotePlatformSet: false, remotePlatformMissing: [...ALIAS_PATTERNS], remotePlatformOther: [], connectTimeout: 30, connectTimeoutEnough: false})
    const after = checkRemoteSsh(remoteSshValues(parseSettings(planSetup(USER_FILE, 'f', {connectTimeout: START_CONNECT_TIMEOUT_S}).text, 'f')))
    expect(after).toEqual({remotePlatformSet: true, remotePlatformMissing: [], remotePlatformOther: [], connectTimeout: START_CONNECT_TIMEOUT_S, connectTimeoutEnough: true})
    expect(checkRemoteSsh({configFile: '~/.ssh/other'})).toMatchObject({remotePlatformSet: false, connectTimeout: 15, connectTimeoutEnough: false, configFile: '~/.ssh/other'})
    expect(checkRemoteSsh({connectTimeout: '600'}, {defaultTimeout: 60})).toMatchObject({connectTimeout: 60, connectTimeoutEnough: false})
  })

  it("judges the hosts the editor will connect to: a host's own key first, else the first wildcard key that matches; another platform is said apart", () => {
    const env = 'abc.gitpod.environment'
    const remote = 'abc.gitpod.remote'
    const values = {remotePlatform: {[env]: 'windows', '*.GITPOD.environment': 'linux', '*.gitpod.*': 'macOS'}}
    expect(remotePlatformOf(values, env)).toBe('windows')
    expect(remotePlatformOf(values, 'def.gitpod.environment')).toBe('linux')
    expect(remotePlatformOf(values, remote)).toBe('macOS')
    expect(remotePlatformOf(values, 'github.com')).toBeUndefined()
    expect(checkRemoteSsh(values, {hosts: [env, remote, 'def.gitpod.environment']})).toMatchObject({
      remotePlatformSet: false,
      remotePlatformMissing: [],
      remotePlatformOther: [{host: env, platform: 'windows'}, {host: remote, platform: 'macOS'}],
    })
    // `ona ide setup`'s own keys: ona's two patterns map to linux, so every alias does.
    const setUp = remoteSshValues(parseSettings(planSetup('{}', 'f', {}).text, 'f'))
    expect(checkRemoteSsh(setUp, {hosts: [env, remote]})).toMatchObject({remotePlatformSet: true, remotePlatformMissing: [], remotePlatformOther: []})
    expect(checkRemoteSsh({remotePlatform: {'*.gitpod.environment': 'linux'}}, {hosts: [env, remote]})).toMatchObject({remotePlatformSet: false, remotePlatformMissing: [remote]})
  })
})

describe('readEditorSettings', () => {
  it('reads values as the UTF-8 the editor writes: a configFile under a home with a non-ASCII letter comes back as written', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'ona-ide-read-'))
    try {
      const file = path.join(dir, 'settings.json')
      await writeFile(file, '\uFEFF{\n  // mine\n  "remote.SSH.configFile": "/home/jürgen/.ssh/config",\n}\n')
      const linux: Platform = {name: 'linux', homedir: dir, env: {HOME: dir}}
      expect(await readEditorSettings(linux, 'vscode', file)).toEqual({editor: 'vscode', file, exists: true, values: {configFile: '/home/jürgen/.ssh/config'}})
      expect(await readEditorSettings(linux, 'cursor', path.join(dir, 'none.json'))).toMatchObject({exists: false, values: {}})
      await writeFile(file, '{\n  "a": 1\n  "b": 2\n}\n')
      await expect(readEditorSettings(linux, 'vscode', file)).rejects.toMatchObject({code: 'ERR_IDE_SETTINGS_INVALID', message: `${file}:3:3: a ',' is expected`})
    } finally {
      await rm(dir, {recursive: true, force: true})
    }
  })
})
