import fc from 'fast-check'
import {describe, expect, it} from 'vitest'

import {parseEnvironment, parseIdentity, parseListPage, withoutNulls} from '../../src/lib/api/schema.js'
import {OnaError} from '../../src/lib/errors.js'

const running = {
  id: '0199ec15-59d3-7e92-8e22-8cb6c7ba4df7',
  metadata: {name: 'my-env', creator: {id: 'f53d', principal: 'PRINCIPAL_USER'}, organizationId: 'org-1', runnerId: 'r-1'},
  spec: {desiredPhase: 'ENVIRONMENT_PHASE_RUNNING'},
  status: {
    statusVersion: '42',
    phase: 'ENVIRONMENT_PHASE_RUNNING',
    environmentUrls: {ssh: {url: 'ssh://gitpod_devcontainer@18.197.143.102:22'}, ports: [], logs: 'https://x'},
    machine: {phase: 'PHASE_RUNNING'},
    someFutureField: {nested: true},
  },
}

describe('parseEnvironment', () => {
  it('reads the documented example, tolerating unknown fields', () => {
    expect(parseEnvironment(running, 'environments[0]')).toEqual({
      environment: {
        id: running.id,
        name: 'my-env',
        phase: 'ENVIRONMENT_PHASE_RUNNING',
        statusVersion: 42n,
        ssh: {user: 'gitpod_devcontainer', host: '18.197.143.102', port: 22},
        creatorId: 'f53d',
        organizationId: 'org-1',
        desiredPhase: 'ENVIRONMENT_PHASE_RUNNING',
      },
      problems: [],
    })
  })

  it('reads registered SSH keys from spec and their propagation from status, skipping keys without an id', () => {
    const raw = {
      id: 'e',
      spec: {sshPublicKeys: [{id: 'k1', value: 'ssh-ed25519 AAAA a'}, {value: 'ssh-ed25519 BBBB nobody'}, {id: 'k2', value: null}]},
      status: {sshPublicKeys: [{id: 'k1', phase: 'CONTENT_PHASE_READY'}, {phase: 'CONTENT_PHASE_READY'}, {id: 'k2'}]},
    }
    const env = parseEnvironment(raw, 'x').environment!
    expect(env.sshPublicKeys).toEqual([{id: 'k1', value: 'ssh-ed25519 AAAA a'}, {id: 'k2'}])
    expect(env.sshKeyStatus).toEqual([{id: 'k1', phase: 'CONTENT_PHASE_READY'}, {id: 'k2', phase: 'CONTENT_PHASE_UNSPECIFIED'}])
  })

  it('rejects SSH keys of the wrong shape naming the field', () => {
    const {environment, problems} = parseEnvironment({id: 'e', spec: {sshPublicKeys: [{id: 3}]}}, 'x')
    expect(environment).toBeUndefined()
    expect(problems[0]!.message).toContain('x.spec.sshPublicKeys[0].id')
  })

  it('reads omitted protobuf defaults as UNSPECIFIED and version 0', () => {
    expect(parseEnvironment({id: 'e'}, 'x').environment).toEqual({id: 'e', phase: 'ENVIRONMENT_PHASE_UNSPECIFIED', statusVersion: 0n})
  })

  it.each([
    ['an absolute path', '/workspaces/api', '/workspaces/api'],
    ['a relative path (not a folder an editor can be given)', 'workspaces/api', undefined],
    ['a path with a line break', '/workspaces/a\nb', undefined],
    ['an option-like value', '--help', undefined],
  ])('reads the checkout folder from status.content.contentLocationInMachine: %s', (_, location, expected) => {
    const env = parseEnvironment({id: 'e', status: {content: {contentLocationInMachine: location}}}, 'x').environment!
    expect(env.checkoutFolder).toBe(expected)
  })

  it('keeps statusVersion exact beyond 2^53', () => {
    const env = parseEnvironment({id: 'e', status: {statusVersion: '18446744073709551615'}}, 'x').environment!
    expect(env.statusVersion).toBe(18_446_744_073_709_551_615n)
  })

  it('keeps an environment with a bad ssh url, without ssh, naming the field and the id', () => {
    const bad = {...running, status: {...running.status, environmentUrls: {ssh: {url: 'ssh://x@host name:22'}}}}
    const {environment, problems} = parseEnvironment(bad, 'environments[3]')
    expect(environment?.ssh).toBeUndefined()
    expect(environment?.phase).toBe('ENVIRONMENT_PHASE_RUNNING')
    expect(problems).toEqual([{environmentId: running.id, field: 'status.environmentUrls.ssh.url', message: expect.stringContaining(`environment ${running.id}: status.environmentUrls.ssh.url`)}])
  })

  it.each([
    ['a missing id', {status: {phase: 'ENVIRONMENT_PHASE_RUNNING'}}, 'environments[3].id'],
    ['a numeric phase', {id: 'e', status: {phase: 4}}, 'environments[3].status.phase'],
    ['a non-decimal statusVersion', {id: 'e', status: {statusVersion: 'v42'}}, 'environments[3].status.statusVersion'],
    ['an ssh url that is not a string', {id: 'e', status: {environmentUrls: {ssh: {url: 22}}}}, 'environments[3].status.environmentUrls.ssh.url'],
  ])('drops an environment with %s and names the field', (_, raw, field) => {
    const {environment, problems} = parseEnvironment(raw, 'environments[3]')
    expect(environment).toBeUndefined()
    expect(problems[0]!.message).toContain(field)
  })
})

