import {Flags} from '@oclif/core'

import {BaseCommand} from '../../base-command.js'
import {apiUrlFlag} from '../../flags.js'
import {createContext} from '../../lib/context.js'
import type {ServiceInstallResult} from '../../lib/service/index.js'

export default class ServiceInstall extends BaseCommand {
  static override summary = 'run `ona ssh-sync --watch` as a per-user service that starts at login'
  static override description =
    'Writes a systemd user unit (Linux), a launchd agent (macOS) or a Task Scheduler task (Windows) that runs the watcher for one API and one SSH config, with the absolute paths of node and ona and the proxy, CA and ONA_* variables of this shell (never the token); then starts it. Each API and SSH config gets a service of its own. `ona service status` says whether it runs and when it last synced.'

  static override examples = [
    '<%= config.bin %> service install',
    '<%= config.bin %> service install --dry-run',
    '<%= config.bin %> service install --api-url https://ona.example.com/api',
    '<%= config.bin %> service install --ssh-config ~/.ssh/config.d/ona',
  ]

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
    const {installService, formatDryRun} = await import('../../lib/service/index.js')
    const result = await installService(ctx, {apiUrl: flags['api-url'], dryRun: flags['dry-run'], noStart: flags['no-start']})
    if (!this.jsonEnabled()) {
      if (result.content !== undefined) {
        for (const line of formatDryRun(result)) this.io.print(line)
      } else {
        this.io.print(`wrote ${result.file}`)
        for (const file of result.replaced) this.io.print(`removed ${file} (an earlier ona's service for the same API and config)`)
        for (const note of result.notDone) this.io.warn(note)
        for (const name of result.skippedEnvironment) this.io.warn(`${name} was left out of the service: its value has a line break or control character`)
        this.io.print(result.started ? `started ${result.name}; logs: ${result.logs}` : `not started (--no-start): ${result.commands.map((c) => c.join(' ').replace(/^-/, '')).join(' && ')}`)
      }
    }
    return result
  }
}
