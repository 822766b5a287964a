import {Flags} from '@oclif/core'

import {BaseCommand} from '../../base-command.js'
import {apiUrlFlag} from '../../flags.js'
import {createContext} from '../../lib/context.js'
import type {ServiceStatusResult} from '../../lib/service/index.js'

export default class ServiceStatus extends BaseCommand {
  static override summary = 'say whether each watcher service runs, when it last synced, and its last error'
  static override description =
    'Lists every service `ona service install` wrote (or, with --api-url / --ssh-config, the one for that API and config): whether it is installed and running as its service manager says, whether a watcher answers on its local socket, when it last synced, its last error, and why it stopped when the token expired.'

  static override examples = ['<%= config.bin %> service status', '<%= config.bin %> service status --json', '<%= config.bin %> service status --api-url https://ona.example.com/api']
  static override enableJsonFlag = true
  static override flags = {
    'api-url': apiUrlFlag,
    'ssh-config': Flags.string({summary: 'SSH config file whose watcher to ask about (default ~/.ssh/config)', helpValue: '<path>'}),
  }

  async run(): Promise<ServiceStatusResult[]> {
    const {flags} = await this.parse(ServiceStatus)
    const ctx = createContext({io: this.io, sshConfig: flags['ssh-config']})
    const {serviceStatuses, formatServiceStatus} = await import('../../lib/service/index.js')
    const results = await serviceStatuses(ctx, {apiUrl: flags['api-url'], explicit: flags['api-url'] !== undefined || flags['ssh-config'] !== undefined})
    if (!this.jsonEnabled()) {
      results.forEach((result, i) => {
        if (i > 0) this.io.print('')
        for (const line of formatServiceStatus(result, ctx.paths.home)) this.io.print(line)
      })
    }
    return results
  }
}
