/**
 * oclif's help, with three changes: descriptions are re-flowed (their source lines are joined inside a
 * paragraph, so oclif wraps them once at the terminal width instead of breaking every hard-wrapped line
 * again: the "ragged" help), the root help says how to get help and shell completion, and `help` and
 * `version` are listed with the commands (bin/run.js turns `ona help x` into `ona x --help`).
 */
import {Help, type Command} from '@oclif/core'

import {commandNotFound, wantsJson, writeError} from './lib/cli/usage.js'

/** Joins lines within each paragraph; blank lines, list items and indented (example) lines stay. */
export function reflow(text: string | undefined): string | undefined {
  if (text === undefined) return undefined
  return text
    .split(/\n{2,}/)
    .map((paragraph) => paragraph.replace(/\n(?![-*•]\s|\s)/g, ' '))
    .join('\n\n')
}

export default class OnaHelp extends Help {
  /** `ona help <typo>` gets the same short error and suggestion as `ona <typo>`, not oclif's. */
  override async showHelp(argv: string[]): Promise<void> {
    try {
      await super.showHelp(argv)
    } catch (error) {
      const subject = /^Command (.+) not found\.$/.exec(String((error as Error)?.message ?? ''))?.[1]
      if (subject === undefined) throw error
      const ids = this.config.commands.filter((c) => !c.hidden).map((c) => c.id.replaceAll(':', ' '))
      const failure = commandNotFound(subject.split(':'), [...ids, 'help', 'version'])
      writeError(failure, {stdout: (t) => void process.stdout.write(t), stderr: (t) => void process.stderr.write(t)}, wantsJson(argv))
      process.exitCode = failure.exitCode
    }
  }

  override async showCommandHelp(command: Command.Loadable): Promise<void> {
    const description = reflow(command.description)
    return super.showCommandHelp({...command, ...(description === undefined ? {} : {description})} as Command.Loadable)
  }

  protected override async showRootHelp(): Promise<void> {
    await super.showRootHelp()
    const bin = this.config.bin
    this.log(
      [
        'HELP',
        `  ${bin} help [COMMAND]   help for one command (also ${bin} COMMAND --help or -h)`,
        `  ${bin} version          the version of ${bin}, Node.js and the platform`,
        '',
        'SHELL COMPLETION',
        '  Add the line for your shell to its start-up file (~/.bashrc, ~/.zshrc,',
        '  ~/.config/fish/config.fish, $PROFILE):',
        `  bash        eval "$(${bin} completion bash)"`,
        `  zsh         eval "$(${bin} completion zsh)"`,
        `  fish        ${bin} completion fish | source`,
        `  PowerShell  ${bin} completion powershell | Out-String | Invoke-Expression`,
        '',
      ].join('\n'),
    )
  }
}
