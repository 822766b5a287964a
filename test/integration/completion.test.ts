/**
 * `ona completion <shell>` from the built CLI, run in the real shells: bash (always there), zsh and fish
 * when installed (.ci/run installs them), each asked what it completes for typed command lines. The
 * scripts are generated from the manifest, so commands added later complete without a change here; the
 * generator's text is locked by golden files in test/unit/completion.test.ts. PowerShell is not on Debian: its script is checked as text only.
 */
import {execFileSync, spawnSync} from 'node:child_process'
import {mkdtemp, rm, writeFile} from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'

import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {baseEnv, builtCli, runCli} from '../helpers/run-cli.js'
import {hasCommand as has} from '../helpers/tools.js'

const scripts: Record<string, string> = {}
let dir: string

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'ona-completion-'))
  if (!builtCli) return
  for (const shell of ['bash', 'zsh', 'fish', 'powershell']) {
    const result = await runCli(['completion', shell], {env: baseEnv(dir)})
    expect(result).toMatchObject({code: 0, stderr: ''})
    scripts[shell] = result.stdout
    await writeFile(path.join(dir, `ona.${shell}`), result.stdout)
  }
})
afterAll(async () => {
  await rm(dir, {recursive: true, force: true})
})

/** COMPREPLY of the bash function for the words typed (the last one is the word being completed). */
function bashComplete(words: string[]): string[] {
  const script = `source ${JSON.stringify(path.join(dir, 'ona.bash'))}; COMP_WORDS=(${words.map((w) => `'${w}'`).join(' ')}); COMP_CWORD=${words.length - 1}; _ona_completion; printf '%s\\n' "\${COMPREPLY[@]}"`
  return execFileSync('bash', ['--norc', '-c', script], {encoding: 'utf8'}).split('\n').filter((l) => l !== '')
}

const CASES: Array<[string, string[], string[]]> = [
  ['commands at the start', ['ona', ''], ['login', 'ssh-sync', 'preflight', 'completion', 'help', 'version']],
  ['a command from its prefix', ['ona', 'ssh-s'], ['ssh-sync']],
  ['flags of the command', ['ona', 'ssh-sync', '--d'], ['--dry-run']],
  ['values of a flag with options', ['ona', 'preflight', '--ide', ''], ['vscode', 'jetbrains', 'all', 'none']],
  ['commands after help', ['ona', 'help', 'who'], ['whoami']],
  ['the shells of completion', ['ona', 'completion', ''], ['bash', 'zsh', 'fish', 'powershell']],
]

describe.skipIf(!builtCli)('shell completion', () => {
  it.each(CASES)('bash completes %s', (_, words, expected) => {
    expect(bashComplete(words)).toEqual(expect.arrayContaining(expected))
  })

  it('bash completes nothing of its own after `--` (those words are ssh\'s)', () => {
    expect(bashComplete(['ona', 'ssh', 'abc', '--', '-'])).toEqual([])
  })

  it('bash registers the function for ona', () => {
    const out = execFileSync('bash', ['--norc', '-c', `source ${JSON.stringify(path.join(dir, 'ona.bash'))}; complete -p ona`], {encoding: 'utf8'})
    expect(out.trim()).toBe('complete -o default -F _ona_completion ona')
  })

  it.skipIf(!has('fish')).each(CASES)('fish completes %s', (_, words, expected) => {
    const line = words.join(' ')
    const out = execFileSync('fish', ['--no-config', '-c', `source ${JSON.stringify(path.join(dir, 'ona.fish'))}; complete -C ${JSON.stringify(line)}`], {encoding: 'utf8', env: {...process.env, HOME: dir}})
    const candidates = out.split('\n').filter((l) => l !== '').map((l) => l.split('\t')[0])
    expect(candidates).toEqual(expect.arrayContaining(expected))
    const typed = words.at(-1)!
    for (const c of candidates) expect(c!.startsWith(typed)).toBe(true)
  })

  // zsh completes through its bashcompinit layer, which calls the bash function in sh emulation and lets
  // compadd filter by prefix; a full widget needs a pseudo-terminal (zpty), so this checks the two halves.
  it.skipIf(!has('zsh'))('zsh loads the script, binds ona to the function, and the function offers the right words', () => {
    const file = JSON.stringify(path.join(dir, 'ona.zsh'))
    const probe = `source ${file}; print -r -- "$_comps[ona]"; emulate sh -c 'COMP_WORDS=(ona ssh-sync --d); COMP_CWORD=2; _ona_completion; printf "%s\\n" "\${COMPREPLY[@]}"'`
    const result = spawnSync('zsh', ['-f', '-c', probe], {encoding: 'utf8', env: {...process.env, HOME: dir, ZDOTDIR: dir}})
    expect(result.stderr).toBe('')
    const [binding, ...words] = result.stdout.split('\n').filter((l) => l !== '')
    expect(binding).toBe('_bash_complete -o default -F _ona_completion')
    expect(words).toContain('--dry-run')
    expect(words).toContain('--check')
    expect(words).not.toContain('--token-stdin')
  })

  it('PowerShell registers a native completer holding every command and flag', () => {
    const ps = scripts.powershell!
    expect(ps).toMatch(/^Register-ArgumentCompleter -Native -CommandName 'ona' -ScriptBlock \{$/m)
    for (const word of ["'ssh-sync'", "'--dry-run'", "'completion'", "'vscode'"]) expect(ps).toContain(word)
  })

})
