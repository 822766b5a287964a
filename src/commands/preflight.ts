import {Flags} from '@oclif/core'

import {BaseCommand} from '../base-command.js'
import {apiUrlFlag} from '../flags.js'
import {resolveApiUrl} from '../lib/api/base-url.js'
import {createContext} from '../lib/context.js'
import {REPORT_CATEGORIES, parsePreflightTimeout, preflight} from '../lib/preflight/preflight.js'
import type {PreflightReport} from '../lib/preflight/types.js'

export default class Preflight extends BaseCommand {
  static override summary = 'check that this network reaches every endpoint the vendor requires'
  static override description = `Runs DNS, direct TCP, TLS, proxy and UDP checks for the vendor's required endpoints, all at once,
each bounded by --timeout; the whole run ends within about one timeout. Exits 1 when a required check fails.
The management plane checked is the API in use (--api-url, ONA_API_URL; default app.ona.com); the public
ones too with --public-management.
Add your own endpoints (SCM, SSO, private registries) in preflight.json in the ona config directory.`

  static override examples = [
    '<%= config.bin %> preflight',
    '<%= config.bin %> preflight --ide vscode --runner enterprise --timeout 3s',
    '<%= config.bin %> preflight --only aws --region eu-central-1 --account-id 123456789012',
    '<%= config.bin %> preflight --resolver 10.0.0.2',
    '<%= config.bin %> preflight --api-url https://ona.example.com/api --only management',
    '<%= config.bin %> preflight --json',
  ]

  static override enableJsonFlag = true

  static override flags = {
    ide: Flags.string({description: 'which IDE endpoints are required', options: ['vscode', 'jetbrains', 'all', 'none'], default: 'all'}),
    runner: Flags.string({description: 'runner kind (enterprise runners need no gateway)', options: ['standard', 'enterprise'], default: 'standard'}),
    timeout: Flags.string({description: 'per-check timeout: 5s, 500ms, 1m or plain seconds (also bounds the whole run)', default: '5s', helpValue: '<duration>'}),
    only: Flags.string({description: 'only this category (repeatable)', options: [...REPORT_CATEGORIES], multiple: true}),
    region: Flags.string({description: 'AWS region for the regional API endpoints, e.g. us-east-1'}),
    'account-id': Flags.string({description: 'AWS account id for the ECR registry endpoint'}),
    resolver: Flags.string({description: 'ask this DNS server (ip[:port]) instead of the system resolver'}),
    'api-url': apiUrlFlag,
    'public-management': Flags.boolean({description: 'also check the public management planes (app.gitpod.io, app.ona.com) when the API in use is another one'}),
  }

  async run(): Promise<PreflightReport> {
    const {flags} = await this.parse(Preflight)
    const ctx = createContext({io: this.io})
    const report = await preflight(ctx, {
      timeoutMs: parsePreflightTimeout(flags.timeout, (note) => ctx.io.warn(note)),
      ide: flags.ide as 'vscode' | 'jetbrains' | 'all' | 'none',
      runner: flags.runner as 'standard' | 'enterprise',
      ...(flags.only ? {only: flags.only} : {}),
      ...(flags.region ? {region: flags.region} : {}),
      ...(flags['account-id'] ? {accountId: flags['account-id']} : {}),
      ...(flags.resolver ? {resolver: flags.resolver} : {}),
      json: this.jsonEnabled(),
      apiUrl: resolveApiUrl(flags['api-url'], ctx.env),
      publicManagement: flags['public-management'],
    })
    // Not this.exit(): the report must still be printed (as JSON with --json) before the non-zero exit.
    if (report.exitCode !== 0) process.exitCode = report.exitCode
    return report
  }
}
