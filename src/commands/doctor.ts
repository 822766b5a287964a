import {Args, Flags} from '@oclif/core'

import {BaseCommand} from '../base-command.js'
import {apiUrlFlag} from '../flags.js'
import {resolveApiUrl} from '../lib/api/base-url.js'
import {createContext} from '../lib/context.js'
import {parseDuration} from '../lib/deadline.js'
import {OnaError} from '../lib/errors.js'
import type {DoctorReport} from '../lib/doctor/types.js'

export default class Doctor extends BaseCommand {
  static override summary = 'explain why ssh to an environment fails, step by step'
  static override description = `Checks, in the order a connection goes: this ona and Node.js, which \`ona\` comes first on PATH, the
token (where it comes from, whether it is valid, whose it is), the API's network path (DNS, TCP, TLS, proxy),
which SSH config ssh reads and whether it reads ona's block, other lines and tools' blocks that decide how the
aliases connect (with the real \`ssh -G\`), then per environment: phase, address, key registered and READY,
TCP and SSH banner from this machine, host key known under its HostKeyAlias; the watcher and service; VS Code's
Remote-SSH settings. Each finding is pass, warn, fail or skip, with a hint. Writes nothing. Exits 1 when
a finding fails.`

  static override examples = [
    '<%= config.bin %> doctor',
    '<%= config.bin %> doctor my-env',
    '<%= config.bin %> doctor 0199ec15-59d3 --json',
  ]

  static override enableJsonFlag = true

  static override args = {
    environment: Args.string({description: 'only this environment (id, unique id prefix, name or alias)', required: false}),
  }

  static override flags = {
    'api-url': apiUrlFlag,
    'ssh-config': Flags.string({summary: 'the SSH config file ona manages (default ~/.ssh/config, or ONA_SSH_CONFIG)', helpValue: '<path>'}),
    timeout: Flags.string({summary: 'the whole report\'s time budget: 30s, 1m (default 30s); each probe gets at most 5s of it', helpValue: '<duration>'}),
  }

  async run(): Promise<DoctorReport> {
    const {args, flags} = await this.parse(Doctor)
    const ctx = createContext({io: this.io, ...(flags['ssh-config'] === undefined ? {} : {sshConfig: flags['ssh-config']})})
    const timeoutMs = flags.timeout === undefined ? undefined : parseDuration(flags.timeout)
    if (flags.timeout !== undefined && timeoutMs === undefined) {
      throw new OnaError('ERR_USAGE', `--timeout ${flags.timeout}: the report needs a time budget`, {hint: 'Give a duration such as 30s or 1m.'})
    }
    const [{runDoctor}, {renderDoctor}] = await Promise.all([import('../lib/doctor/doctor.js'), import('../lib/doctor/render.js')])
    const report = await runDoctor(ctx, {
      apiUrl: resolveApiUrl(flags['api-url'], ctx.env),
      ...(args.environment === undefined ? {} : {environment: args.environment}),
      ...(timeoutMs === undefined ? {} : {timeoutMs}),
    })
    if (!this.jsonEnabled()) this.io.print(renderDoctor(report, this.io, ctx.paths.home))
    // Not this.exit(): the report must still be printed (as JSON with --json) before the non-zero exit.
    if (report.exitCode !== 0) process.exitCode = report.exitCode
    return report
  }
}
