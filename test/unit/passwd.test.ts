/**
 * `~user`: the password database as platform/passwd.ts reads it (passwd(5) text, getent, dscl output).
 */
import {readFileSync} from 'node:fs'
import os from 'node:os'

import {describe, expect, it} from 'vitest'

import {homeInDscl, homeInPasswd, isLookupName, passwdOf, systemPasswd} from '../../src/lib/platform/passwd.js'
import type {Platform} from '../../src/lib/platform/platform.js'

const PASSWD = ['root:x:0:0:root:/root:/bin/bash', '# a comment', 'alice:x:1000:1000:Alice,,,:/home/alice:/bin/zsh', 'alice:x:1001:1001::/elsewhere:/bin/sh', 'nohome:x:5:5:::/bin/sh', 'short:x:1'].join('\n')
const linux: Platform = {name: 'linux', homedir: '/root', env: {}}

describe('the password database', () => {
  it.each([
    ['root', '/root'],
    ['alice (first entry wins)', '/home/alice'],
    ['an empty home field', undefined],
    ['a line with too few fields', undefined],
    ['a user that is not there', undefined],
  ])('homeInPasswd: %s', (name, expected) => {
    const user = {'root': 'root', 'alice (first entry wins)': 'alice', 'an empty home field': 'nohome', 'a line with too few fields': 'short', 'a user that is not there': 'bob'}[name]!
    expect(homeInPasswd(PASSWD, user)).toBe(expected)
  })

  it.each([
    ['NFSHomeDirectory: /Users/alice\n', '/Users/alice'],
    ['NFSHomeDirectory:\n /Users/with space\n', '/Users/with space'],
    ['', undefined],
  ])('homeInDscl(%j)', (output, expected) => {
    expect(homeInDscl(output)).toBe(expected)
  })

  it('the current user is answered from the OS, without a process', () => {
    const me = os.userInfo()
    expect(systemPasswd(linux)(me.username)).toBe(me.homedir)
  })

  it('another user comes from getent or /etc/passwd; an unknown or unsafe name is no user', () => {
    let etc = ''
    try {
      etc = readFileSync('/etc/passwd', 'utf8')
    } catch {}
    const other = ['nobody', 'daemon', 'root'].find((n) => n !== os.userInfo().username && homeInPasswd(etc, n) !== undefined)
    if (other) expect(systemPasswd(linux)(other)).toBe(homeInPasswd(etc, other))
    expect(systemPasswd(linux)('no-such-user-ona-test')).toBeUndefined()
    expect(systemPasswd(linux)('-x')).toBeUndefined()
    expect(systemPasswd(linux)('a/b')).toBeUndefined()
  })

  it.each([
    ['an sssd fully qualified name', 'alice@corp.example', true],
    ['a winbind name', 'CORP\\bob', true],
    ['a non-ASCII name', 'jürgen', true],
    ['a machine account', 'host$', true],
    ['empty', '', false],
    ['a leading dash (an option to getent)', '-x', false],
    ['a slash', 'a/b', false],
    ['the passwd field separator', 'a:b', false],
    ['a newline', 'a\nb', false],
  ])('regression: which names are asked about: %s', (_what, name, asked) => {
    // Before, only [A-Za-z0-9._-] names were asked, and sssd or winbind users OpenSSH finds were "no such user".
    expect(isLookupName(name)).toBe(asked)
  })

  it('Windows knows only the current user; an injected database wins over the machine\'s', () => {
    const other = os.userInfo().username === 'nobody' ? 'daemon' : 'nobody'
    expect(systemPasswd({name: 'win32', homedir: 'C:\\Users\\me', env: {}})(other)).toBeUndefined()
    expect(passwdOf({...linux, passwd: (n) => (n === 'alice' ? '/x/alice' : undefined)})('alice')).toBe('/x/alice')
  })
})
