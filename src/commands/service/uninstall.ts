import {Flags} from '@oclif/core'

import {BaseCommand} from '../../base-command.js'
import {apiUrlFlag} from '../../flags.js'
import {createContext} from '../../lib/context.js'
import type {ServiceUninstallResult} from '../../lib/service/index.js'

export default class ServiceUninstall extends BaseCommand {
  static override summary = 'stop the watcher service and remove it'
  static override description =
    'Stops and disables the service `ona service install` wrote for one API and SSH config (or every one with --all), and deletes its file, also when the service manager cannot be reached (it then says what it could not do). The SSH config keeps its block (`ona ssh-sync --remove` takes it out).'

  // oclif renders the exclusive flags as one choice of three; --api-url and --ssh-config go together.
  static override usage = ['service uninstall [--api-url <url>] [--ssh-config <path>] [--all] [--json]']

  static override examples = ['<%= config.bin %> service uninstall', '<%= config.bin %> service uninstall --api-url https://ona.example.com/api', '<%= config.bin %> service uninstall --all']
  static override enableJsonFlag = true
  static override flags = {
    'api-url': apiUrlFlag,
    'ssh-config': Flags.string({summary: 'SSH config file whose service to remove (default ~/.ssh/config)', helpValue: '<path>'}),
    all: Flags.boolean({summary: 'remove every service ona installed for this user', exclusive: ['api-url', 'ssh-config']}),
  }

  async run(): Promise<ServiceUninstallResult[]> {
    const {flags} = await this.parse(ServiceUninstall)
    const ctx = createContext({io: this.io, sshConfig: flags['ssh-config']})
    const {uninstallServices} = await import('../../lib/service/index.js')
    const results = await uninstallServices(ctx, {apiUrl: flags['api-url'], all: flags.all})
    if (!this.jsonEnabled()) {
      if (results.length === 0) this.io.print('no ona service is installed')
      for (const result of results) {
        if (!result.removed) this.io.print(`${result.name} is not installed (${result.file})`)
        for (const file of result.files) this.io.print(`${result.notDone.length > 0 ? 'removed' : 'stopped and removed'} ${result.name} (${file})`)
        for (const note of result.notDone) this.io.warn(`not done: ${note}`)
      }
    }
    return results
  }
}
