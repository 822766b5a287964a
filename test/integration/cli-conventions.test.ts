/**
 * The CLI conventions users expect from gh and the oclif CLIs, through the built CLI: help every way,
 * `ona version`, suggestions for typos, and every usage error a short `error:` + `hint:` (exit 2) or a
 * JSON error with --json, never echoing a value that could be a secret. Human output is locked in golden
 * files (test/golden/, UPDATE_GOLDEN=1 regenerates them); commands added later get theirs automatically.
 */
import {spawn} from 'node:child_process'
import {readFileSync} from 'node:fs'
import {mkdtemp, rm} from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'

import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {expectGolden, normalise} from '../helpers/golden.js'
import {baseEnv, binRun, builtCli, repoRoot, runCli} from '../helpers/run-cli.js'

const manifest = builtCli ? (JSON.parse(readFileSync(path.join(repoRoot, 'oclif.manifest.json'), 'utf8')) as {commands: Record<string, {hidden?: boolean}>}) : {commands: {}}
const ids = Object.keys(manifest.commands).sort()
const visibleIds = ids.filter((id) => !manifest.commands[id]!.hidden)
const SECRET = 'ona_pat_Zm9vYmFyYmF6cXV4MTIzNDU2Nzg5MA'

let home: string
beforeAll(async () => {
  home = await mkdtemp(path.join(os.tmpdir(), 'ona-conventions-'))
})
afterAll(async () => {
  await rm(home, {recursive: true, force: true})
})

const ona = (args: string[], extra: Record<string, string> = {}) => runCli(args, {env: baseEnv(home, {ONA_KEYRING: 'off', ...extra})})

describe.skipIf(!builtCli)('help, version and completion (built CLI)', () => {
  it('answers `ona help`, `ona -h`, `ona --help` and bare `ona` with the same root help, offering help and completion', async () => {
    const forms = await Promise.all([['help'], ['-h'], ['--help']].map((args) => ona(args)))
    for (const form of forms) {
      expect(form.code).toBe(0)
      expect(form.stderr).toBe('')
      expect(form.stdout).toBe(forms[2]!.stdout)
    }
    expect(forms[0]!.stdout).toContain('ona help [COMMAND]')
    for (const shell of ['bash', 'zsh', 'fish', 'powershell']) expect(forms[0]!.stdout).toContain(`ona completion ${shell}`)
    for (const line of forms[0]!.stdout.split('\n')) expect(line.length, line).toBeLessThanOrEqual(80)
    expectGolden('help/root.txt', normalise(forms[0]!.stdout))
  })

  it('answers `ona version` like `ona --version`', async () => {
    const [word, flag] = await Promise.all([ona(['version']), ona(['--version'])])
    expect(word).toMatchObject({code: 0, stderr: ''})
    expect(word.stdout).toBe(flag.stdout)
    expect(word.stdout).toMatch(/^ona-ssh\/\d+\.\d+\.\d+ /)
  })

  it.each(ids.map((id) => [id]))('shows the same help for `ona help %s`, `-h` and `--help`, locked by a golden file', async (id) => {
    const words = id.split(':')
    const [viaHelp, viaH, viaFlag] = await Promise.all([ona(['help', ...words]), ona([...words, '-h']), ona([...words, '--help'])])
    expect(viaFlag.code).toBe(0)
    expect(viaFlag.stderr).toBe('')
    expect(viaHelp.stdout).toBe(viaFlag.stdout)
    expect(viaH.stdout).toBe(viaFlag.stdout)
    // Regression: the ssh-sync usage line rendered its exclusive flags as `[--watch |  |  | ...]`.
    expect(viaFlag.stdout).not.toMatch(/\|\s+\|/)
    // oclif wraps everything but examples at 80 columns; ours are kept short by hand.
    const beforeExamples = viaFlag.stdout.split('\nEXAMPLES\n')[0]!
    for (const line of beforeExamples.split('\n')) expect(line.length, `${id}: ${line}`).toBeLessThanOrEqual(80)
    expectGolden(`help/${words.join('-')}.txt`, normalise(viaFlag.stdout))
  })

  // Regression: descriptions hard-wrapped at ~105 columns were wrapped again at 80, alternating long and short lines.
  it('wraps descriptions once: no paragraph line ends far short of the width before a line that would have fit', async () => {
    for (const id of visibleIds) {
      const {stdout} = await ona([...id.split(':'), '--help'])
      const description = stdout.split('\nDESCRIPTION\n')[1]?.split(/\n[A-Z ]+\n/)[0] ?? ''
      const lines = description.split('\n')
      for (let i = 0; i + 1 < lines.length; i++) {
        const [line, next] = [lines[i]!, lines[i + 1]!]
        if (line.trim() === '' || next.trim() === '' || /^\s+[-$]/.test(next)) continue
        const firstWord = next.trim().split(' ')[0]!
        expect(line.length + 1 + firstWord.length, `${id}: "${line}" / "${next}"`).toBeGreaterThan(80)
      }
    }
  })
})

