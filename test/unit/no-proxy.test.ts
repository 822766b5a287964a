import {describe, expect, it} from 'vitest'

import {auditNoProxy, matchesNoProxy, noProxyValue, parseNoProxy, proxyForUrl} from '../../src/lib/net/no-proxy.js'

describe('matchesNoProxy', () => {
  it.each<[string, string, number | undefined, boolean]>([
    // [NO_PROXY, host, port, bypasses proxy]
    ['example.com', 'example.com', 443, true],
    ['example.com', 'api.example.com', 443, true],
    ['example.com', 'deep.api.example.com', undefined, true],
    ['example.com', 'notexample.com', 443, false],
    ['example.com', 'example.com.evil.net', 443, false],
    // Decision: the dotted form matches the bare domain too (curl), not only subdomains (Go).
    ['.example.com', 'example.com', 443, true],
    ['.example.com', 'a.example.com', 443, true],
    ['.example.com', 'xexample.com', 443, false],
    ['*.example.com', 'a.example.com', 443, true],
    ['EXAMPLE.COM', 'Api.Example.Com', 443, true],
    ['example.com.', 'api.example.com', 443, true],
    ['example.com', 'api.example.com.', 443, true],
    ['*', 'anything.at.all', 443, true],
    ['foo.com, *', '10.0.0.1', 80, true],
    ['', 'example.com', 443, false],
    // host:port matches that port only
    ['example.com:8443', 'example.com', 8443, true],
    ['example.com:8443', 'example.com', 443, false],
    ['example.com:8443', 'example.com', undefined, false],
    // IP literals, any spelling
    ['127.0.0.1', '127.0.0.1', 443, true],
    ['127.0.0.1', '127.0.0.2', 443, false],
    ['::1', '[::1]', 443, true],
    ['[::1]', '::1', 443, true],
    ['[0:0:0:0:0:0:0:1]:8080', '[::1]', 8080, true],
    ['[::1]:8080', '[::1]', 443, false],
    ['2001:db8::1', '2001:DB8:0::1', 443, true],
    // CIDR
    ['169.254.0.0/16', '169.254.169.254', 80, true],
    ['169.254.0.0/16', '169.255.0.1', 80, false],
    ['10.0.0.0/8', '10.200.3.4', 443, true],
    ['fd00::/8', '[fd12:3456::1]', 443, true],
    ['fd00::/8', '[fe80::1]', 443, false],
    // a name is never resolved to test it against an IP rule
    ['127.0.0.0/8', 'localhost', 443, false],
    ['10.0.0.0/8', '10.example.com', 443, false],
    // separators: commas and whitespace, mixed
    ['  a.com ,b.com   c.com', 'c.com', 443, true],
    ['a.com,,b.com', 'b.com', 443, true],
    // lenient about pasted URLs
    ['https://internal.corp/', 'git.internal.corp', 443, true],
  ])('NO_PROXY=%j host %j port %j -> %j', (value, host, port, expected) => {
    expect(matchesNoProxy(parseNoProxy(value), host, port)).toBe(expected)
  })
})

describe('parseNoProxy', () => {
  it('keeps entries nothing can read apart, and they match nothing', () => {
    const rules = parseNoProxy('good.com,host:notaport,[::1,host!,host:70000,a..b')
    expect(rules.entries.map((e) => e.raw)).toEqual(['good.com'])
    expect(rules.invalid).toEqual(['host:notaport', '[::1', 'host!', 'host:70000', 'a..b'])
    expect(matchesNoProxy(rules, 'host', 70_000)).toBe(false)
  })

  it('records kind, value and port of each entry', () => {
    const rules = parseNoProxy('.Internal,10.0.0.0/8,[::1]:22,h.example:8443')
    expect(rules.entries.map(({raw, kind, value, prefix, port}) => ({raw, kind, value, prefix, port}))).toEqual([
      {raw: '.Internal', kind: 'domain', value: 'internal', prefix: undefined, port: undefined},
      {raw: '10.0.0.0/8', kind: 'cidr', value: '10.0.0.0', prefix: 8, port: undefined},
      {raw: '[::1]:22', kind: 'ip', value: '::1', prefix: undefined, port: 22},
      {raw: 'h.example:8443', kind: 'domain', value: 'h.example', prefix: undefined, port: 8443},
    ])
  })
})

