import {describe, expect, it} from 'vitest'

import {ERROR_CODES, EXIT, OnaError} from '../../src/lib/errors.js'

describe('OnaError', () => {
  it.each(Object.keys(ERROR_CODES) as (keyof typeof ERROR_CODES)[])('%s has a hint and an exit code from the table', (code) => {
    const error = new OnaError(code, 'something failed')
    expect(error.hint.length).toBeGreaterThan(10)
    expect(Object.values(EXIT)).toContain(error.exitCode)
    expect(error.toJSON()).toEqual({code, message: 'something failed', hint: ERROR_CODES[code].hint})
  })

  it('authentication errors exit with 4, as gh does', () => {
    expect(new OnaError('ERR_AUTH_EXPIRED', 'x').exitCode).toBe(4)
    expect(new OnaError('ERR_NOT_LOGGED_IN', 'x').exitCode).toBe(4)
  })

  it('a specific hint replaces the default one and details reach the JSON form', () => {
    const error = new OnaError('ERR_SSH_CONFIG_MARKERS', 'two BEGIN markers', {hint: 'delete line 7', details: {line: 7}})
    expect(error.toJSON()).toEqual({code: 'ERR_SSH_CONFIG_MARKERS', message: 'two BEGIN markers', hint: 'delete line 7', details: {line: 7}})
  })
})
