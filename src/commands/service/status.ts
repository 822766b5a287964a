import {Flags} from '@oclif/core'

import {BaseCommand} from '../../base-command.js'
import {apiUrlFlag} from '../../flags.js'
import {createContext} from '../../lib/context.js'
import type {ServiceStatusResult} from '../../lib/service/index.js'

export default class ServiceStatus extends BaseCommand {
  static override summary = 'say whether the watcher runs, when it last synced, and its last error'
  static override description = 'Reads the watcher\'s status file and asks the running watcher (if any) on its local socket; also says whether the service is installed.'
  static override examples = ['<%= config.bin %> service status', '<%= config.bin %> service status --json']
  static override enableJsonFlag = true
  static override flags = {
    'api-url': apiUrlFlag,
    'ssh-config': Flags.string({summary: 'SSH config file whose watcher to ask about (default ~/.ssh/config)', helpValue: '<path>'}),
  }

  async run(): Promise<ServiceStatusResult> {
    const {flags} = await this.parse(ServiceStatus)
    const ctx = createContext({io: this.io, sshConfig: flags['ssh-config']})
    const {serviceStatus, formatServiceStatus} = await import('../../lib/service/index.js')
    const result = await serviceStatus(ctx, {apiUrl: flags['api-url']})
    if (!this.jsonEnabled()) for (const line of formatServiceStatus(result, ctx.paths.home)) this.io.print(line)
    return result
  }
}