describe('proxyForUrl', () => {
  const https = new URL('https://app.gitpod.io/api')
  const http = new URL('http://169.254.169.254/latest/meta-data')

  it.each<[string, URL, NodeJS.ProcessEnv, string | undefined]>([
    ['no proxy variables: direct', https, {}, undefined],
    ['https URL uses HTTPS_PROXY', https, {HTTPS_PROXY: 'http://proxy:3128'}, 'http://proxy:3128'],
    ['https URL ignores HTTP_PROXY', https, {HTTP_PROXY: 'http://proxy:3128'}, undefined],
    ['http URL uses HTTP_PROXY', http, {HTTP_PROXY: 'http://p:1'}, 'http://p:1'],
    ['http URL ignores HTTPS_PROXY', http, {HTTPS_PROXY: 'http://p:1'}, undefined],
    ['lowercase https_proxy wins over uppercase', https, {https_proxy: 'http://lower:1', HTTPS_PROXY: 'http://upper:2'}, 'http://lower:1'],
    ['empty lowercase counts as unset', https, {https_proxy: '', HTTPS_PROXY: 'http://upper:2'}, 'http://upper:2'],
    ['a proxy without scheme gets http://', https, {HTTPS_PROXY: 'proxy.corp:3128'}, 'http://proxy.corp:3128'],
    ['ALL_PROXY is a fallback', https, {ALL_PROXY: 'http://all:1'}, 'http://all:1'],
    ['a SOCKS ALL_PROXY is not used', https, {ALL_PROXY: 'socks5://s:1080'}, undefined],
    ['NO_PROXY match: direct', https, {HTTPS_PROXY: 'http://p:1', NO_PROXY: '.gitpod.io'}, undefined],
    ['NO_PROXY miss: proxied', https, {HTTPS_PROXY: 'http://p:1', NO_PROXY: '.ona.com'}, 'http://p:1'],
    ['lowercase no_proxy wins over uppercase', https, {HTTPS_PROXY: 'http://p:1', no_proxy: 'other.com', NO_PROXY: 'app.gitpod.io'}, 'http://p:1'],
    ['NO_PROXY * disables the proxy', https, {HTTPS_PROXY: 'http://p:1', NO_PROXY: '*'}, undefined],
    ['NO_PROXY CIDR covers metadata', http, {HTTP_PROXY: 'http://p:1', NO_PROXY: '169.254.0.0/16'}, undefined],
    ['default port of the scheme meets host:port', https, {HTTPS_PROXY: 'http://p:1', NO_PROXY: 'app.gitpod.io:443'}, undefined],
    ['explicit port meets host:port', new URL('https://us01.gitpod.dev:8443'), {HTTPS_PROXY: 'http://p:1', NO_PROXY: 'us01.gitpod.dev:443'}, 'http://p:1'],
    ['bracketed IPv6 URL host', new URL('https://[::1]:8443/'), {HTTPS_PROXY: 'http://p:1', NO_PROXY: '::1'}, undefined],
    ['non-http scheme never proxied', new URL('ssh://host/'), {HTTPS_PROXY: 'http://p:1', HTTP_PROXY: 'http://p:1'}, undefined],
  ])('%s', (_name, url, env, expected) => {
    expect(proxyForUrl(url, env)).toBe(expected)
  })

  it('noProxyValue prefers no_proxy and treats empty as unset', () => {
    expect(noProxyValue({no_proxy: 'a', NO_PROXY: 'b'})).toBe('a')
    expect(noProxyValue({no_proxy: '', NO_PROXY: 'b'})).toBe('b')
    expect(noProxyValue({})).toBeUndefined()
  })
})

describe('auditNoProxy', () => {
  it('the vendor default NO_PROXY lacks nothing but its CIDR is flagged as ignored by common tools', () => {
    const audit = auditNoProxy('localhost,127.0.0.1,.internal,.amazonaws.com,169.254.0.0/16,app.gitpod.io')
    expect(audit.missing).toEqual([])
    expect(audit.unportable.map((f) => f.entry)).toEqual(['169.254.0.0/16'])
    expect(audit.unportable[0]?.message).toMatch(/proxy-from-env/)
  })

  it('an unset NO_PROXY lacks all four required entries', () => {
    expect(auditNoProxy(undefined).missing.map((f) => f.entry)).toEqual(['.internal', '169.254.0.0/16', 'app.gitpod.io', '.amazonaws.com'])
  })

  it.each<[string, string[], string[]]>([
    // [NO_PROXY, missing, unportable]
    ['gitpod.io,amazonaws.com,internal,169.254.169.254', [], []],
    ['*.amazonaws.com,.internal,app.gitpod.io', ['169.254.0.0/16'], ['*.amazonaws.com']],
    ['.internal,169.254.0.0/16,.gitpod.io', ['.amazonaws.com'], ['169.254.0.0/16']],
    ['*', [], []],
    ['http://app.gitpod.io/,10.0.*', ['.internal', '169.254.0.0/16', '.amazonaws.com'], ['http://app.gitpod.io/', '10.0.*']],
  ])('NO_PROXY=%j: missing %j, unportable %j', (value, missing, unportable) => {
    const audit = auditNoProxy(value)
    expect(audit.missing.map((f) => f.entry)).toEqual(missing)
    expect(audit.unportable.map((f) => f.entry)).toEqual(unportable)
  })

  it('reports entries nothing can read', () => {
    expect(auditNoProxy('ok.com,host:port').invalid.map((f) => f.entry)).toEqual(['host:port'])
  })
})
