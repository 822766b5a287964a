import {describe, expect, it} from 'vitest'

import {OnaError} from '../../src/lib/errors.js'
import {parseResolverAddress} from '../../src/lib/preflight/dns.js'
import {loadCatalog} from '../../src/lib/preflight/catalog.js'
import {managementEndpoints, normaliseOptions, parsePreflightTimeout} from '../../src/lib/preflight/preflight.js'
import {apiEndpoint} from '../../src/lib/ssh/connect.js'

describe('--resolver ip[:port]', () => {
  it.each([
    ['10.0.0.2', '10.0.0.2'],
    ['10.0.0.2:5353', '10.0.0.2:5353'],
    [' 127.0.0.1:53 ', '127.0.0.1:53'],
    ['fd00::2', 'fd00::2'],
    ['[fd00::2]:5353', '[fd00::2]:5353'],
    ['[fd00::2]', 'fd00::2'],
  ])('%j is read as %j', (input, expected) => {
    expect(parseResolverAddress(input)).toBe(expected)
  })

  it.each(['dns.example', '10.0.0.2:0', '10.0.0.2:70000', '10.0.0.2:x', '[fd00::2]:', ''])('%j is a usage error', (input) => {
    const error = (() => {
      try {
        parseResolverAddress(input)
      } catch (error_) {
        return error_
      }
    })()
    expect(error).toBeInstanceOf(OnaError)
    expect((error as OnaError).code).toBe('ERR_PREFLIGHT_OPTIONS')
    expect((error as OnaError).exitCode).toBe(2)
  })
})

describe('preflight options', () => {
  it('accepts categories repeated or comma-separated, and defaults the timeout to 5 s', () => {
    expect(normaliseOptions({only: ['aws,gateway', 'proxy']})).toEqual({timeoutMs: 5000, only: ['aws', 'gateway', 'proxy']})
  })

  it.each<[string, Parameters<typeof normaliseOptions>[0], RegExp]>([
    ['an unknown category', {only: ['dns']}, /--only dns: not a category/],
    ['a zero timeout', {timeoutMs: 0}, /--timeout 0/],
    ['a region that is not one', {region: 'Frankfurt'}, /--region Frankfurt/],
    ['a short account id', {accountId: '1234'}, /12 digits/],
  ])('rejects %s', (_name, options, message) => {
    expect(() => normaliseOptions(options)).toThrow(message)
  })
})

describe('preflight --timeout', () => {
  it.each([
    ['3s', 3000, false],
    ['500ms', 500, false],
    ['1m', 60_000, false],
    ['1.5s', 1500, false],
    // One syntax with every other time flag: a plain number is seconds.
    ['5', 5000, false],
    ['2.0', 2000, false],
    ['0.2', 200, false],
    // The old form (plain milliseconds), as scripts wrote it: still milliseconds, with a note.
    ['3000', 3000, true],
    ['100', 100, true],
    ['1500.4', 1500, true],
  ])('reads %j as %d ms (old form noted: %s)', (text, ms, noted) => {
    const notes: string[] = []
    expect(parsePreflightTimeout(text, (n) => notes.push(n))).toBe(ms)
    expect(notes.length).toBe(noted ? 1 : 0)
    if (noted) expect(notes[0]).toMatch(/^--timeout .*: a plain number means seconds now, .*read as \d+ms as before/)
  })

  it.each(['0s', 'none', 'soon', '-1', '0', '11m', '0.0001'])('refuses %j as a preflight option error', (text) => {
    expect(() => parsePreflightTimeout(text)).toThrow(/^--timeout .*: give a per-check timeout between 1ms and 10m/)
  })
})

describe('the API host as the management endpoint of ona ssh', () => {
  it.each([
    ['https://app.ona.com/api', {host: 'app.ona.com', port: 443, protocol: 'https'}],
    ['https://ona.corp.example:8443/api', {host: 'ona.corp.example', port: 8443, protocol: 'https'}],
    ['http://127.0.0.1:3000/api', {host: '127.0.0.1', port: 3000, protocol: 'http'}],
    ['http://[::1]/api', {host: '::1', port: 80, protocol: 'http'}],
  ])('%s', (url, expected) => {
    expect(apiEndpoint(url)).toMatchObject({id: 'management.api', category: 'management', ...expected})
  })
})

describe('which management planes `ona preflight` checks', () => {
  const ids = (m: Awaited<ReturnType<typeof managementEndpoints>>) => [...m.catalog.endpoints.filter((e) => e.category === 'management').map((e) => e.id), ...m.extra.map((e) => e.id)].sort()
  it.each([
    ['the default API: that public plane only', 'https://app.ona.com/api', false, ['management.app-ona-com']],
    ['the other public plane when it is the one in use', 'https://app.gitpod.io/api', false, ['management.app-gitpod-io']],
    ['an enterprise install: its own origin only', 'https://ona.corp.example/api', false, ['management.api']],
    ['an enterprise install, public ones asked for', 'https://ona.corp.example:8443/api', true, ['management.api', 'management.app-gitpod-io', 'management.app-ona-com']],
    ['the local simulator', 'http://127.0.0.1:8787/api', false, ['management.api']],
    ['the public plane on another port is another origin', 'https://app.ona.com:8443/api', false, ['management.api']],
  ])('%s', async (_, apiUrl, publicManagement, expected) => {
    const catalog = await loadCatalog()
    const result = managementEndpoints(catalog, apiUrl, publicManagement)
    expect(ids(result)).toEqual(expected)
    // Every other category is left as it was.
    expect(result.catalog.endpoints.filter((e) => e.category !== 'management')).toEqual(catalog.endpoints.filter((e) => e.category !== 'management'))
  })
})
