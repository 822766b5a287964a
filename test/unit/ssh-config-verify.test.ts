/**
 * The one `ssh -G` output parser (verify.ts), which the product's verification and the tests' helper
 * (test/helpers/ssh.ts) both use.
 */
import {describe, expect, it} from 'vitest'

import {parseSshG} from '../../src/lib/ssh-config/verify.js'

describe('parseSshG', () => {
  it.each([
    ['a single keyword', 'hostname x\n', [['hostname', ['x']]]],
    ['a keyword printed twice keeps both values in order', 'sendenv A\nsendenv B\n', [['sendenv', ['A', 'B']]]],
    ['identityfile printed once is one value', 'identityfile ~/.ssh/id\n', [['identityfile', ['~/.ssh/id']]]],
    ['uppercase keywords are lowercased, values kept', 'HostName MixedCase\n', [['hostname', ['MixedCase']]]],
    ['values keep inner spaces', 'localforward 1 h:2\n', [['localforward', ['1 h:2']]]],
    ['a keyword with no value', 'proxyjump\n', [['proxyjump', ['']]]],
    ['blank lines and CRLF are skipped', 'user a\r\n\r\nport 22\r\n', [['user', ['a']], ['port', ['22']]]],
    ['nothing printed', '', []],
  ])('%s', (_name, raw, expected) => {
    expect([...parseSshG(raw)]).toEqual(expected)
  })
})

describe('verifyAliases and ONA_SSH', () => {
  it('regression: an empty ONA_SSH means the ssh on PATH, as `ona ssh` reads it (it used to throw from spawn)', async () => {
    const {mkdtemp, rm, writeFile} = await import('node:fs/promises')
    const os = await import('node:os')
    const path = await import('node:path')
    const {verifyAliases} = await import('../../src/lib/ssh-config/verify.js')
    const dir = await mkdtemp(path.join(os.tmpdir(), 'ona-verify-env-'))
    try {
      const {BEGIN_MARKER, END_MARKER} = await import('../../src/lib/ssh-config/index.js')
      const text = `${BEGIN_MARKER}\n` + 'Host e1.gitpod.environment e1.gitpod.remote\n  HostName 127.0.0.9\n  User gitpod_devcontainer\n  Port 2222\n  HostKeyAlias e1.gitpod.environment\n' + `${END_MARKER}\n`
      const file = path.join(dir, 'config')
      await writeFile(file, text)
      const result = await verifyAliases({text, aliases: ['e1.gitpod.environment'], configFile: file, home: dir, env: {...process.env, ONA_SSH: ''}})
      if (result.skipped?.includes('found on PATH')) return void console.warn('skipped: no OpenSSH client on PATH')
      expect(result.checked).toBe(1)
      expect(result.warnings).toEqual([])
    } finally {
      await rm(dir, {recursive: true, force: true})
    }
  })
})
