import {describe, expect, it} from 'vitest'

import {parseSshUrl} from '../../src/lib/api/ssh-url.js'

describe('parseSshUrl', () => {
  it.each([
    ['ssh://gitpod_devcontainer@18.197.143.102:22', {user: 'gitpod_devcontainer', host: '18.197.143.102', port: 22}],
    ['ssh://gitpod_devcontainer@127.0.0.11:2222', {user: 'gitpod_devcontainer', host: '127.0.0.11', port: 2222}],
    ['ssh://dev@env-1.eu01.gitpod.dev:22', {user: 'dev', host: 'env-1.eu01.gitpod.dev', port: 22}],
    ['ssh://dev@Env-1.Example.COM:22', {user: 'dev', host: 'env-1.example.com', port: 22}],
    ['ssh://dev@[2001:db8::1]:2200', {user: 'dev', host: '2001:db8::1', port: 2200}],
    ['ssh://dev@10.0.0.1', {user: 'dev', host: '10.0.0.1', port: 22}],
    ['SSH://dev@10.0.0.1:22/', {user: 'dev', host: '10.0.0.1', port: 22}],
  ])('accepts %s', (raw, address) => {
    expect(parseSshUrl(raw)).toEqual({ok: true, address})
  })

  it.each([
    ['empty', ''],
    ['another scheme', 'http://dev@10.0.0.1:22'],
    ['no user', 'ssh://10.0.0.1:22'],
    ['a password', 'ssh://dev:pw@10.0.0.1:22'],
    ['a path', 'ssh://dev@10.0.0.1:22/home'],
    ['a query', 'ssh://dev@10.0.0.1:22?x=1'],
    ['a fragment', 'ssh://dev@10.0.0.1:22#x'],
    ['port 0', 'ssh://dev@10.0.0.1:0'],
    ['port 65536', 'ssh://dev@10.0.0.1:65536'],
    ['a non-numeric port', 'ssh://dev@10.0.0.1:ssh'],
    ['an option smuggled after a space', 'ssh://dev@10.0.0.1:22 -oProxyCommand=sh'],
    ['a newline (config injection)', 'ssh://dev@10.0.0.1:22\nHost *'],
    ['percent escapes', 'ssh://dev@10.0.0.1%0a:22'],
    ['a user starting with a dash', 'ssh://-oProxyCommand@10.0.0.1:22'],
    ['an invalid IPv4', 'ssh://dev@999.1.1.1:22'],
    ['an invalid IPv6', 'ssh://dev@[2001:zz::1]:22'],
    ['a hostname with an underscore', 'ssh://dev@bad_host.example:22'],
    ['a hostname with a trailing dot', 'ssh://dev@host.example.:22'],
    ['a wildcard host', 'ssh://dev@*.example.com:22'],
  ])('rejects %s', (_, raw) => {
    const result = parseSshUrl(raw)
    expect(result.ok).toBe(false)
    if (!result.ok) expect(result.reason).not.toBe('')
  })
})
