import {describe, expect, it} from 'vitest'

import type {Environment} from '../../src/lib/api/types.js'
import {OnaError} from '../../src/lib/errors.js'
import {environmentLabel, resolveEnvironment} from '../../src/lib/environments/resolve.js'

const env = (id: string, name?: string, phase = 'ENVIRONMENT_PHASE_RUNNING'): Environment => ({id, phase, statusVersion: 1n, ...(name ? {name} : {})})
const list = [
  env('0199ec15-59d3-7e92-8e22-8cb6c7ba4df7', 'api-backend'),
  env('0199ec15-8a41-7c10-9d3b-2f6e1b7a9c02', 'web-frontend', 'ENVIRONMENT_PHASE_STOPPED'),
  env('0199ec15-b2c7-7f55-a1e0-5d9c3e8f4a13', 'docs'),
  env('0199fe00-0000-7000-8000-000000000001', 'docs'),
  env('abcd0000-0000-7000-8000-000000000002', '0199ec15-8a41'),
]

describe('resolveEnvironment', () => {
  it.each([
    ['a full id', '0199ec15-59d3-7e92-8e22-8cb6c7ba4df7', '0199ec15-59d3-7e92-8e22-8cb6c7ba4df7'],
    ['a full id in upper case', '0199EC15-59D3-7E92-8E22-8CB6C7BA4DF7', '0199ec15-59d3-7e92-8e22-8cb6c7ba4df7'],
    ['the alias', '0199ec15-59d3-7e92-8e22-8cb6c7ba4df7.gitpod.environment', '0199ec15-59d3-7e92-8e22-8cb6c7ba4df7'],
    ['the remote alias', '0199ec15-59d3-7e92-8e22-8cb6c7ba4df7.gitpod.remote', '0199ec15-59d3-7e92-8e22-8cb6c7ba4df7'],
    ['a unique prefix', '0199ec15-59', '0199ec15-59d3-7e92-8e22-8cb6c7ba4df7'],
    ['a name', 'api-backend', '0199ec15-59d3-7e92-8e22-8cb6c7ba4df7'],
    ['a name in another case', 'API-Backend', '0199ec15-59d3-7e92-8e22-8cb6c7ba4df7'],
    ['a stopped environment by name', 'web-frontend', '0199ec15-8a41-7c10-9d3b-2f6e1b7a9c02'],
    ['a prefix of 4 characters', 'abcd', 'abcd0000-0000-7000-8000-000000000002'],
    ['its friendly alias (issue 19)', 'api-backend.ona', '0199ec15-59d3-7e92-8e22-8cb6c7ba4df7'],
    ['its friendly alias in another case', 'Web-Frontend.ONA', '0199ec15-8a41-7c10-9d3b-2f6e1b7a9c02'],
  ])('finds %s', (_, input, id) => {
    expect(resolveEnvironment(list, input).id).toBe(id)
  })

  it.each([
    ['a name two environments share', 'docs', ['0199ec15-b2c7-7f55-a1e0-5d9c3e8f4a13', '0199fe00-0000-7000-8000-000000000001']],
    ['a prefix of several ids', '0199ec15', ['0199ec15-59d3-7e92-8e22-8cb6c7ba4df7', '0199ec15-8a41-7c10-9d3b-2f6e1b7a9c02', '0199ec15-b2c7-7f55-a1e0-5d9c3e8f4a13', 'abcd0000-0000-7000-8000-000000000002'].slice(0, 3)],
    // Regression: a name that is also the prefix of another environment's id must not silently pick one.
    ['a name that is also an id prefix', '0199ec15-8a41', ['abcd0000-0000-7000-8000-000000000002', '0199ec15-8a41-7c10-9d3b-2f6e1b7a9c02']],
    // Two names giving one friendly alias: the block has none for them, and neither is picked here.
    ['a friendly alias two names give', 'docs.ona', ['0199ec15-b2c7-7f55-a1e0-5d9c3e8f4a13', '0199fe00-0000-7000-8000-000000000001']],
  ])('refuses %s, listing the candidates', (_, input, ids) => {
    let error: OnaError | undefined
    try {
      resolveEnvironment(list, input)
    } catch (caught) {
      error = caught as OnaError
    }
    expect(error?.code).toBe('ERR_ENVIRONMENT_AMBIGUOUS')
    expect(error?.exitCode).toBe(2)
    expect([...(error?.details?.candidates as string[])].sort()).toEqual([...ids].sort())
    for (const id of ids) expect(error?.message).toContain(id)
  })

  it.each([
    ['an unknown name', 'nope', undefined],
    ['a prefix too short to trust', '019', 'at least 4 characters'],
    ['an empty string', '   ', undefined],
  ])('reports %s as not found', (_, input, hint) => {
    let error: OnaError | undefined
    try {
      resolveEnvironment(list, input)
    } catch (caught) {
      error = caught as OnaError
    }
    expect(['ERR_ENVIRONMENT_NOT_FOUND', 'ERR_USAGE']).toContain(error?.code)
    if (hint) expect(error?.hint).toContain(hint)
  })
})

describe('environmentLabel: a name and enough of the id to tell environments apart', () => {
  it.each([
    ['a named environment: name and the first two id groups, not the shared prefix alone', env('0199ec15-59d3-7e92-8e22-8cb6c7ba4df7', 'api-backend'), [], 'api-backend (0199ec15-59d3)'],
    ['an unnamed one: the first two id groups', env('0199ec15-59d3-7e92-8e22-8cb6c7ba4df7'), [], '0199ec15-59d3'],
    [
      'a third group when another environment shares the first two',
      env('0199ec15-59d3-7e92-8e22-8cb6c7ba4df7', 'a'),
      [env('0199ec15-59d3-7e92-8e22-8cb6c7ba4df7', 'a'), env('0199ec15-59d3-7111-8e22-000000000000', 'b')],
      'a (0199ec15-59d3-7e92)',
    ],
    ['a name with control characters made visible', env('0199ec15-59d3-7e92-8e22-8cb6c7ba4df7', 'x\u001b[2Jy'), [], 'x\\e[2Jy (0199ec15-59d3)'],
  ])('%s', (_, environment, others, expected) => {
    expect(environmentLabel(environment, others)).toBe(expected)
  })

  it('labels each environment of a listing differently, although every id starts 0199ec15', () => {
    const labels = list.map((e) => environmentLabel(e, list))
    expect(new Set(labels).size).toBe(list.length)
    for (const label of labels) expect(label).not.toMatch(/\(0199ec15\)/)
  })
})
