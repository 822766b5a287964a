/**
 * Messages the issue found wrong (issue 13, "Messages that are wrong today"), one named regression each.
 * The CLI-level cases (a mistyped token at login, a write where there was no file) are in
 * test/integration/golden-output.test.ts.
 */
import {describe, expect, it} from 'vitest'

import {writeError} from '../../src/lib/fs/safe-write.js'
import {planBlock} from '../../src/lib/sync/plan.js'

const fail = (code: string) => Object.assign(new Error(code), {code})

describe('write failures say what happened', () => {
  it.each([
    ['ENOSPC: the disk is full, not a permissions problem', 'ENOSPC', /disk holding \/home\/ada\/\.ssh is full/],
    ['EDQUOT: the quota', 'EDQUOT', /quota is used up/],
    ['EROFS: a read-only file system', 'EROFS', /\/home\/ada\/\.ssh is on a read-only file system/],
    ['EACCES: permissions', 'EACCES', /Check the permissions/],
  ])('%s', (_, code, hint) => {
    const error = writeError('/home/ada/.ssh/config', fail(code), true)
    expect(error.code).toBe('ERR_SSH_CONFIG_WRITE')
    expect(error.hint).toMatch(hint)
    if (code !== 'EACCES') expect(error.hint).not.toMatch(/permission/i)
  })

  // Regression: "the original file was left as it was" when there was no file.
  it.each([
    [true, 'the original file was left as it was'],
    [false, 'no file was created'],
    [undefined, 'the SSH config was not changed'],
  ])('with existed=%s says "%s"', (existed, phrase) => {
    const hint = writeError('/home/ada/.ssh/config', fail('ENOSPC'), existed).hint
    expect(hint).toContain(phrase)
    if (existed !== true) expect(hint).not.toContain('original file')
  })
})

describe('sync warnings', () => {
  // Regression: "environment X: status.environmentUrls.ssh.url environment X: status.environmentUrls.ssh.url is not ..."
  it('names an environment with a bad SSH url once', () => {
    const id = '0199ec15-59d3-7e92-8e22-8cb6c7ba4df7'
    const plan = planBlock(
      [{id, phase: 'ENVIRONMENT_PHASE_RUNNING', statusVersion: 2n}],
      [{id, host: '127.0.0.11', port: 2222, user: 'u'}],
      [{environmentId: id, field: 'status.environmentUrls.ssh.url', message: `environment ${id}: status.environmentUrls.ssh.url is not of the form ssh://user@host:port`}],
    )
    const messages = plan.warnings.map((w) => w.message)
    expect(messages).toEqual([`environment ${id}: status.environmentUrls.ssh.url is not of the form ssh://user@host:port; keeping its last known address`])
  })
})
