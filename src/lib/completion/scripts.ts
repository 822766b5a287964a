/**
 * Shell completion scripts for bash, zsh, fish and PowerShell, generated from the command list (the
 * oclif manifest, passed in by `ona completion`), so commands and flags added later complete without a
 * change here. Static scripts, evaluated at shell start (`eval "$(ona completion bash)"`), so a TAB
 * costs no Node start-up; they are regenerated with each new shell and so follow upgrades.
 */

export interface CompletionFlag {
  name: string
  summary?: string
  /** The flag takes a value (`--api-url <url>`). */
  takesValue: boolean
  /** Allowed values, completed after the flag. */
  options?: readonly string[]
  /** The value is a file path. */
  file?: boolean
}

export interface CompletionCommand {
  /** Words as typed: `ssh-sync`, `environment list`. */
  id: string
  summary?: string
  flags: CompletionFlag[]
  /** Values of the first argument, when it has a fixed set (`ona completion <shell>`). */
  argOptions?: readonly string[]
}

export type Shell = 'bash' | 'zsh' | 'fish' | 'powershell'
export const SHELLS: readonly Shell[] = ['bash', 'zsh', 'fish', 'powershell']

/** Words that are not commands but that the launcher understands (`ona help x`, `ona version`). */
const BUILTIN: CompletionCommand[] = [
  {id: 'help', summary: 'help for one command', flags: []},
  {id: 'version', summary: 'the version of ona, Node.js and the platform', flags: []},
]

interface Node {
  /** The command path: '' for the root, `environment` for a topic. */
  path: string
  children: Map<string, string>
  command?: CompletionCommand
}

/** Command paths as a tree: '' -> {login, ssh-sync, environment}, 'environment' -> {list}. */
function tree(commands: readonly CompletionCommand[]): Map<string, Node> {
  const nodes = new Map<string, Node>([['', {path: '', children: new Map()}]])
  for (const command of [...BUILTIN, ...commands].sort((a, b) => a.id.localeCompare(b.id))) {
    const words = command.id.split(' ')
    for (let i = 0; i < words.length; i++) {
      const parent = words.slice(0, i).join(' ')
      const path = words.slice(0, i + 1).join(' ')
      if (!nodes.has(path)) nodes.set(path, {path, children: new Map()})
      const summary = i === words.length - 1 ? (command.summary ?? '') : `${words[i]} commands`
      if (!nodes.get(parent)!.children.has(words[i]!)) nodes.get(parent)!.children.set(words[i]!, summary)
    }
    nodes.get(command.id)!.command = command
  }
  return nodes
}

const oneLine = (text: string | undefined) => (text ?? '').replace(/\s+/g, ' ').trim()
const sq = (text: string) => `'${text.replace(/'/g, `'\\''`)}'`

function flagWords(node: Node): string[] {
  return (node.command?.flags ?? []).map((f) => `--${f.name}`)
}

function bashLike(commands: readonly CompletionCommand[], bin: string, fn: string): string {
  const nodes = tree(commands)
  const paths = [...nodes.keys()].filter((p) => p !== '')
  const cases = [...nodes.values()].map((node) => {
    const valueCases = (node.command?.flags ?? [])
      .filter((f) => f.takesValue)
      .map((f) => {
        if (f.options) return `        --${f.name}) COMPREPLY=($(compgen -W ${sq(f.options.join(' '))} -- "$cur")); return ;;`
        if (f.file) return `        --${f.name}) COMPREPLY=($(compgen -f -- "$cur")); return ;;`
        return `        --${f.name}) return ;;`
      })
    const words = [...node.children.keys(), ...(node.command?.argOptions ?? []), ...flagWords(node)]
    return [
      `    ${sq(node.path)})`,
      ...(valueCases.length > 0 ? ['      case "$prev" in', ...valueCases, '      esac'] : []),
      `      _ona_w=${sq(words.join(' '))} ;;`,
    ].join('\n')
  })
  return `${[
    // Variable names avoid zsh's specials (`path` is $PATH there, `words` belongs to compsys).
    `${fn}() {`,
    '  local cur="${COMP_WORDS[COMP_CWORD]}" prev="${COMP_WORDS[COMP_CWORD-1]}" _ona_p="" _ona_w="" i w',
    '  for ((i = 1; i < COMP_CWORD; i++)); do [[ "${COMP_WORDS[i]}" == "--" ]] && return 0; done',
    '  for ((i = 1; i < COMP_CWORD; i++)); do',
    '    w="${COMP_WORDS[i]}"',
    '    [[ "$w" == -* ]] && continue',
    '    [[ $i -eq 1 && "$w" == "help" ]] && continue',
    '    case "${_ona_p:+$_ona_p }$w" in',
    `      ${paths.map(sq).join('|')}) _ona_p="\${_ona_p:+$_ona_p }$w" ;;`,
    '      *) break ;;',
    '    esac',
    '  done',
    '  case "$_ona_p" in',
    ...cases,
    '  esac',
    '  COMPREPLY=($(compgen -W "$_ona_w" -- "$cur"))',
    '}',
  ].join('\n')}\ncomplete -o default -F ${fn} ${bin}\n`
}

export function bashScript(commands: readonly CompletionCommand[], bin = 'ona'): string {
  return `# ${bin} completion for bash. Add to ~/.bashrc:  eval "$(${bin} completion bash)"\n${bashLike(commands, bin, `_${bin}_completion`)}`
}

