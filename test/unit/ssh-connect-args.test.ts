import os from 'node:os'
import path from 'node:path'

import {describe, expect, it} from 'vitest'

import {createContext} from '../../src/lib/context.js'
import {sshArgs, sshConfigArgs} from '../../src/lib/ssh/connect.js'

// ssh finds ~/.ssh/config through the passwd entry: the tests use that home, as a real user's run does.
const home = os.userInfo().homedir
const ctxFor = (sshConfig: string, HOME = home) => createContext({env: {HOME}, homedir: HOME, sshConfig, platform: 'linux'})

describe('ona ssh passes -F only when ssh would not read the managed file by itself', () => {
  it('the managed file is ~/.ssh/config: no -F', () => {
    expect(sshArgs(ctxFor(path.join(home, '.ssh', 'config')), 'a.gitpod.environment', ['true'], false)).toEqual(['a.gitpod.environment', 'true'])
  })

  it('a managed file ~/.ssh/config Includes (config.d/ona): no -F, so the user config and /etc/ssh/ssh_config still apply', () => {
    const result = sshConfigArgs(ctxFor(path.join(home, '.ssh', 'config.d', 'ona')), true)
    expect(result).toEqual({args: []})
  })

  it('a managed file nothing Includes: -F with a warning naming what is skipped and the Include line to add', () => {
    const managed = path.join(home, '.ssh', 'config.d', 'ona')
    const result = sshConfigArgs(ctxFor(managed), false)
    expect(result.args).toEqual(['-F', managed])
    expect(result.warning).toMatch(/your own .*\.ssh\/config and \/etc\/ssh\/ssh_config are skipped/)
    expect(result.warning).toContain('`Include config.d/ona` at the top of')
  })

  it('a scratch $HOME that is not the passwd home: its own ~/.ssh/config is named, never the included file alone', () => {
    const scratch = '/tmp/scratch-home'
    const result = sshConfigArgs(ctxFor(path.join(scratch, '.ssh', 'config.d', 'ona'), scratch), true)
    expect(result).toEqual({args: ['-F', path.join(scratch, '.ssh', 'config')]})
  })
})
