import {BaseCommand} from '../../base-command.js'
import {createContext} from '../../lib/context.js'
import type {ServiceUninstallResult} from '../../lib/service/index.js'

export default class ServiceUninstall extends BaseCommand {
  static override summary = 'stop the watcher service and remove it'
  static override description = 'Stops and disables the service `ona service install` wrote, and deletes its file. The SSH config keeps its block (`ona ssh-sync --remove` takes it out).'
  static override examples = ['<%= config.bin %> service uninstall']
  static override enableJsonFlag = true

  async run(): Promise<ServiceUninstallResult> {
    await this.parse(ServiceUninstall)
    const ctx = createContext({io: this.io})
    const {uninstallService} = await import('../../lib/service/index.js')
    const result = await uninstallService(ctx)
    if (!this.jsonEnabled()) this.io.print(result.removed ? `stopped and removed ${result.name} (${result.file})` : `${result.name} is not installed (${result.file})`)
    return result
  }
}
