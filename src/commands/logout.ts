import {BaseCommand} from '../base-command.js'
import {apiUrlFlag, timeoutFlag} from '../flags.js'
import {resolveApiUrl} from '../lib/api/base-url.js'
import {logout, type LogoutResult} from '../lib/auth/session.js'
import {createContext} from '../lib/context.js'

export default class Logout extends BaseCommand {
  static override summary = 'remove the stored token'
  static override description = 'Removes the token for the API origin (and the one ona 0.1 stored for its host) from the OS keychain and from the token file, wherever it is.'
  static override examples = ['<%= config.bin %> logout', '<%= config.bin %> logout --api-url https://ona.example.com/api']
  static override enableJsonFlag = true
  static override flags = {'api-url': apiUrlFlag, timeout: timeoutFlag}

  async run(): Promise<LogoutResult> {
    const {flags} = await this.parse(Logout)
    const ctx = createContext({io: this.io, oneShot: {timeout: flags.timeout, json: this.jsonEnabled()}})
    return logout(ctx, {apiUrl: resolveApiUrl(flags['api-url'], ctx.env)})
  }
}
