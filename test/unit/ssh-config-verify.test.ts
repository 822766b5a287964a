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
