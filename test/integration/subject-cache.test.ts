/**
 * The token's subject id kept between runs (issue 21): a sync is one round trip (ListEnvironments), not two;
 * the id is kept per origin with a hash of the token, never the token; a listing the plane refuses with a
 * kept id forgets it and asks GetAuthenticatedIdentity, whose answer or error is what the caller gets.
 */
import {readFile} from 'node:fs/promises'

import {describe, expect, it} from 'vitest'

import {cachedSubject, subjectCacheFile, tokenHash, withCachedSubject} from '../../src/lib/api/subject-cache.js'
import {syncSshConfig} from '../../src/lib/sync/sync.js'
import {useFixture} from '../helpers/fixture.js'

const fixture = useFixture({prefix: 'subject', configText: 'Host github.com\n  User git\n'})
const identityCalls = () => fixture.sim.rpcCount('GetAuthenticatedIdentity')
const origin = () => new URL(fixture.sim.url).origin

describe('the subject id is asked once per token and origin', () => {
  it('a second sync lists without asking who the token is; the file holds the id and a hash, never the token', async () => {
    const first = await syncSshConfig(fixture.ctx, {apiUrl: fixture.sim.url, verify: false})
    expect(identityCalls()).toBe(1)
    const again = await syncSshConfig(fixture.ctx, {apiUrl: fixture.sim.url, verify: false})
    expect(identityCalls()).toBe(1)
    expect(fixture.sim.rpcCount('ListEnvironments')).toBe(2)
    expect(again.changed).toBe(false)
    expect(again.environments).toBe(first.environments)
    const text = await readFile(subjectCacheFile(fixture.ctx.paths.stateDir), 'utf8')
    expect(text).not.toContain(fixture.sim.token)
    expect(JSON.parse(text).entries[origin()]).toMatchObject({token: tokenHash(fixture.sim.token), subjectId: fixture.sim.subject.id})
  })

  it('another token (a new login) asks again, and its own id is kept', async () => {
    const stateDir = fixture.ctx.paths.stateDir
    await withCachedSubject(await fixture.client(), {stateDir, token: fixture.sim.token}).listEnvironments()
    fixture.sim.addToken('ona_other_token', {id: '0199aaaa-0000-7000-8000-000000000002'})
    const other = withCachedSubject(await fixture.client({token: 'ona_other_token'}), {stateDir, token: 'ona_other_token'})
    await other.listEnvironments()
    expect(identityCalls()).toBe(2)
    expect(await cachedSubject(stateDir, origin(), 'ona_other_token')).toBe('0199aaaa-0000-7000-8000-000000000002')
    expect(await cachedSubject(stateDir, origin(), fixture.sim.token)).toBeUndefined()
    await other.listEnvironments()
    expect(identityCalls()).toBe(2)
  })

  it('a listing refused with the kept id forgets it, asks who the token is and lists again', async () => {
    const stateDir = fixture.ctx.paths.stateDir
    const client = withCachedSubject(await fixture.client(), {stateDir, token: fixture.sim.token})
    const before = await client.listEnvironments()
    fixture.sim.injectFault({type: 'http', status: 401, code: 'unauthenticated'}, {rpc: 'ListEnvironments'})
    const after = await client.listEnvironments()
    expect(after.environments.map((e) => e.id)).toEqual(before.environments.map((e) => e.id))
    expect(identityCalls()).toBe(2)
    expect(await cachedSubject(stateDir, origin(), fixture.sim.token)).toBe(fixture.sim.subject.id)
  })

  it('a token no longer valid: the API\'s error, the kept id gone, the block untouched', async () => {
    await syncSshConfig(fixture.ctx, {apiUrl: fixture.sim.url, verify: false})
    const written = await readFile(fixture.config, 'utf8')
    fixture.sim.injectFault({type: 'http', status: 401, code: 'unauthenticated'}, {times: Infinity})
    await expect(syncSshConfig(fixture.ctx, {apiUrl: fixture.sim.url, verify: false})).rejects.toMatchObject({code: 'ERR_AUTH_EXPIRED'})
    // Asked, not assumed: the error came from GetAuthenticatedIdentity after the refused listing.
    expect(identityCalls()).toBe(2)
    expect(await cachedSubject(fixture.ctx.paths.stateDir, origin(), fixture.sim.token)).toBeUndefined()
    expect(await readFile(fixture.config, 'utf8')).toBe(written)
  })
})