/** zsh runs the bash function through bashcompinit (shipped with zsh), so both complete alike. */
export function zshScript(commands: readonly CompletionCommand[], bin = 'ona'): string {
  return `# ${bin} completion for zsh. Add to ~/.zshrc:  eval "$(${bin} completion zsh)"\n(( $+functions[compdef] )) || { autoload -Uz compinit && compinit }\nautoload -U +X bashcompinit && bashcompinit\n${bashLike(commands, bin, `_${bin}_completion`)}`
}

export function fishScript(commands: readonly CompletionCommand[], bin = 'ona'): string {
  const nodes = tree(commands)
  const lines = [`# ${bin} completion for fish. Add to ~/.config/fish/config.fish:  ${bin} completion fish | source`, `complete -c ${bin} -f`]
  const allPaths = [...nodes.keys()].filter((p) => p !== '')
  // The command path typed so far, as the bash script computes it.
  lines.push(
    `function __${bin}_path`,
    '  set -l words (commandline -opc)',
    '  set -l path ""',
    '  set -l rest $words[2..-1]',
    '  if test "$rest[1]" = help; set -e rest[1]; end',
    '  for w in $rest',
    '    if string match -q -- "-*" $w; continue; end',
    '    if test -n "$path"; set candidate "$path $w"; else; set candidate $w; end',
    `    if contains -- $candidate ${allPaths.map(sq).join(' ')}; set path $candidate; else; break; end`,
    '  end',
    '  echo $path',
    'end',
  )
  for (const node of nodes.values()) {
    const cond = `'test (__${bin}_path) = ${node.path === '' ? '""' : `"${node.path}"`}'`
    for (const [word, summary] of node.children) lines.push(`complete -c ${bin} -n ${cond} -a ${sq(word)} -d ${sq(oneLine(summary))}`)
    if (node.command?.argOptions) lines.push(`complete -c ${bin} -n ${cond} -a ${sq(node.command.argOptions.join(' '))}`)
    for (const flag of node.command?.flags ?? []) {
      const value = flag.options ? ` -x -a ${sq(flag.options.join(' '))}` : flag.file ? ' -r -F' : flag.takesValue ? ' -x' : ''
      lines.push(`complete -c ${bin} -n ${cond} -l ${flag.name}${value} -d ${sq(oneLine(flag.summary))}`)
    }
  }
  return `${lines.join('\n')}\n`
}

export function powershellScript(commands: readonly CompletionCommand[], bin = 'ona'): string {
  const nodes = tree(commands)
  const ps = (text: string) => `'${text.replace(/'/g, "''")}'`
  const entries = [...nodes.values()].map((node) => {
    const items = [
      ...[...node.children].map(([word, summary]) => `@(${ps(word)}, ${ps(oneLine(summary) || word)})`),
      ...(node.command?.argOptions ?? []).map((v) => `@(${ps(v)}, ${ps(v)})`),
      ...(node.command?.flags ?? []).map((f) => `@(${ps(`--${f.name}`)}, ${ps(oneLine(f.summary) || f.name)})`),
    ]
    return `  ${ps(node.path)} = @(${items.join(', ')})`
  })
  const values = [...nodes.values()].flatMap((node) =>
    (node.command?.flags ?? []).filter((f) => f.options).map((f) => `  ${ps(`${node.path} --${f.name}`)} = @(${f.options!.map(ps).join(', ')})`),
  )
  return `${[
    `# ${bin} completion for PowerShell. Add to $PROFILE:  ${bin} completion powershell | Out-String | Invoke-Expression`,
    `Register-ArgumentCompleter -Native -CommandName ${ps(bin)} -ScriptBlock {`,
    '  param($wordToComplete, $commandAst, $cursorPosition)',
    '  $tree = @{',
    ...entries,
    '  }',
    '  $values = @{',
    ...values,
    '  }',
    '  $typed = @($commandAst.CommandElements | Select-Object -Skip 1 | ForEach-Object { $_.ToString() })',
    "  if ($wordToComplete -ne '' -and $typed.Count -gt 0) { $typed = @($typed | Select-Object -SkipLast 1) }",
    "  $path = ''",
    "  if ($typed.Count -gt 0 -and $typed[0] -eq 'help') { $typed = @($typed | Select-Object -Skip 1) }",
    '  foreach ($w in $typed) {',
    "    if ($w -eq '--') { return }",
    "    if ($w.StartsWith('-')) { continue }",
    "    $next = if ($path) { \"$path $w\" } else { $w }",
    '    if ($tree.ContainsKey($next)) { $path = $next } else { break }',
    '  }',
    "  $last = if ($typed.Count -gt 0) { $typed[-1] } else { '' }",
    '  if ($values.ContainsKey("$path $last")) {',
    '    $values["$path $last"] | Where-Object { $_ -like "$wordToComplete*" } | ForEach-Object { [System.Management.Automation.CompletionResult]::new($_, $_, \'ParameterValue\', $_) }',
    '    return',
    '  }',
    '  $tree[$path] | Where-Object { $_[0] -like "$wordToComplete*" } | ForEach-Object { [System.Management.Automation.CompletionResult]::new($_[0], $_[0], \'ParameterValue\', $_[1]) }',
    '}',
  ].join('\n')}\n`
}

export function completionScript(shell: Shell, commands: readonly CompletionCommand[], bin = 'ona'): string {
  switch (shell) {
    case 'bash':
      return bashScript(commands, bin)
    case 'zsh':
      return zshScript(commands, bin)
    case 'fish':
      return fishScript(commands, bin)
    case 'powershell':
      return powershellScript(commands, bin)
  }
}
