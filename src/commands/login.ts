import {Flags} from '@oclif/core'

import {BaseCommand} from '../base-command.js'
import {apiUrlFlag, timeoutFlag} from '../flags.js'
import {resolveApiUrl} from '../lib/api/base-url.js'
import {login, type LoginResult} from '../lib/auth/session.js'
import {createContext} from '../lib/context.js'

export default class Login extends BaseCommand {
  static override summary = 'store a personal access token after checking it'
  static override description = `Reads the token from standard input (--token-stdin), a hidden prompt on a terminal, or ONA_TOKEN,
checks it with the management plane, and stores it in the OS keychain. Without a usable keychain (or with
ONA_KEYRING=off) it goes to credentials.json in the ona config directory, mode 0600.

Create the token in the dashboard under Settings > Personal access tokens:
https://app.ona.com/projects#/settings/personal-access-tokens (app.gitpod.io, or an enterprise install's
own host, has the same page at the same path).`

  static override examples = [
    '<%= config.bin %> login --token-stdin < token.txt',
    '<%= config.bin %> login',
    '<%= config.bin %> login --api-url https://ona.example.com/api --token-stdin < token.txt',
  ]

  static override enableJsonFlag = true

  static override flags = {
    'token-stdin': Flags.boolean({description: 'read the token from standard input'}),
    'api-url': apiUrlFlag,
    timeout: timeoutFlag,
  }

  async run(): Promise<LoginResult> {
    const {flags} = await this.parse(Login)
    const ctx = createContext({io: this.io, oneShot: {timeout: flags.timeout, json: this.jsonEnabled()}})
    return login(ctx, {apiUrl: resolveApiUrl(flags['api-url'], ctx.env), tokenStdin: flags['token-stdin']})
  }
}
