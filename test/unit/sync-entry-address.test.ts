import {mkdtemp, readFile, rm, stat, writeFile} from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'

import {describe, expect, it} from 'vitest'

import {PROXY_API_TIMEOUT_MS, proxyApiDeadline} from '../../src/lib/proxy/proxy.js'
import {BEGIN_MARKER, END_MARKER} from '../../src/lib/ssh-config/index.js'
import {readBlockEntry, replaceEntryAddress, updateEntryAddress} from '../../src/lib/sync/entry-address.js'

const A = '0199ec15-59d3-7e92-8e22-8cb6c7ba4df7'
const B = '0199ec15-8a41-7c10-9d3b-2f6e1b7a9c02'
const ORIGIN = 'https://app.ona.com'
const OTHER_ORIGIN = 'https://ona.example.com'

const entry = (id: string, host: string, port = 22, origin = ORIGIN) => [
  `Host ${id}.gitpod.environment ${id}.gitpod.remote`,
  `  HostName ${host}`,
  '  User gitpod_devcontainer',
  `  Port ${port}`,
  `  HostKeyAlias ${id}.gitpod.environment`,
  '  IdentityFile "/home/me/.config/my ona/ssh/id_ed25519"',
  '  IdentitiesOnly yes',
  `  ProxyCommand /usr/bin/node /opt/ona/bin/run.js ssh-proxy ${id} --api-url ${origin}/api --ssh-config /home/me/.ssh/config --config-dir "/home/me/.config/my ona"`,
]

const USER_TOP = '# mine\nHost github.com\n  User git\n'
const fileText = (...lines: string[]) => `${USER_TOP}${[BEGIN_MARKER, ...lines, END_MARKER].join('\n')}\n# after\n`
const twoEntries = () => fileText(`# ona origin ${ORIGIN}`, ...entry(A, '10.0.0.1'), ...entry(B, '10.0.0.2', 2222))
const moved = {host: '10.9.9.9', port: 2200, user: 'gitpod_devcontainer'}

describe('replaceEntryAddress: one entry\'s address, nothing else', () => {
  it('changes only the HostName and Port lines of that entry; every other byte stays', () => {
    const before = twoEntries()
    const {text, outcome} = replaceEntryAddress(before, {environmentId: A, origin: ORIGIN, address: moved})
    expect(outcome).toEqual({status: 'updated', changed: true})
    expect(text).toBe(before.replace('  HostName 10.0.0.1\n  User gitpod_devcontainer\n  Port 22\n', '  HostName 10.9.9.9\n  User gitpod_devcontainer\n  Port 2200\n'))
  })

  it('reports no change when the entry already holds the address', () => {
    const before = twoEntries()
    expect(replaceEntryAddress(before, {environmentId: B, origin: ORIGIN, address: {host: '10.0.0.2', port: 2222, user: 'gitpod_devcontainer'}})).toEqual({text: before, outcome: {status: 'updated', changed: false}})
  })

  it('finds the entry by id in any case (ssh lowercases the alias)', () => {
    const {outcome} = replaceEntryAddress(twoEntries(), {environmentId: A.toUpperCase(), origin: ORIGIN, address: moved})
    expect(outcome).toEqual({status: 'updated', changed: true})
  })

  it('keeps each line\'s indentation, keyword spelling and line ending (CRLF, tabs, `=`)', () => {
    const lines = [`# ona origin ${ORIGIN}`, `Host ${A}.gitpod.environment ${A}.gitpod.remote`, '\thostname=10.0.0.1', '\tUSER gitpod_devcontainer', '\tPort 22', '\tHostKeyAlias x']
    const before = `${[BEGIN_MARKER, ...lines, END_MARKER].join('\r\n')}\r\n`
    const {text} = replaceEntryAddress(before, {environmentId: A, origin: ORIGIN, address: moved})
    expect(text).toBe(before.replace('\thostname=10.0.0.1\r\n', '\thostname 10.9.9.9\r\n').replace('\tPort 22\r\n', '\tPort 2200\r\n'))
  })

  it('updates an entry written before installs had parts (no origin line)', () => {
    const before = fileText(...entry(A, '10.0.0.1'))
    const {text, outcome} = replaceEntryAddress(before, {environmentId: A, origin: ORIGIN, address: moved})
    expect(outcome.status).toBe('updated')
    expect(text).toContain('  HostName 10.9.9.9\n')
  })

  it.each([
    ['no entry for the environment', () => fileText(`# ona origin ${ORIGIN}`, ...entry(B, '10.0.0.2')), /has no entry/],
    ['no block at all', () => USER_TOP, /has no entry/],
    ['the entry in another install\'s part', () => fileText(`# ona origin ${OTHER_ORIGIN}`, ...entry(A, '10.0.0.1', 22, OTHER_ORIGIN)), /is in the part of https:\/\/ona\.example\.com/],
    ['an entry without a Port line', () => fileText(`# ona origin ${ORIGIN}`, `Host ${A}.gitpod.environment ${A}.gitpod.remote`, '  HostName 10.0.0.1', '  User u'), /has no port line/],
  ])('writes nothing for %s', (_name, text, reason) => {
    const before = text()
    const result = replaceEntryAddress(before, {environmentId: A, origin: ORIGIN, address: moved})
    expect(result.text).toBe(before)
    expect(result.outcome).toMatchObject({status: 'skipped', reason: expect.stringMatching(reason)})
  })

  it.each([
    ['a host with a line break', {host: '10.0.0.9\nProxyCommand evil', port: 22, user: 'u'}],
    ['a host with a space', {host: 'a b', port: 22, user: 'u'}],
    ['a user with a quote', {host: '10.0.0.9', port: 22, user: 'u"x'}],
    ['a port out of range', {host: '10.0.0.9', port: 70000, user: 'u'}],
  ])('never writes an invalid address: %s', (_name, address) => {
    const before = twoEntries()
    const result = replaceEntryAddress(before, {environmentId: A, origin: ORIGIN, address})
    expect(result.text).toBe(before)
    expect(result.outcome.status).toBe('skipped')
  })

  it('refuses a file OpenSSH cannot read (a BOM), as every writer does', () => {
    expect(() => replaceEntryAddress(`\uFEFF${twoEntries()}`, {environmentId: A, origin: ORIGIN, address: moved})).toThrow(/byte-order mark/)
  })
})

