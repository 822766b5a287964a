import {Args, Flags} from '@oclif/core'

import {BaseCommand} from '../base-command.js'
import {apiUrlFlag} from '../flags.js'
import {resolveApiUrl} from '../lib/api/base-url.js'
import {createContext} from '../lib/context.js'
import {parseTimeFlag} from '../lib/deadline.js'
import type {SshConnectOptions} from '../lib/ssh/connect.js'

export default class Ssh extends BaseCommand {
  static override summary = 'connect to an environment over SSH, starting it when it is stopped'
  static override description = `Finds the environment by id, unique id prefix or name (a picker on a terminal when none is given),
checks the network (the API, the gateway, the release endpoints, the IDE's endpoints with --ide, then the environment's SSH address;
only a failure on the connection's own path, the API or the SSH address, stops it, others are warnings),
starts it when it is stopped (progress on stderr; --no-start refuses instead),
registers ona's SSH key and waits until the environment accepts it, brings the SSH aliases up to date once,
then runs \`ssh <id>.gitpod.environment\` with any arguments after \`--\` and exits with ssh's exit code.
--ide vscode (or cursor, windsurf, vscodium, code-insiders) opens that editor on the alias instead, in --path or
the environment's checkout folder; --ide jetbrains says how to connect JetBrains Gateway through the alias.`

  static override examples = [
    '<%= config.bin %> ssh my-env',
    '<%= config.bin %> ssh 0199ec15-59d3',
    '<%= config.bin %> ssh',
    '<%= config.bin %> ssh my-env --no-start',
    '<%= config.bin %> ssh 0199ec15-59d3-7e92-8e22-8cb6c7ba4df7 -- -L 3000:localhost:3000',
    '<%= config.bin %> ssh 0199ec15-59d3-7e92-8e22-8cb6c7ba4df7 --ide vscode --path /workspaces/app',
    '<%= config.bin %> ssh 0199ec15-59d3-7e92-8e22-8cb6c7ba4df7 --skip-preflight',
  ]

  // Everything after the id (best after `--`) goes to ssh untouched.
  static override strict = false

  // Failures as {"error": ...} for scripts; a `--json` after `--` is ssh's, not ours.
  static override enableJsonFlag = true

  static override args = {
    environment: Args.string({description: 'environment id, unique id prefix or name (a picker on a terminal when left out)', required: false}),
  }

  static override flags = {
    'api-url': apiUrlFlag,
    'ssh-config': Flags.string({summary: 'SSH config file to manage (default ~/.ssh/config, or ONA_SSH_CONFIG)', helpValue: '<path>'}),
    ide: Flags.string({summary: 'open this IDE on the alias instead of a shell, once the environment runs', options: ['vscode', 'cursor', 'windsurf', 'vscodium', 'code-insiders', 'jetbrains']}),
    path: Flags.string({summary: "with --ide: the remote folder to open (default: the environment's checkout folder)", helpValue: '<path>'}),
    runner: Flags.string({summary: 'runner kind: enterprise runners need no gateway check', options: ['standard', 'enterprise'], default: 'standard'}),
    'skip-preflight': Flags.boolean({summary: 'connect without the network check'}),
    resolver: Flags.string({summary: 'ask this DNS server (ip[:port]) in the network check instead of the system resolver', helpValue: '<ip[:port]>'}),
    'preflight-timeout': Flags.string({summary: 'per-check timeout of the network check: 3s, 500ms or plain seconds', default: '3s', helpValue: '<duration>'}),
    'no-start': Flags.boolean({summary: 'fail instead of starting a stopped environment'}),
    'start-timeout': Flags.string({summary: 'how long to wait for the environment to start and accept the key: 10m, 90s or plain seconds', default: '10m', helpValue: '<duration>'}),
    timeout: Flags.string({
      summary: 'give up after this long, not counting the start wait: 30s, 2m, 90 (seconds), 0 for never (default 60s, or ONA_TIMEOUT)',
      description: 'Bounds everything before ssh runs except waiting for a stopped environment to start and accept the key, which --start-timeout bounds: at most the two added up.',
      helpValue: '<duration>',
    }),
  }

  async run(): Promise<void> {
    const {args, argv, flags} = await this.parse(Ssh)
    const {target, sshArgs} = splitSshArgv(this.argv, argv as string[], args.environment)
    const ctx = createContext({io: this.io, sshConfig: flags['ssh-config'], oneShot: {timeout: flags.timeout, json: this.jsonEnabled()}})
    const preflightTimeout = parseTimeFlag(flags['preflight-timeout'], '--preflight-timeout', {maxMs: 600_000, legacyMs: true})
    if (preflightTimeout.note) ctx.io.warn(preflightTimeout.note)
    const startTimeout = parseTimeFlag(flags['start-timeout'], '--start-timeout', {minMs: 1000})
    const {sshConnect} = await import('../lib/ssh/connect.js')
    const resolver = flags.resolver === undefined ? undefined : await import('../lib/preflight/dns.js').then(({createDnsResolver, parseResolverAddress}) => createDnsResolver([parseResolverAddress(flags.resolver!)]))
    const code = await sshConnect(ctx, {
      ...(target === undefined ? {} : {target}),
      noStart: flags['no-start'],
      startTimeoutMs: startTimeout.ms,
      args: sshArgs,
      apiUrl: resolveApiUrl(flags['api-url'], ctx.env),
      ...(flags.ide ? {ide: flags.ide as NonNullable<SshConnectOptions['ide']>} : {}),
      ...(flags.path ? {path: flags.path} : {}),
      runner: flags.runner as 'standard' | 'enterprise',
      skipPreflight: flags['skip-preflight'],
      ...(resolver ? {resolver} : {}),
      timeoutMs: preflightTimeout.ms,
    })
    process.exitCode = code
  }
}

/**
 * The environment and the arguments for ssh. `--` ends ona's own arguments: everything after it goes to ssh
 * exactly as typed (oclif's non-strict argv reorders option values there, e.g. `-o A -o B` comes back as
 * `-o -o A B`), and the environment can only come before it (`ona ssh -- true` on no terminal is "no
 * environment given", not an environment named `true`). Without `--`, what follows the id goes to ssh.
 */
function splitSshArgv(raw: string[], parsed: string[], environment: string | undefined): {target?: string; sshArgs: string[]} {
  const dashes = raw.indexOf('--')
  if (dashes === -1) return {...(environment === undefined ? {} : {target: environment}), sshArgs: parsed.slice(1)}
  const before = raw.slice(0, dashes)
  const target = environment !== undefined && before.includes(environment) ? environment : undefined
  return {...(target === undefined ? {} : {target}), sshArgs: raw.slice(dashes + 1)}
}
