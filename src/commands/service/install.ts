import {Flags} from '@oclif/core'

import {BaseCommand} from '../../base-command.js'
import {apiUrlFlag} from '../../flags.js'
import {createContext} from '../../lib/context.js'
import type {ServiceInstallResult} from '../../lib/service/index.js'

export default class ServiceInstall extends BaseCommand {
  static override summary = 'run `ona ssh-sync --watch` as a per-user service that starts at login'
  static override description =
    'Writes a systemd user unit (Linux), a launchd agent (macOS) or a Task Scheduler task (Windows) that runs the watcher with the absolute paths of node and ona, restarts it on failure with a delay, and logs where the platform keeps logs; then starts it. `ona service status` says whether it runs and when it last synced.'

  static override examples = ['<%= config.bin %> service install', '<%= config.bin %> service install --dry-run', '<%= config.bin %> service install --ssh-config ~/.ssh/config.d/ona']
  static override enableJsonFlag = true
  static override flags = {
    'api-url': apiUrlFlag,
    'ssh-config': Flags.string({summary: 'SSH config file the service keeps current (default ~/.ssh/config)', helpValue: '<path>'}),
    'dry-run': Flags.boolean({summary: 'print the service file and the commands, change nothing'}),
    'no-start': Flags.boolean({summary: 'write the service file, but do not enable or start it'}),
  }

  async run(): Promise<ServiceInstallResult> {
    const {flags} = await this.parse(ServiceInstall)
    const ctx = createContext({io: this.io, sshConfig: flags['ssh-config']})
    const {installService} = await import('../../lib/service/index.js')
    const result = await installService(ctx, {
      sshConfig: flags['ssh-config'] === undefined ? undefined : ctx.paths.sshConfig,
      apiUrl: flags['api-url'],
      dryRun: flags['dry-run'],
      noStart: flags['no-start'],
    })
    if (!this.jsonEnabled()) {
      if (result.content !== undefined) {
        this.io.print(`# ${result.file}`)
        this.io.print(result.content.trimEnd())
        this.io.print('')
        for (const c of result.commands) this.io.print(`would run: ${c.join(' ').replace(/^-/, '')}`)
      } else {
        this.io.print(`wrote ${result.file}`)
        this.io.print(result.started ? `started ${result.name}; logs: ${result.logs}` : `not started (--no-start): ${result.commands.map((c) => c.join(' ').replace(/^-/, '')).join(' && ')}`)
      }
    }
    return result
  }
}
