import {BaseCommand} from '../base-command.js'
import {apiUrlFlag, timeoutFlag} from '../flags.js'
import {resolveApiUrl} from '../lib/api/base-url.js'
import {formatWhoami, whoami, type WhoamiResult} from '../lib/auth/session.js'
import {createContext} from '../lib/context.js'

export default class Whoami extends BaseCommand {
  static override summary = 'show who the stored token belongs to'
  static override description = 'Asks the management plane for the principal and organisation of the token in use, and says where the token came from.'
  static override examples = ['<%= config.bin %> whoami', '<%= config.bin %> whoami --json']
  static override enableJsonFlag = true
  static override flags = {'api-url': apiUrlFlag, timeout: timeoutFlag}

  async run(): Promise<WhoamiResult> {
    const {flags} = await this.parse(Whoami)
    const ctx = createContext({io: this.io, oneShot: {timeout: flags.timeout, json: this.jsonEnabled()}})
    const result = await whoami(ctx, {apiUrl: resolveApiUrl(flags['api-url'], ctx.env)})
    if (!this.jsonEnabled()) for (const line of formatWhoami(result)) this.io.print(line)
    return result
  }
}
