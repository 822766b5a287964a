import {BaseCommand} from '../../base-command.js'
import {apiUrlFlag, timeoutFlag} from '../../flags.js'
import {resolveApiUrl} from '../../lib/api/base-url.js'
import {createContext} from '../../lib/context.js'
import type {EnvironmentRow} from '../../lib/environments/list.js'

export default class EnvironmentList extends BaseCommand {
  static override summary = 'list your environments: id, name, phase, alias and address'
  static override aliases = ['env:list']
  static override examples = ['<%= config.bin %> environment list', '<%= config.bin %> env list --json']
  static override enableJsonFlag = true
  static override flags = {
    'api-url': apiUrlFlag,
    timeout: timeoutFlag,
  }

  async run(): Promise<EnvironmentRow[]> {
    const {flags} = await this.parse(EnvironmentList)
    const ctx = createContext({io: this.io, oneShot: {timeout: flags.timeout, json: this.jsonEnabled()}})
    const {listEnvironmentRows, formatEnvironmentRows} = await import('../../lib/environments/list.js')
    const rows = await listEnvironmentRows(ctx, {apiUrl: resolveApiUrl(flags['api-url'], ctx.env)})
    if (!this.jsonEnabled()) for (const line of formatEnvironmentRows(rows)) this.io.print(line)
    return rows
  }
}
