/** The environment picker `ona ssh` offers on a terminal when no environment is named. */
import {createInterface} from 'node:readline'
import type {Readable, Writable} from 'node:stream'

import type {Environment} from '../api/types.js'
import {OnaError} from '../errors.js'
import {shortPhase} from './resolve.js'
import {printable} from '../printable.js'

/** Numbered choices on `output`, a number (or an empty line for the first) read from `input`. */
export async function pickEnvironment(environments: readonly Environment[], input: Readable, output: Writable): Promise<Environment> {
  if (environments.length === 0) throw new OnaError('ERR_ENVIRONMENT_NOT_FOUND', 'you have no environments', {hint: 'Create one in the web app first.'})
  const width = String(environments.length).length
  output.write('Your environments:\n')
  environments.forEach((env, i) => output.write(`  ${String(i + 1).padStart(width)}) ${env.name ? printable(env.name, 80) : '(no name)'}  ${printable(env.id)}  ${printable(shortPhase(env.phase))}\n`))
  const rl = createInterface({input, terminal: false})
  // The iterator buffers lines typed (or piped) before they are asked for.
  const lines = rl[Symbol.asyncIterator]()
  try {
    for (let tries = 0; tries < 3; tries++) {
      output.write(`Connect to [1-${environments.length}, default 1]: `)
      const answer = await lines.next()
      if (answer.done) break
      const text = String(answer.value).trim()
      const index = text === '' ? 0 : Number(text) - 1
      if (Number.isInteger(index) && index >= 0 && index < environments.length) return environments[index]!
      output.write(`"${text}" is not one of the numbers above\n`)
    }
  } finally {
    rl.close()
  }
  throw new OnaError('ERR_CANCELLED', 'no environment was picked')
}
