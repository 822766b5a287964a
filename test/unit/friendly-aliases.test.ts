/**
 * Friendly aliases (issue 19): the slug of a display name, uniqueness among an install's environments, and
 * the Host line that carries the alias for every reader of the block (parser, pre-write check, ProxyCommand).
 */
import fc from 'fast-check'
import {describe, expect, it} from 'vitest'

import {onaEntryAlias, parseBlock, renderBlockLines} from '../../src/lib/ssh-config/block.js'
import {checkRenderedBlock} from '../../src/lib/ssh-config/config-file.js'
import {assignFriendlyAliases, FRIENDLY_ALIAS, friendlyAliasOf, slugName, userHostNames} from '../../src/lib/ssh-config/friendly.js'
import {applyBlock, BEGIN_MARKER, END_MARKER} from '../../src/lib/ssh-config/index.js'
import {validateEnvironments} from '../../src/lib/ssh-config/validate.js'
import {readBlockEntry, replaceEntryAddress} from '../../src/lib/sync/entry-address.js'

describe('slugName', () => {
  it('keeps [a-z0-9-] only: lowercase, accents dropped, runs of anything else one dash, no dash at the ends, 63 at most', () => {
    expect(slugName('api-backend')).toBe('api-backend')
    expect(slugName('API Backend (v2)')).toBe('api-backend-v2')
    expect(slugName('Crème brûlée')).toBe('creme-brulee')
    expect(slugName('-.hidden.-')).toBe('hidden')
    expect(slugName('a\nHost *\n  ProxyCommand evil')).toBe('a-host-proxycommand-evil')
    expect(slugName('x'.repeat(62) + '-yz')).toBe('x'.repeat(62))
    expect(slugName('日本語')).toBeUndefined()
    expect(slugName('  ')).toBeUndefined()
    expect(friendlyAliasOf('Web Frontend')).toBe('web-frontend.ona')
    expect(friendlyAliasOf(undefined)).toBeUndefined()
  })
})

describe('assignFriendlyAliases', () => {
  it('gives an alias only to a name that is unique among the environments known, and not held by another install', () => {
    const {aliases, collisions} = assignFriendlyAliases(
      [{id: 'A', name: 'api'}, {id: 'b', name: 'API!'}, {id: 'c', name: 'web'}, {id: 'd', name: 'docs'}, {id: 'e'}],
      new Map([['s', 'Web']]),
      new Map([['docs.ona', 'https://other.example']]),
    )
    expect([...aliases]).toEqual([])
    expect(collisions).toEqual([
      {alias: 'api.ona', environments: ['a', 'b']},
      {alias: 'docs.ona', environments: ['d'], holder: 'https://other.example'},
      {alias: 'web.ona', environments: ['c', 's']},
    ])
    expect([...assignFriendlyAliases([{id: 'a', name: 'api'}, {id: 'c', name: 'web'}]).aliases]).toEqual([['a', 'api.ona'], ['c', 'web.ona']])
  })
})

const ENTRY = (id: string, friendly = '') => [
  `Host ${id}.gitpod.environment ${id}.gitpod.remote${friendly}`,
  '  HostName 10.0.0.1',
  '  User dev',
  '  Port 22',
  `  HostKeyAlias ${id}.gitpod.environment`,
  `  ProxyCommand /usr/bin/node /opt/ona/bin/run.js ssh-proxy ${id} --api-url https://app.ona.com/api --ssh-config /home/me/.ssh/config`,
]
const file = (...lines: string[]) => `Host github.com\n  User git\n${[BEGIN_MARKER, '# ona origin https://app.ona.com', ...lines, END_MARKER].join('\n')}\n`