describe.skipIf(!builtCli)('usage errors (built CLI)', () => {
  const cases: Array<[string, string[]]> = [
    ['unknown-command-typo', ['ssh-synk']],
    ['unknown-command-swap', ['whaomi']],
    ['unknown-command-secret', [SECRET]],
    ['login-token-on-argv', ['login', SECRET]],
    ['help-typo', ['help', 'preflihgt']],
    ['unknown-flag', ['ssh-sync', '--bogus']],
    ['unknown-flag-typo', ['ssh-sync', '--dyr-run']],
    ['unknown-flag-with-secret-value', ['whoami', `--token=${SECRET}`]],
    ['missing-argument', ['completion']],
    ['flags-together', ['ssh-sync', '--check', '--dry-run']],
    ['bad-option', ['preflight', '--ide', SECRET]],
    ['interval-below-min', ['ssh-sync', '--interval', '5']],
    ['interval-not-a-duration', ['ssh-sync', '--interval', SECRET]],
    ['start-timeout-not-a-duration', ['ssh', 'my-env', '--start-timeout', 'soon']],
    ['flag-without-value', ['ssh-sync', '--ssh-config']],
    ['empty-ssh-config', ['ssh-sync', '--ssh-config', '']],
    ['unexpected-argument', ['whoami', SECRET]],
    ['completion-unknown-shell', ['completion', 'tcsh']],
    ['synonym-sync', ['sync']],
    ['synonym-status', ['status']],
    ['synonym-logs', ['logs']],
    ['synonym-uninstall', ['uninstall']],
    ['unknown-command-word', ['deploy-everything']],
    ['flags-without-command', ['--bogus']],
  ]

  it.each(cases)('%s: a short error and hint, exit 2, no secret echoed', async (name, args) => {
    const result = await ona(args)
    expect(result.code).toBe(2)
    expect(result.stdout).toBe('')
    const lines = result.stderr.trimEnd().split('\n')
    expect(lines).toHaveLength(2)
    expect(lines[0]).toMatch(/^error: /)
    expect(lines[1]).toMatch(/^hint: /)
    expect(result.stderr).not.toContain(SECRET)
    expect(result.stderr.length).toBeLessThan(400)
    expectGolden(`errors/${name}.txt`, normalise(result.stderr, {dirs: [home]}))
  })

  it.each(cases)('%s with --json: {"error": {code, message, hint}} on stdout, exit 2', async (_, args) => {
    const result = await ona([...args, '--json'])
    expect(result.code).toBe(2)
    expect(result.stderr).toBe('')
    const parsed = JSON.parse(result.stdout) as {error: {code: string; message: string; hint: string}}
    expect(parsed.error).toMatchObject({code: 'ERR_USAGE', message: expect.any(String), hint: expect.any(String)})
    expect(result.stdout).not.toContain(SECRET)
  })

  it('suggests a real command for a typo or a synonym, names other words, and withholds what looks like a secret', async () => {
    expect((await ona(['ssh-synk'])).stderr).toContain('did you mean `ona ssh-sync`?')
    expect((await ona(['sync'])).stderr).toContain('did you mean `ona ssh-sync`?')
    expect((await ona(['status'])).stderr).toContain('did you mean `ona service status`?')
    expect((await ona(['uninstall'])).stderr).toContain('ona ssh-sync --remove')
    const far = await ona(['deploy-everything'])
    expect(far.stderr).toContain('unknown command "deploy-everything"')
    expect(far.stderr).toContain('ona help')
    const secret = await ona([SECRET])
    expect(secret.stderr).not.toContain(SECRET)
    expect(secret.stderr).toContain('not shown')
  })

  it('answers `ona version --json` with the version as data, and `ona --json` with a JSON usage error', async () => {
    const pjson = JSON.parse(readFileSync(path.join(repoRoot, 'package.json'), 'utf8')) as {name: string; version: string}
    const version = await ona(['version', '--json'])
    expect(version).toMatchObject({code: 0, stderr: ''})
    expect(JSON.parse(version.stdout)).toEqual({name: pjson.name, version: pjson.version, node: process.version, platform: process.platform, arch: process.arch, userAgent: expect.stringMatching(/^ona-ssh\/\d+\.\d+\.\d+ /)})
    const bare = await ona(['--json'])
    expect(bare.code).toBe(2)
    expect(bare.stderr).toBe('')
    expect(JSON.parse(bare.stdout)).toMatchObject({error: {code: 'ERR_USAGE', message: 'no command given (--json goes after one)'}})
  })

  it.each([
    ['bare `ona` through oclif', [], {ONA_STARTUP_FAST_PATH: '0'}],
    ['bare `ona` with the fast path', [], {}],
    ['`ona completion bash` through oclif', ['completion', 'bash'], {ONA_STARTUP_FAST_PATH: '0'}],
  ])('ends cleanly when stdout is closed before it writes (%s): exit 0, no Node warning', async (_name, args, extra) => {
    const child = spawn(process.execPath, [binRun, ...args], {env: baseEnv(home, {ONA_KEYRING: 'off', ...extra}), stdio: ['ignore', 'pipe', 'pipe']})
    // What `ona | head -1` does once head has its line: the reading end goes away.
    child.stdout.destroy()
    let stderr = ''
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk))
    const code = await new Promise<number | null>((resolve) => child.on('close', (c) => resolve(c)))
    expect(stderr).toBe('')
    expect(code).toBe(0)
  })
})

