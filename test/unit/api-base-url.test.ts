import {describe, expect, it} from 'vitest'

import {DEFAULT_API_URL, apiHostKey, insecureHttpRefusal, resolveApiUrl, tokenPageUrl} from '../../src/lib/api/base-url.js'
import {OnaError} from '../../src/lib/errors.js'

describe('resolveApiUrl', () => {
  it('defaults to the vendor cloud', () => {
    expect(resolveApiUrl(undefined, {})).toBe(DEFAULT_API_URL)
    expect(DEFAULT_API_URL).toBe('https://app.ona.com/api')
  })

  it.each([
    ['the flag over everything', 'https://flag.example/api', {ONA_API_URL: 'https://a.example/api', ONA_BASE_URL: 'https://b.example/api', GITPOD_BASE_URL: 'https://c.example/api'}, 'https://flag.example/api'],
    ['ONA_API_URL over the SDK variables', undefined, {ONA_API_URL: 'https://a.example/api', ONA_BASE_URL: 'https://b.example/api', GITPOD_BASE_URL: 'https://c.example/api'}, 'https://a.example/api'],
    ['ONA_BASE_URL over GITPOD_BASE_URL', undefined, {ONA_BASE_URL: 'https://b.example/api', GITPOD_BASE_URL: 'https://c.example/api'}, 'https://b.example/api'],
    ['GITPOD_BASE_URL last', undefined, {GITPOD_BASE_URL: 'https://c.example/api'}, 'https://c.example/api'],
    ['empty values as unset', '', {ONA_API_URL: '  ', GITPOD_BASE_URL: 'https://c.example/api'}, 'https://c.example/api'],
    ['a trailing slash removed', 'https://ona.corp.example/api/', {}, 'https://ona.corp.example/api'],
    ['a local http simulator', 'http://127.0.0.1:8080/api', {}, 'http://127.0.0.1:8080/api'],
  ])('takes %s', (_, flag, env, expected) => {
    expect(resolveApiUrl(flag, env)).toBe(expected)
  })

  it.each([
    ['not a URL', 'app.ona.com'],
    ['another scheme', 'ftp://app.ona.com/api'],
    ['credentials', 'https://user:tok@app.ona.com/api'],
    ['a query', 'https://app.ona.com/api?x=1'],
  ])('rejects %s as a usage error naming the source', (_, value) => {
    let error: unknown
    try {
      resolveApiUrl(undefined, {ONA_API_URL: value})
    } catch (caught) {
      error = caught
    }
    expect(error).toBeInstanceOf(OnaError)
    expect((error as OnaError).code).toBe('ERR_API_URL')
    expect((error as OnaError).exitCode).toBe(2)
    expect((error as OnaError).message).toContain('ONA_API_URL')
  })

  it('keys the keychain by host and non-default port', () => {
    expect(apiHostKey('https://app.ona.com/api')).toBe('app.ona.com')
    expect(apiHostKey('https://APP.ona.com:443/api')).toBe('app.ona.com')
    expect(apiHostKey('http://127.0.0.1:8080/api')).toBe('127.0.0.1:8080')
  })
})

describe('insecureHttpRefusal', () => {
  it.each([
    ['http to 127.0.0.1 (the simulator)', 'http://127.0.0.1:8787/api', {}, undefined],
    ['http to elsewhere in 127.0.0.0/8', 'http://127.1.2.3/api', {}, undefined],
    ['http to localhost', 'http://localhost:8080/api', {}, undefined],
    ['http to IPv6 loopback', 'http://[::1]:8080/api', {}, undefined],
    ['https anywhere', 'https://ona.corp.example/api', {}, undefined],
    ['http elsewhere with the opt-in', 'http://ona.corp.example/api', {ONA_ALLOW_INSECURE_HTTP: '1'}, undefined],
    ['http elsewhere', 'http://ona.corp.example/api', {}, 'ERR_INSECURE_HTTP'],
    ['http to a LAN address', 'http://10.0.0.5:8080/api', {}, 'ERR_INSECURE_HTTP'],
    ['http to a name that only starts with 127', 'http://127.0.0.1.example/api', {}, 'ERR_INSECURE_HTTP'],
    ['http to a non-loopback IPv6 address', 'http://[2001:db8::1]/api', {}, 'ERR_INSECURE_HTTP'],
    ['http elsewhere with an opt-in other than 1', 'http://ona.corp.example/api', {ONA_ALLOW_INSECURE_HTTP: 'yes'}, 'ERR_INSECURE_HTTP'],
  ])('%s', (_, url, env, expected) => {
    const refusal = insecureHttpRefusal(url, env)
    expect(refusal?.code).toBe(expected)
    if (refusal) {
      expect(refusal.message).toContain(new URL(url).host)
      expect(refusal.hint).toContain('ONA_ALLOW_INSECURE_HTTP=1')
      expect(refusal.exitCode).toBe(2)
    }
  })
})

describe('where to create a personal access token', () => {
  it.each([
    ['https://app.ona.com/api', 'https://app.ona.com/projects#/settings/personal-access-tokens'],
    ['https://app.gitpod.io/api', 'https://app.gitpod.io/projects#/settings/personal-access-tokens'],
    // An enterprise install: its own origin, port included.
    ['https://ona.corp.example:8443/api', 'https://ona.corp.example:8443/projects#/settings/personal-access-tokens'],
    // The local simulator prints its token; it has no dashboard.
    ['http://127.0.0.1:8787/api', undefined],
  ])('%s -> %s', (apiUrl, expected) => {
    expect(tokenPageUrl(apiUrl)).toBe(expected)
  })
})
