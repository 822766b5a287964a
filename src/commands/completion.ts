import {Args} from '@oclif/core'

import {BaseCommand} from '../base-command.js'
import {completionDir} from '../lib/completion/environments.js'
import {SHELLS, completionScript, type CompletionCommand, type Shell} from '../lib/completion/scripts.js'
import {currentPlatform} from '../lib/platform/platform.js'

export default class Completion extends BaseCommand {
  static override summary = 'print the shell completion script for bash, zsh, fish or PowerShell'
  static override description = 'Prints a script that completes ona commands, flags and flag values, and the environment of `ona ssh` and `ona doctor` from the names and ids of the last listing of the API in use (by ona ssh-sync, its watcher, ona ssh, environment list or doctor; a TAB never asks the API). Add the line for your shell to its start-up file; the script is rebuilt each time a shell starts, so it follows upgrades.'

  static override examples = [
    'eval "$(<%= config.bin %> completion bash)"',
    'eval "$(<%= config.bin %> completion zsh)"',
    '<%= config.bin %> completion fish | source',
    '<%= config.bin %> completion powershell | Out-String | Invoke-Expression',
  ]

  static override args = {
    shell: Args.string({description: 'the shell', required: true, options: [...SHELLS]}),
  }

  async run(): Promise<void> {
    const {args} = await this.parse(Completion)
    const commands: CompletionCommand[] = this.config.commands
      .filter((c) => !c.hidden)
      .map((c) => ({
        id: c.id.replaceAll(':', ' '),
        summary: c.summary ?? c.description?.split('\n')[0],
        flags: Object.values(c.flags)
          .filter((f) => !f.hidden)
          .map((f) => ({
            name: f.name,
            summary: f.summary ?? f.description,
            takesValue: f.type === 'option',
            ...(f.type === 'option' && f.options ? {options: f.options} : {}),
            ...(f.type === 'option' && /path|file|config/.test(f.name) ? {file: true} : {}),
          })),
        ...(Object.values(c.args ?? {})[0]?.options ? {argOptions: Object.values(c.args)[0]!.options!} : {}),
        ...(Object.keys(c.args ?? {})[0] === 'environment' ? {argEnvironments: true} : {}),
      }))
    this.io.out.write(completionScript(args.shell as Shell, commands, this.config.bin, {environmentsDir: completionDir(currentPlatform())}))
  }
}
