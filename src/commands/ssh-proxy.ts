import {Args, Flags} from '@oclif/core'

import {BaseCommand} from '../base-command.js'
import {apiUrlFlag} from '../flags.js'
import {resolveApiUrl} from '../lib/api/base-url.js'
import {createContext} from '../lib/context.js'
import {parseTimeFlag} from '../lib/deadline.js'

/** What a resolve-on-connect Host entry's ProxyCommand runs (see src/lib/proxy/proxy.ts). Not for people. */
export default class SshProxy extends BaseCommand {
  static override hidden = true
  static fastPath = true
  static override summary = 'carry an ssh connection to an environment, starting it first'
  static override args = {
    environment: Args.string({description: 'environment id', required: true}),
  }

  static override flags = {
    'api-url': apiUrlFlag,
    'ssh-config': Flags.string({summary: 'the SSH config whose block to update when the address moved', helpValue: '<path>'}),
    'config-dir': Flags.string({summary: "ona's config directory the entry was written with (settings, token file)", helpValue: '<path>'}),
    // A duration like every time flag (a plain number is seconds, as the integer this flag took before).
    timeout: Flags.string({summary: 'how long to wait for a start and the key: 10m, 90s or plain seconds', default: '10m', helpValue: '<duration>'}),
  }

  async run(): Promise<void> {
    const {args, flags} = await this.parse(SshProxy)
    // Asking the API has the ProxyCommand's own limit (8 s, or ONA_TIMEOUT; see runProxy), so a stalled API
    // falls back to the block's address inside an IDE's ConnectTimeout; the start wait has --timeout.
    // No status line: ssh owns the terminal this stderr goes to.
    const timeout = parseTimeFlag(flags.timeout, '--timeout', {minMs: 1000})
    const ctx = createContext({io: this.io, sshConfig: flags['ssh-config'], configDir: flags['config-dir']})
    // ssh ends its ProxyCommand with SIGHUP when the session is over, and does not wait for it: that is how
    // this command normally ends, so it ends as a process that finished (bin/run.js keeps its code cache then).
    process.once('SIGHUP', () => process.exit(process.exitCode ?? 0))
    const {runProxy} = await import('../lib/proxy/proxy.js')
    process.exitCode = await runProxy(ctx, {environmentId: args.environment, apiUrl: resolveApiUrl(flags['api-url'], ctx.env), timeoutMs: timeout.ms})
  }
}
