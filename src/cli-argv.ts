/**
 * The help and version spellings people expect, turned into the one oclif answers (and that bin/run.js
 * can serve from its cache without loading oclif): `ona help [command...]` and `ona <command> -h` become
 * `ona <command> --help`, `ona -h` and `ona help` become `ona --help`, `ona version` becomes
 * `ona --version`. Nothing after `--` is touched (`ona ssh <id> -- -h` is ssh's `-h`).
 * Plain module without imports: the launcher loads it before anything else.
 */
export function rewriteArgv(argv: readonly string[]): string[] {
  if (argv.length === 1 && argv[0] === 'version') return ['--version']
  if (argv[0] === 'help') {
    const words: string[] = []
    for (const word of argv.slice(1)) {
      if (word.startsWith('-')) break
      words.push(word)
    }
    return [...words, '--help', ...(argv.includes('--json') ? ['--json'] : [])]
  }
  const end = argv.indexOf('--')
  const head = end === -1 ? [...argv] : argv.slice(0, end)
  const tail = end === -1 ? [] : argv.slice(end)
  if (!head.includes('-h')) return [...argv]
  return [...head.filter((a) => a !== '-h' && a !== '--help'), '--help', ...tail]
}
