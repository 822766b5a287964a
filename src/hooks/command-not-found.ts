/**
 * oclif calls this when the words typed name no command: a short usage error with a suggestion for a
 * typo or a synonym (`sync`), never a word that looks like a secret (`ona <token>`). Exit 2.
 */
import type {Hook} from '@oclif/core'

import {commandNotFound, wantsJson, writeError} from '../lib/cli/usage.js'

const hook: Hook<'command_not_found'> = async function (options) {
  const ids = options.config.commands.filter((c) => !c.hidden).map((c) => c.id.replaceAll(':', ' '))
  const words = options.id.split(':').filter((w) => w !== '')
  const error = commandNotFound(words, [...ids, 'help', 'version'])
  writeError(error, {stdout: (t) => void process.stdout.write(t), stderr: (t) => void process.stderr.write(t)}, wantsJson([...words, ...(options.argv ?? [])]))
  process.exitCode = error.exitCode
  return error.code
}

export default hook