describe('whole-response validation', () => {
  function failure(fn: () => unknown): OnaError {
    try {
      fn()
    } catch (error) {
      expect(error).toBeInstanceOf(OnaError)
      return error as OnaError
    }
    throw new Error('expected a failure')
  }

  it('requires subject.id in GetAuthenticatedIdentity', () => {
    const error = failure(() => parseIdentity('GetAuthenticatedIdentity', {organizationId: 'o'}))
    expect(error.code).toBe('ERR_API_BAD_RESPONSE')
    expect(error.message).toContain('subject')
  })

  it('rejects a nextToken that is not a string', () => {
    expect(failure(() => parseListPage('ListEnvironments', {pagination: {nextToken: 5}})).message).toContain('pagination.nextToken')
  })

  it('reads a page with no environments field as empty and last', () => {
    expect(parseListPage('ListEnvironments', {})).toEqual({nextToken: '', rawEnvironments: []})
  })
})

describe('withoutNulls', () => {
  /** The definition: a fresh copy without the null members, at any depth. */
  const reference = (value: unknown): unknown => {
    if (Array.isArray(value)) return value.map(reference)
    if (value === null || typeof value !== 'object') return value
    const out: Record<string, unknown> = {}
    for (const [key, member] of Object.entries(value)) if (member !== null) out[key] = reference(member)
    return out
  }

  it('equals the copy without null members for any JSON value, and leaves its input as it was', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (value) => {
        const before = JSON.stringify(value)
        expect(withoutNulls(value)).toStrictEqual(reference(value))
        expect(JSON.stringify(value)).toBe(before)
      }),
      {numRuns: 500},
    )
  })

  it('returns a value without nulls as it is (no copy), and copies only the objects on the way to a null', () => {
    const clean = {a: [{b: 1}], c: {d: 'x'}}
    expect(withoutNulls(clean)).toBe(clean)
    const mixed = {keep: {same: true}, drop: {gone: null, stay: 1}, list: [null, {x: null}]}
    const out = withoutNulls(mixed) as typeof mixed
    expect(out).toEqual({keep: {same: true}, drop: {stay: 1}, list: [null, {}]})
    expect(out.keep).toBe(mixed.keep)
    expect(mixed.drop.gone).toBeNull()
  })
})
