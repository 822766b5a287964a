/**
 * The one oclif-aware layer shared by every command: it turns the library's typed errors into a message,
 * a hint and an exit code (or a JSON error object with --json), and never prints a stack for them.
 * Commands stay thin: parse flags, build options, call one function in src/lib.
 */
import {Command} from '@oclif/core'

import {OnaError, isOnaError} from './lib/errors.js'
import {processIOStreams, type IOStreams} from './lib/io.js'

export abstract class BaseCommand extends Command {
  protected io: IOStreams = processIOStreams()

  protected override async catch(err: Error & {exitCode?: number}): Promise<unknown> {
    if (!isOnaError(err)) return super.catch(err)
    process.exitCode = err.exitCode
    if (this.jsonEnabled()) {
      this.logJson({error: (err as OnaError).toJSON()})
    } else {
      this.io.err.write(`error: ${err.message}\nhint: ${err.hint}\n`)
    }
    return undefined
  }
}
