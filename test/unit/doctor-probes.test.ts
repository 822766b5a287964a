import {describe, expect, it} from 'vitest'

import {hostFieldMatches, isNullDevice, knownHostsFiles, knownHostsLookup} from '../../src/lib/doctor/probes.js'
import type {Platform} from '../../src/lib/platform/platform.js'

const KEY = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIG0cfKnnsNcJT2bF1oHmG0I5Jm6fu5k7cIiRV0s4cd2L'
const alias = 'abc.gitpod.environment'

describe('known_hosts host fields', () => {
  it.each([
    [alias, true],
    [`other,${alias.toUpperCase()}`, true],
    ['*.gitpod.environment', true],
    ['*.gitpod.environment,!abc.*', false],
    ['abd.gitpod.environment', false],
    [`[${alias}]:2222`, false],
  ])('%s matches %s: %s', (field, expected) => {
    expect(hostFieldMatches(field, alias)).toBe(expected)
  })

  it('a @revoked line wins over a known key; @cert-authority counts as known; comments are skipped', () => {
    expect(knownHostsLookup(`# ${alias} ${KEY}\n`, alias)).toBe('unknown')
    expect(knownHostsLookup(`@cert-authority *.gitpod.environment ${KEY}\n`, alias)).toBe('known')
    expect(knownHostsLookup(`${alias} ${KEY}\n@revoked ${alias} ${KEY}\n`, alias)).toBe('revoked')
  })

  it('expands ~ in the files ssh -G names and recognises the null device on each platform', () => {
    const linux: Platform = {name: 'linux', homedir: '/home/u', env: {}}
    const win: Platform = {name: 'win32', homedir: 'C:\\Users\\u', env: {}}
    expect(knownHostsFiles(['~/.ssh/known_hosts ~/.ssh/known_hosts2'], '/home/u', linux)).toEqual(['/home/u/.ssh/known_hosts', '/home/u/.ssh/known_hosts2'])
    expect(knownHostsFiles(['~\\.ssh\\known_hosts'], 'C:\\Users\\u', win)).toEqual(['C:\\Users\\u\\.ssh\\known_hosts'])
    expect(isNullDevice('/dev/null')).toBe(true)
    expect(isNullDevice('NUL')).toBe(true)
    expect(isNullDevice('/home/u/.ssh/known_hosts')).toBe(false)
  })
})
