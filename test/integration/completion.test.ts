/**
 * `ona completion <shell>` from the built CLI, run in the real shells: bash (always there), zsh and fish
 * when installed (.ci/run installs them), each asked what it completes for typed command lines. The
 * scripts are generated from the manifest, so commands added later complete without a change here; the
 * generator's text is locked by golden files in test/unit/completion.test.ts. PowerShell is not on Debian: its script is checked as text only.
 * Environment names complete from the listing an `ona ssh-sync` against the simulator left behind, with no
 * request to the simulator per TAB, and hostile names (shell code) neither run nor get offered.
 */
import {execFileSync, spawnSync} from 'node:child_process'
import {existsSync} from 'node:fs'
import {mkdir, mkdtemp, readFile, readdir, rm, stat, writeFile} from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'

import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {startSimulator} from '../../src/lib/simulator/server.js'
import {baseEnv, builtCli, repoRoot, runCli} from '../helpers/run-cli.js'
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
function bashComplete(words: string[], env?: NodeJS.ProcessEnv): string[] {
  const script = `source ${JSON.stringify(path.join(dir, 'ona.bash'))}; COMP_WORDS=(${words.map((w) => `'${w}'`).join(' ')}); COMP_CWORD=${words.length - 1}; _ona_completion; printf '%s\\n' "\${COMPREPLY[@]}"`
  return execFileSync('bash', ['--norc', '-c', script], {encoding: 'utf8', cwd: dir, ...(env ? {env} : {})}).split('\n').filter((l) => l !== '')
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

const A = '0199ec15-59d3-7e92-8e22-8cb6c7ba4df7'
const WEB = '0199ec15-8a41-7c10-9d3b-2f6e1b7a9c02'
const DOCS = '0199ec15-b2c7-7f55-a1e0-5d9c3e8f4a13'
const OLD = '0199ec15-c3d8-7a66-b2f1-6e0d4f9a5b24'
const DATA = '0199ec15-d4e9-7b77-83a2-7f1e5a0b6c35'
/** Names as an attacker with write access to environment names would pick them: each would run `touch` if evaluated. */
const HOSTILE = ['$(touch PWNED)', '`touch PWNED`', 'x;touch PWNED']

describe.skipIf(!builtCli)('environment names (ona ssh <TAB>) from the last listing', () => {
  it('after a sync against the simulator, every shell offers the names and ids, asking the API nothing per TAB, and runs no hostile name', async () => {
    const sim = await startSimulator({seed: path.join(repoRoot, 'fixtures', 'environments.json'), token: `ona_pat_${'c0mpl3te'.repeat(5)}`})
    try {
      sim.renameEnvironment(WEB, HOSTILE[0]!)
      sim.renameEnvironment(DOCS, HOSTILE[1]!)
      sim.renameEnvironment(OLD, HOSTILE[2]!)
      // A name two environments share would be ambiguous for `ona ssh`: only their ids are offered.
      sim.renameEnvironment(DATA, 'api-backend')
      await mkdir(path.join(dir, '.ssh'), {recursive: true, mode: 0o700})
      const env = baseEnv(dir, {ONA_API_URL: sim.url, ONA_TOKEN: sim.token, ONA_KEYRING: 'off'})
      const sync = await runCli(['ssh-sync'], {env})
      expect(sync.stderr).not.toMatch(/error:/)
      expect(sync.code).toBe(0)
      const cache = path.join(dir, '.cache', 'ona', 'completion', `http_127.0.0.1_${new URL(sim.url).port}`)
      const synced = (await readFile(cache, 'utf8')).split('\n')
      expect(synced).toEqual(expect.arrayContaining([A, DATA, WEB]))
      expect(synced).not.toContain('api-backend')
      // Any listing refreshes it: environment list after a rename.
      sim.renameEnvironment(DATA, 'data-pipeline')
      const listed = await runCli(['environment', 'list'], {env})
      expect(listed.code).toBe(0)
      expect((await stat(cache)).mode & 0o777).toBe(0o600)
      expect((await readFile(cache, 'utf8')).split('\n')).toEqual(expect.arrayContaining(['api-backend', 'data-pipeline', A]))

      const requests = sim.requests.length
      const shellEnv = {...baseEnv(dir), ONA_API_URL: sim.url}
      const offered = bashComplete(['ona', 'ssh', ''], shellEnv)
      expect(offered).toEqual(expect.arrayContaining(['api-backend', 'data-pipeline', A, WEB, DOCS, OLD]))
      expect(offered.filter((w) => !w.startsWith('-')).every((w) => /^[A-Za-z0-9][A-Za-z0-9._@+-]*$/.test(w))).toBe(true)
      expect(bashComplete(['ona', 'ssh', 'data'], shellEnv)).toEqual(['data-pipeline'])
      expect(bashComplete(['ona', 'doctor', '0199ec15-59'], shellEnv)).toEqual([A])
      // The environment is one argument: after it come ssh's, and a flag's value is the flag's.
      expect(bashComplete(['ona', 'ssh', 'api-backend', ''], shellEnv).filter((w) => !w.startsWith('-'))).toEqual([])
      expect(bashComplete(['ona', 'ssh', '--runner', 'enterprise', 'api'], shellEnv)).toEqual(['api-backend'])
      expect(bashComplete(['ona', 'ssh', '--runner', ''], shellEnv)).toEqual(['standard', 'enterprise'])
      // Another API (flag or variable) has its own listing: none yet.
      expect(bashComplete(['ona', 'ssh', 'api'], baseEnv(dir))).toEqual([])
      expect(bashComplete(['ona', 'ssh', '--api-url', 'https://ona.corp.example/api', 'api'], shellEnv)).toEqual([])
      expect(bashComplete(['ona', 'ssh', '--api-url', sim.url.replace('http://', 'HTTP://'), 'api'], baseEnv(dir))).toEqual(['api-backend'])
      if (has('zsh')) {
        const probe = `source ${JSON.stringify(path.join(dir, 'ona.zsh'))}; emulate sh -c 'COMP_WORDS=(ona ssh ""); COMP_CWORD=2; _ona_completion; printf "%s\\n" "\${COMPREPLY[@]}"'`
        const result = spawnSync('zsh', ['-f', '-c', probe], {encoding: 'utf8', cwd: dir, env: {...shellEnv, ZDOTDIR: dir}})
        expect(result.stderr).toBe('')
        expect(result.stdout.split('\n')).toEqual(expect.arrayContaining(['api-backend', A, WEB]))
      }
      if (has('fish')) {
        const out = execFileSync('fish', ['--no-config', '-c', `source ${JSON.stringify(path.join(dir, 'ona.fish'))}; complete -C 'ona ssh '`], {encoding: 'utf8', cwd: dir, env: shellEnv})
        const candidates = out.split('\n').map((l) => l.split('\t')[0])
        expect(candidates).toEqual(expect.arrayContaining(['api-backend', A, WEB]))
        expect(candidates.filter((c) => c !== '' && !c!.startsWith('-')).every((c) => /^[A-Za-z0-9][A-Za-z0-9._@+-]*$/.test(c!))).toBe(true)
        const fish = (line: string) => execFileSync('fish', ['--no-config', '-c', `source ${JSON.stringify(path.join(dir, 'ona.fish'))}; complete -C '${line}'`], {encoding: 'utf8', cwd: dir, env: shellEnv}).split('\n').map((l) => l.split('\t')[0]).filter((c) => c !== '' && !c!.startsWith('-'))
        expect(fish('ona ssh --runner enterprise api')).toEqual(['api-backend'])
        expect(fish('ona ssh api-backend ')).toEqual([])
        expect(fish('ona help ssh ')).toEqual([])
      }
      // No TAB asked the API, and no name ran as code anywhere the shells were.
      expect(sim.requests.length).toBe(requests)
      expect(existsSync(path.join(dir, 'PWNED'))).toBe(false)
      expect(existsSync(path.join(repoRoot, 'PWNED'))).toBe(false)
    } finally {
      await sim.close()
    }
  })

  it('reads a tampered listing file as data: hostile lines neither run nor get offered', async () => {
    const listing = path.join(dir, '.cache', 'ona', 'completion', 'https_tampered.example')
    await mkdir(path.dirname(listing), {recursive: true})
    await writeFile(listing, ['good-one', ...HOSTILE, '-oProxyCommand=touch PWNED', 'g*', 'good two', ''].join('\n'), {mode: 0o600})
    const env = {...baseEnv(dir), ONA_API_URL: 'https://tampered.example/api'}
    expect(bashComplete(['ona', 'ssh', ''], env).filter((w) => !w.startsWith('--'))).toEqual(['good-one'])
    expect(bashComplete(['ona', 'ssh', 'g'], env)).toEqual(['good-one'])
    if (has('fish')) {
      const out = execFileSync('fish', ['--no-config', '-c', `source ${JSON.stringify(path.join(dir, 'ona.fish'))}; complete -C 'ona ssh g'`], {encoding: 'utf8', cwd: dir, env})
      expect(out.split('\n').map((l) => l.split('\t')[0]).filter((c) => c !== '')).toEqual(['good-one'])
    }
    expect((await readdir(dir)).filter((f) => f.includes('PWNED'))).toEqual([])
  })

  it('PowerShell reads the same per-origin file, checking each line', () => {
    const ps = scripts.powershell!
    expect(ps).toContain(`Join-Path '${path.join(dir, '.cache', 'ona', 'completion')}'`)
    expect(ps).toContain("-cmatch '^[A-Za-z0-9][A-Za-z0-9._@+-]*$'")
    expect(ps).toMatch(/@\(('[a-z ]+', )*'ssh'(, '[a-z ]+')*\) -contains \$path/)
  })
})