describe('readBlockEntry: what the entry was written with', () => {
  it('reads the address, the key (quotes removed) and the owning install', () => {
    expect(readBlockEntry(twoEntries(), B)).toEqual({address: {host: '10.0.0.2', port: 2222, user: 'gitpod_devcontainer'}, identityFile: '/home/me/.config/my ona/ssh/id_ed25519', origin: ORIGIN})
    expect(readBlockEntry(twoEntries(), '0199ec15-0000-7000-8000-000000000000')).toBeUndefined()
  })
})

describe('updateEntryAddress on a file', () => {
  it('writes that entry\'s address atomically and keeps the file\'s mode', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'ona-entry-address-'))
    try {
      const file = path.join(dir, 'config')
      await writeFile(file, twoEntries(), {mode: 0o640})
      expect(await updateEntryAddress(file, {environmentId: B, origin: ORIGIN, address: moved})).toEqual({status: 'updated', changed: true})
      expect(await readFile(file, 'utf8')).toBe(twoEntries().replace('  HostName 10.0.0.2\n  User gitpod_devcontainer\n  Port 2222\n', '  HostName 10.9.9.9\n  User gitpod_devcontainer\n  Port 2200\n'))
      expect((await stat(file)).mode & 0o777).toBe(0o640)
      expect(await updateEntryAddress(path.join(dir, 'missing'), {environmentId: B, origin: ORIGIN, address: moved})).toMatchObject({status: 'skipped'})
    } finally {
      await rm(dir, {recursive: true, force: true})
    }
  })
})

describe('the ProxyCommand\'s API limit', () => {
  it('is below the 15 s VS Code gives ssh (ConnectTimeout), with room to connect after it', () => {
    expect(PROXY_API_TIMEOUT_MS).toBeLessThanOrEqual(10_000)
    const deadline = proxyApiDeadline({})
    expect(deadline?.budgetMs).toBe(PROXY_API_TIMEOUT_MS)
    expect(deadline?.error('GetEnvironment did not answer').message).toBe("GetEnvironment did not answer within 8s (the ProxyCommand's limit; ONA_TIMEOUT changes it)")
  })

  it('ONA_TIMEOUT changes it; 0 means none; a bad value is a usage error', () => {
    expect(proxyApiDeadline({ONA_TIMEOUT: '3s'})?.budgetMs).toBe(3000)
    expect(proxyApiDeadline({ONA_TIMEOUT: '3s'})?.source).toBe('ONA_TIMEOUT')
    expect(proxyApiDeadline({ONA_TIMEOUT: '0'})).toBeUndefined()
    expect(() => proxyApiDeadline({ONA_TIMEOUT: 'soon'})).toThrow(/ONA_TIMEOUT must be a duration/)
  })
})
