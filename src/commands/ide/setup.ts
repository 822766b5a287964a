import {Args, Flags} from '@oclif/core'

import {BaseCommand} from '../../base-command.js'
import {apiUrlFlag} from '../../flags.js'
import {createContext} from '../../lib/context.js'
import type {IdeSetupResult} from '../../lib/ide/setup.js'

export default class IdeSetup extends BaseCommand {
  static override summary = "set up VS Code's (or a fork's) Remote-SSH settings for ona's aliases"
  static override description = `Edits the editor's user settings.json, keeping its comments and every other key as they are: maps ona's
aliases (*.gitpod.environment, *.gitpod.remote) to linux in remote.SSH.remotePlatform, so the editor does not ask
for the platform of each new host, and, when resolve-on-connect is on, raises remote.SSH.connectTimeout so that a
stopped environment picked from the host list has time to start (a larger value is kept). Warns when
remote.SSH.configFile names a file in which ssh does not see ona's block. What ona added is recorded in its state
directory: --remove takes out exactly that.`

  static override examples = [
    '<%= config.bin %> ide setup vscode',
    '<%= config.bin %> ide setup cursor --dry-run',
    '<%= config.bin %> ide setup --all',
    '<%= config.bin %> ide setup vscode --remove',
  ]

  static override enableJsonFlag = true

  static override args = {
    editor: Args.string({description: 'the editor whose settings to edit', options: ['vscode', 'cursor', 'windsurf', 'vscodium', 'code-insiders'], required: false}),
  }

  static override flags = {
    all: Flags.boolean({summary: 'every editor of the VS Code family that has user settings on this machine'}),
    'dry-run': Flags.boolean({summary: 'print a unified diff of the change and write nothing'}),
    remove: Flags.boolean({summary: 'take out what ona added (a value you set or changed stays)'}),
    'api-url': apiUrlFlag,
    'ssh-config': Flags.string({summary: 'the SSH config file ona manages, which remote.SSH.configFile should read (default: the one saved with `ona ssh-sync --ssh-config`, else ~/.ssh/config)', helpValue: '<path>'}),
  }

  async run(): Promise<IdeSetupResult> {
    const {args, flags} = await this.parse(IdeSetup)
    const {OnaError} = await import('../../lib/errors.js')
    if (args.editor !== undefined && flags.all) throw new OnaError('ERR_USAGE', 'name an editor or give --all, not both', {hint: 'Run `ona ide setup vscode`, or `ona ide setup --all` for every editor that has user settings.'})
    if (args.editor === undefined && !flags.all) throw new OnaError('ERR_USAGE', 'no editor given', {hint: 'Name one: `ona ide setup vscode` (or cursor, windsurf, vscodium, code-insiders), or `ona ide setup --all`.'})
    const ctx = createContext({io: this.io, ...(flags['ssh-config'] === undefined ? {} : {sshConfig: flags['ssh-config']})})
    const {ideSetup, formatIdeSetup} = await import('../../lib/ide/setup.js')
    const result = await ideSetup(ctx, {
      editors: args.editor === undefined ? [] : [args.editor as IdeSetupResult['editors'][number]['editor']],
      all: flags.all,
      dryRun: flags['dry-run'],
      remove: flags.remove,
      ...(flags['api-url'] === undefined ? {} : {apiUrl: flags['api-url']}),
    })
    if (!this.jsonEnabled()) {
      for (const editor of result.editors) if (flags['dry-run'] && editor.diff) this.io.print(editor.diff.trimEnd())
      for (const line of formatIdeSetup(result, ctx.paths.home)) this.io.print(line)
      for (const w of [...result.editors.flatMap((e) => e.warnings), ...result.warnings]) this.io.warn(w.message)
    }
    return result
  }
}
