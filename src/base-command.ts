/**
 * The one oclif-aware layer shared by every command: it turns the library's typed errors into a message,
 * a hint and an exit code (or a JSON error object with --json), and never prints a stack for them.
 * Parser errors (unknown flag, missing argument, bad value) become short usage errors the same way,
 * without echoing values. Commands stay thin: parse flags, build options, call one function in src/lib.
 */
import {Command, type Interfaces} from '@oclif/core'

import {OnaError, isOnaError} from './lib/errors.js'
import {processIOStreams, type IOStreams} from './lib/io.js'
import {wantsJson} from './lib/cli/usage.js'
import {usageErrorFromParse} from './parse-errors.js'
import {MESSAGE_MAX, printable} from './lib/printable.js'

export abstract class BaseCommand extends Command {
  protected io: IOStreams = processIOStreams()

  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  protected override async parse<F extends {[name: string]: any}, B extends {[name: string]: any}, A extends {[name: string]: any}>(
    options?: Interfaces.Input<F, B, A>,
    argv?: string[],
  ): Promise<Interfaces.ParserOutput<F, B, A>> {
    try {
      return await super.parse(options, argv)
    } catch (error) {
      const ctor = this.constructor as typeof Command
      const shape = {id: (this.id ?? ctor.id ?? '').replaceAll(':', ' '), flags: (ctor.flags ?? {}) as never, args: (ctor.args ?? {}) as never}
      throw usageErrorFromParse(error, shape) ?? error
    }
  }

  protected override async catch(err: Error & {exitCode?: number}): Promise<unknown> {
    if (!isOnaError(err)) return super.catch(err)
    process.exitCode = err.exitCode
    // A usage error answers --json even on a command without JSON output (`ona completion --json`).
    if (this.jsonEnabled() || (err.code === 'ERR_USAGE' && wantsJson(this.argv))) {
      this.logJson({error: (err as OnaError).toJSON()})
    } else {
      // Messages quote server text (error messages, names): printed, they must not forge lines.
      this.io.err.write(`error: ${printable(err.message, MESSAGE_MAX)}\nhint: ${printable(err.hint, MESSAGE_MAX)}\n`)
    }
    return undefined
  }
}
