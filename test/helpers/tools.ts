/**
 * Small things several test files need: whether a tool is installed (tests that need one skip with a
 * message when it is not), and the OnaError a promise fails with.
 */
import {spawnSync} from 'node:child_process'

import {expect} from 'vitest'

import {OnaError} from '../../src/lib/errors.js'

/** Whether `command` is on PATH. */
export function hasCommand(command: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${command}`], {stdio: 'ignore'}).status === 0
}

/** The OnaError `promise` rejects with; fails the test when it resolves or rejects with anything else. */
export async function onaFailure(promise: Promise<unknown>): Promise<OnaError> {
  try {
    await promise
  } catch (error) {
    expect(error).toBeInstanceOf(OnaError)
    return error as OnaError
  }
  throw new Error('expected the call to fail')
}
