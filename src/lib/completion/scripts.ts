/**
 * Shell completion scripts for bash, zsh, fish and PowerShell, generated from the command list (the
 * oclif manifest, passed in by `ona completion`), so commands and flags added later complete without a
 * change here. Static scripts, evaluated at shell start (`eval "$(ona completion bash)"`), so a TAB
 * costs no Node start-up; they are regenerated with each new shell and so follow upgrades.
 *
 * The environment argument (`ona ssh <TAB>`, `ona doctor <TAB>`) completes from the names and ids of the
 * last listing of the API in use (completion/environments.ts keeps one plain text file per origin). The
 * scripts find that file themselves: the API URL as ona resolves it (`--api-url` on the line, then
 * ONA_API_URL, ONA_BASE_URL, GITPOD_BASE_URL, the default), turned into the file name as originFileName
 * does. They read its lines as data, offer only the words of the safe shape again, and never evaluate them.
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
  /** The first argument is an environment: complete it from the cached listing. */
  argEnvironments?: boolean
}

export interface CompletionOptions {
  /** Where the per-origin listings are (completion/environments.ts completionDir); absent: no environment names. */
  environmentsDir?: string
}

/** The API URL when none is given, as resolveApiUrl has it (api/base-url.ts). */
const DEFAULT_API_URL = 'https://app.ona.com/api'

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

/**
 * The bash function that adds the cached environment words to COMPREPLY: only for the first argument after
 * the command (`$_ona_n` is where its words begin; `$_ona_e` lists its flags that take a value), only lines
 * of the safe shape, compared as literal text with the word being typed.
 */
function bashEnvironments(fn: string, dir: string): string[] {
  return [
    `${fn}() {`,
    `  local d=${sq(dir)} i w u="" k line n=0`,
    '  [[ "$cur" == -* || "$prev" == "=" || "${COMP_WORDS[1]}" == "help" ]] && return 0',
    '  for ((i = _ona_n; i < COMP_CWORD; i++)); do',
    '    w="${COMP_WORDS[i]}"',
    '    if [[ "$w" == -* ]]; then',
    '      if [[ "${COMP_WORDS[i+1]}" == "=" ]]; then ((i += 2)); elif [[ "$w" != *=* && "$_ona_e" == *" $w "* ]]; then ((i += 1)); fi',
    '      continue',
    '    fi',
    '    ((n += 1))',
    '  done',
    '  ((n == 0)) || return 0',
    '  for ((i = 1; i < COMP_CWORD; i++)); do',
    '    case "${COMP_WORDS[i]}" in',
    '      --api-url) w="${COMP_WORDS[i+1]}"; [[ "$w" == "=" ]] && w="${COMP_WORDS[i+2]}"; u="$w" ;;',
    '      --api-url=*) u="${COMP_WORDS[i]#--api-url=}" ;;',
    '    esac',
    '  done',
    `  u="\${u:-\${ONA_API_URL:-\${ONA_BASE_URL:-\${GITPOD_BASE_URL:-${DEFAULT_API_URL}}}}}"`,
    '  w="${u#*://}"',
    '  k="${u%%://*}://${w%%/*}"',
    '  [[ "$k" == *[[:upper:]]* ]] && k="$(printf \'%s\' "$k" | tr \'[:upper:]\' \'[:lower:]\')"',
    '  case "$k" in https://*:443) k="${k%:443}" ;; http://*:80) k="${k%:80}" ;; esac',
    '  k="${k%%://*}_${k#*://}"',
    '  k="${k//:/_}"',
    '  [[ -r "$d/$k" ]] || return 0',
    '  while IFS= read -r line || [[ -n "$line" ]]; do',
    '    [[ "$line" == [A-Za-z0-9]* && "$line" != *[!A-Za-z0-9._@+-]* && "$line" == "$cur"* ]] && COMPREPLY+=("$line")',
    '  done < "$d/$k"',
    '  return 0',
    '}',
  ]
}