describe.skipIf(!builtCli)('time flags (built CLI)', () => {
  // The ProxyCommand's --timeout took integer seconds while every other time flag takes a duration.
  it('ssh-proxy --timeout takes a duration like every time flag, in both the fast path and oclif', async () => {
    for (const extra of [{}, {ONA_STARTUP_FAST_PATH: '0'}]) {
      const refused = await ona(['ssh-proxy', '0199ec15-59d3-7e92-8e22-8cb6c7ba4df7', '--timeout', 'soon'], extra)
      expect(refused.code).toBe(2)
      expect(refused.stderr).toMatch(/^error: --timeout soon: give a duration of at least 1s, such as 3s, 500ms or 2m \(a plain number is seconds\)\nhint: /)
      // 2m and a plain 600 (seconds, as the old integer was) are read: what stops it later is the missing API, not the flag.
      for (const value of ['2m', '600']) {
        const read = await ona(['ssh-proxy', '0199ec15-59d3-7e92-8e22-8cb6c7ba4df7', '--timeout', value, '--api-url', 'http://127.0.0.1:9/api'], {...extra, ONA_TIMEOUT: '1s'})
        expect(read.stderr).not.toMatch(/--timeout|integer/)
        expect(read.code).not.toBe(2)
      }
    }
  })
})
