import {Flags} from '@oclif/core'

import {BaseCommand} from '../../base-command.js'

export default class ServiceRun extends BaseCommand {
  static override hidden = true
  static override summary = 'the Windows task\'s supervisor: restarts a crashed watcher, never exit 0 or 4'
  static override description =
    'What the Task Scheduler task `ona service install` writes on Windows runs: starts `ona ssh-sync --watch --service` with the arguments and variables the definition file names, appends its output to the log, and restarts it after a crash with a growing delay (5 s up to 5 min). Exit 0 and exit 4 (token expired or revoked) end it.'

  static override flags = {
    definition: Flags.string({summary: 'the task definition `ona service install` wrote', required: true, helpValue: '<file>'}),
  }

  async run(): Promise<void> {
    const {flags} = await this.parse(ServiceRun)
    const {runDefinition} = await import('../../lib/service/supervisor.js')
    process.exitCode = await runDefinition(flags.definition)
  }
}