function bashLike(commands: readonly CompletionCommand[], bin: string, fn: string, options: CompletionOptions = {}): string {
  const nodes = tree(commands)
  const environments = options.environmentsDir === undefined ? undefined : `_${bin}_environments`
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
    const valueFlags = (node.command?.flags ?? []).filter((f) => f.takesValue).map((f) => `--${f.name}`)
    const names = environments && node.command?.argEnvironments ? [`      _ona_e=${sq(` ${valueFlags.join(' ')} `)}`] : []
    return [
      `    ${sq(node.path)})`,
      ...(valueCases.length > 0 ? ['      case "$prev" in', ...valueCases, '      esac'] : []),
      ...names,
      `      _ona_w=${sq(words.join(' '))} ;;`,
    ].join('\n')
  })
  return `${[
    ...(environments ? bashEnvironments(environments, options.environmentsDir!) : []),
    // Variable names avoid zsh's specials (`path` is $PATH there, `words` belongs to compsys).
    `${fn}() {`,
    `  local cur="\${COMP_WORDS[COMP_CWORD]}" prev="\${COMP_WORDS[COMP_CWORD-1]}" _ona_p="" _ona_w=""${environments ? ' _ona_e="" _ona_n=1' : ''} i w`,
    '  for ((i = 1; i < COMP_CWORD; i++)); do [[ "${COMP_WORDS[i]}" == "--" ]] && return 0; done',
    '  for ((i = 1; i < COMP_CWORD; i++)); do',
    '    w="${COMP_WORDS[i]}"',
    '    [[ "$w" == -* ]] && continue',
    '    [[ $i -eq 1 && "$w" == "help" ]] && continue',
    '    case "${_ona_p:+$_ona_p }$w" in',
    `      ${paths.map(sq).join('|')}) _ona_p="\${_ona_p:+$_ona_p }$w"${environments ? '; _ona_n=$((i + 1))' : ''} ;;`,
    '      *) break ;;',
    '    esac',
    '  done',
    '  case "$_ona_p" in',
    ...cases,
    '  esac',
    '  COMPREPLY=($(compgen -W "$_ona_w" -- "$cur"))',
    ...(environments ? [`  [[ -n "$_ona_e" ]] && ${environments}`] : []),
    '}',
  ].join('\n')}\ncomplete -o default -F ${fn} ${bin}\n`
}

export function bashScript(commands: readonly CompletionCommand[], bin = 'ona', options: CompletionOptions = {}): string {
  return `# ${bin} completion for bash. Add to ~/.bashrc:  eval "$(${bin} completion bash)"\n${bashLike(commands, bin, `_${bin}_completion`, options)}`
}

/** zsh runs the bash function through bashcompinit (shipped with zsh), so both complete alike. */
export function zshScript(commands: readonly CompletionCommand[], bin = 'ona', options: CompletionOptions = {}): string {
  return `# ${bin} completion for zsh. Add to ~/.zshrc:  eval "$(${bin} completion zsh)"\n(( $+functions[compdef] )) || { autoload -Uz compinit && compinit }\nautoload -U +X bashcompinit && bashcompinit\n${bashLike(commands, bin, `_${bin}_completion`, options)}`
}

/**
 * The fish function that prints the cached environment words for the API in use (the same file as bash's),
 * for the first argument after the command only; its arguments are the command's flags that take a value.
 */
function fishEnvironments(bin: string, dir: string): string[] {
  return [
    `function __${bin}_environments`,
    '  set -l words (commandline -opc)',
    '  test "$words[2]" = help; and return 0',
    `  set -l n (count (string split ' ' -- (__${bin}_path)))`,
    '  set -l skip 0',
    '  for w in $words[2..-1]',
    '    if test $skip = 1; set skip 0; continue; end',
    "    if string match -q -- '-*' $w",
    '      if contains -- $w $argv; set skip 1; end',
    '      continue',
    '    end',
    '    set n (math $n - 1)',
    '    test $n -lt 0; and return 0',
    '  end',
    '  set -l u',
    '  for i in (seq 2 (count $words))',
    '    switch $words[$i]',
    '      case --api-url',
    '        set -l j (math $i + 1)',
    '        if test $j -le (count $words); set u $words[$j]; end',
    "      case '--api-url=*'",
    "        set u (string replace -- '--api-url=' '' $words[$i])",
    '    end',
    '  end',
    `  for v in $ONA_API_URL $ONA_BASE_URL $GITPOD_BASE_URL ${DEFAULT_API_URL}`,
    '    if test -z "$u"; set u $v; end',
    '  end',
    "  set -l k (string lower -- $u | string replace -r '^([^:/]*)://([^/]*).*$' '$1://$2')",
    "  set k (string replace -r '^(https://.*):443$' '$1' -- $k | string replace -r '^(http://.*):80$' '$1' | string replace '://' '_' | string replace -a ':' '_')",
    `  set -l f ${sq(dir)}/$k`,
    '  test -r "$f"; or return 0',
    "  string match -r '^[A-Za-z0-9][A-Za-z0-9._@+-]*$' < $f",
    'end',
  ]
}