describe('the friendly alias on the entry\'s Host line', () => {
  it('is read as ona\'s entry (not a foreign section) only when the third pattern is a friendly alias', () => {
    expect(onaEntryAlias('Host a.gitpod.environment a.gitpod.remote api.ona')).toBe('a.gitpod.environment')
    expect(onaEntryAlias('Host a.gitpod.environment a.gitpod.remote *')).toBeUndefined()
    expect(onaEntryAlias('Host a.gitpod.environment a.gitpod.remote api.ona extra.ona')).toBeUndefined()
    const parsed = parseBlock(file(...ENTRY('a', ' api.ona')))!
    expect(parsed.foreign).toEqual([])
    expect(parsed.parts[0]!.entries[0]!.environment.friendlyAlias).toBe('api.ona')
  })

  it('the ProxyCommand path reads and updates the entry whose Host line carries it, and keeps the alias', () => {
    const before = file(...ENTRY('a', ' api.ona'), ...ENTRY('b'))
    expect(readBlockEntry(before, 'a')?.address).toEqual({host: '10.0.0.1', user: 'dev', port: 22})
    const {text, outcome} = replaceEntryAddress(before, {environmentId: 'a', origin: 'https://app.ona.com', address: {host: '10.9.9.9', user: 'dev', port: 22}})
    expect(outcome).toEqual({status: 'updated', changed: true})
    expect(text).toBe(before.replace('Host a.gitpod.environment a.gitpod.remote api.ona\n  HostName 10.0.0.1', 'Host a.gitpod.environment a.gitpod.remote api.ona\n  HostName 10.9.9.9'))
  })

  it('is written by applyBlock with friendlyAliases, and checked before the write', () => {
    const result = applyBlock('', [{id: 'a', host: '10.0.0.1', port: 22, user: 'dev', name: 'API'}], {origin: 'https://app.ona.com', entry: {friendlyAliases: true}})
    expect(result.text).toContain('Host a.gitpod.environment a.gitpod.remote api.ona\n')
    expect(result.written[0]!.friendlyAlias).toBe('api.ona')
    const {valid} = validateEnvironments([{id: 'a', host: '10.0.0.1', port: 22, user: 'dev'}])
    const withAlias = [{...valid[0]!, friendlyAlias: 'api.ona'}]
    expect(() => checkRenderedBlock(renderBlockLines(withAlias), withAlias)).not.toThrow()
    // A Host line that names something else, or leaves the alias out, is not what was meant.
    expect(() => checkRenderedBlock(renderBlockLines([{...valid[0]!, friendlyAlias: 'other.ona'}]), withAlias)).toThrow(/unexpected Host patterns/)
    expect(() => checkRenderedBlock(renderBlockLines(valid), withAlias)).toThrow(/unexpected Host patterns/)
    expect(() => checkRenderedBlock(renderBlockLines(withAlias), valid)).toThrow(/unexpected Host patterns/)
  })

  it('is not written when another install\'s part holds the same alias', () => {
    const other = `${BEGIN_MARKER}\n# ona origin https://other.example\n${ENTRY('z', ' api.ona').join('\n')}\n${END_MARKER}\n`
    const result = applyBlock(other, [{id: 'a', host: '10.0.0.1', port: 22, user: 'dev', name: 'API'}], {origin: 'https://app.ona.com', entry: {friendlyAliases: true}})
    expect(result.text).toContain('Host a.gitpod.environment a.gitpod.remote\n')
    expect(result.warnings.find((w) => w.code === 'W_FRIENDLY_ALIAS')?.collisions).toEqual([{alias: 'api.ona', environments: ['a'], holder: 'https://other.example'}])
  })

  it("is not written when the user's own Host line names it (line as after the write); wildcards, negations and other case name nothing", () => {
    const env = [{id: 'a', host: '10.0.0.1', port: 22, user: 'dev', name: 'API'}, {id: 'b', host: '10.0.0.2', port: 22, user: 'dev', name: 'Web'}, {id: 'c', host: '10.0.0.3', port: 22, user: 'dev', name: 'Docs'}]
    const mine = 'Host *.ona !web.ona\n  User me\nHost DOCS.ona\n  User me\nHost box api.ona\n  HostName 10.9.9.9\n'
    const result = applyBlock(mine, env, {file: '/h/.ssh/config', origin: 'https://app.ona.com', entry: {friendlyAliases: true}})
    expect(result.text).toContain('Host a.gitpod.environment a.gitpod.remote\n')
    expect(result.text).toContain('Host b.gitpod.environment b.gitpod.remote web.ona\n')
    expect(result.text).toContain('Host c.gitpod.environment c.gitpod.remote docs.ona\n')
    const line = result.text.split('\n').indexOf('Host box api.ona') + 1
    expect(line).toBeGreaterThan(5)
    const warning = result.warnings.find((w) => w.code === 'W_FRIENDLY_ALIAS')!
    expect(warning.collisions).toEqual([{alias: 'api.ona', environments: ['a'], userHost: {file: '/h/.ssh/config', line, text: 'Host box api.ona'}}])
    expect(warning.message).toContain(`api.ona (your own \`Host box api.ona\` at /h/.ssh/config:${line} names it)`)
    // The block's own Host lines are not the user's.
    expect(userHostNames(result.text, undefined).has('web.ona')).toBe(true)
    expect([...userHostNames(result.text, {start: result.text.indexOf('# BEGIN'), end: result.text.indexOf('# END')}).keys()]).toEqual(['DOCS.ona', 'box', 'api.ona'])
  })
})

describe('properties (fast-check)', () => {
  it('any name gives no alias or one of [a-z0-9-].ona, which the block reads back as ona\'s own entry', () => {
    fc.assert(
      fc.property(fc.string({unit: 'grapheme', maxLength: 120}), (name) => {
        const alias = friendlyAliasOf(name)
        if (alias === undefined) return
        expect(alias).toMatch(FRIENDLY_ALIAS)
        const result = applyBlock('', [{id: 'a', host: '10.0.0.1', port: 22, user: 'dev', name}], {origin: 'https://app.ona.com', entry: {friendlyAliases: true}})
        const parsed = parseBlock(result.text)!
        expect(parsed.foreign).toEqual([])
        expect(parsed.parts[0]!.entries.map((e) => e.environment.friendlyAlias)).toEqual([alias])
      }),
      {numRuns: 300},
    )
  })
})