export function fishScript(commands: readonly CompletionCommand[], bin = 'ona', options: CompletionOptions = {}): string {
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
    ...(options.environmentsDir === undefined ? [] : fishEnvironments(bin, options.environmentsDir)),
  )
  for (const node of nodes.values()) {
    const cond = `'test (__${bin}_path) = ${node.path === '' ? '""' : `"${node.path}"`}'`
    for (const [word, summary] of node.children) lines.push(`complete -c ${bin} -n ${cond} -a ${sq(word)} -d ${sq(oneLine(summary))}`)
    if (node.command?.argOptions) lines.push(`complete -c ${bin} -n ${cond} -a ${sq(node.command.argOptions.join(' '))}`)
    if (node.command?.argEnvironments && options.environmentsDir !== undefined) {
      const valueFlags = node.command.flags.filter((f) => f.takesValue).map((f) => ` --${f.name}`).join('')
      lines.push(`complete -c ${bin} -n ${cond} -a '(__${bin}_environments${valueFlags})' -d 'environment'`)
    }
    for (const flag of node.command?.flags ?? []) {
      const value = flag.options ? ` -x -a ${sq(flag.options.join(' '))}` : flag.file ? ' -r -F' : flag.takesValue ? ' -x' : ''
      lines.push(`complete -c ${bin} -n ${cond} -l ${flag.name}${value} -d ${sq(oneLine(flag.summary))}`)
    }
  }
  return `${lines.join('\n')}\n`
}

export function powershellScript(commands: readonly CompletionCommand[], bin = 'ona', options: CompletionOptions = {}): string {
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
  const environmentPaths = [...nodes.values()].filter((n) => n.command?.argEnvironments).map((n) => ps(n.path))
  // The cached environment words for the API in use, for the environment argument (the same file as bash's).
  const environments =
    options.environmentsDir === undefined || environmentPaths.length === 0
      ? []
      : [
          `  if (@(${environmentPaths.join(', ')}) -contains $path -and -not $wordToComplete.StartsWith('-')) {`,
          '    $u = $null',
          "    for ($i = 0; $i -lt $typed.Count; $i++) { if ($typed[$i] -eq '--api-url' -and $i + 1 -lt $typed.Count) { $u = $typed[$i + 1] } elseif ($typed[$i] -like '--api-url=*') { $u = $typed[$i].Substring(10) } }",
          `    foreach ($v in @($env:ONA_API_URL, $env:ONA_BASE_URL, $env:GITPOD_BASE_URL, ${ps(DEFAULT_API_URL)})) { if (-not $u) { $u = $v } }`,
          '    $uri = $null',
          "    if ([uri]::TryCreate($u, 'Absolute', [ref]$uri)) {",
          "      $port = if ($uri.IsDefaultPort) { '' } else { \":$($uri.Port)\" }",
          `      $f = Join-Path ${ps(options.environmentsDir)} ("$($uri.Scheme)_$($uri.Host)$port".ToLower().Replace(':', '_'))`,
          '      if (Test-Path -LiteralPath $f) {',
          "        Get-Content -LiteralPath $f | Where-Object { $_ -cmatch '^[A-Za-z0-9][A-Za-z0-9._@+-]*$' -and $_.StartsWith($wordToComplete) } | ForEach-Object { [System.Management.Automation.CompletionResult]::new($_, $_, 'ParameterValue', 'environment') }",
          '      }',
          '    }',
          '  }',
        ]
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
    ...environments,
    '  $tree[$path] | Where-Object { $_[0] -like "$wordToComplete*" } | ForEach-Object { [System.Management.Automation.CompletionResult]::new($_[0], $_[0], \'ParameterValue\', $_[1]) }',
    '}',
  ].join('\n')}\n`
}

export function completionScript(shell: Shell, commands: readonly CompletionCommand[], bin = 'ona', options: CompletionOptions = {}): string {
  switch (shell) {
    case 'bash':
      return bashScript(commands, bin, options)
    case 'zsh':
      return zshScript(commands, bin, options)
    case 'fish':
      return fishScript(commands, bin, options)
    case 'powershell':
      return powershellScript(commands, bin, options)
  }
}
