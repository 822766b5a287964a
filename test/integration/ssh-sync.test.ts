/**
 * `ona ssh-sync` as a user runs it: the built CLI against the simulator on 127.0.0.1, a scratch HOME and a
 * real SSH config file.
 */
import {mkdir, mkdtemp, readFile, rm, stat, writeFile} from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'

import {afterEach, beforeEach, describe, expect, it} from 'vitest'

import {startSimulator, type Fault, type Simulator} from '../../src/lib/simulator/server.js'
import {BEGIN_MARKER, END_MARKER} from '../../src/lib/ssh-config/index.js'
import {baseEnv, runCli} from '../helpers/run-cli.js'
import {sshG} from '../helpers/ssh.js'

const A = '0199ec15-59d3-7e92-8e22-8cb6c7ba4df7'
const B = '0199ec15-8a41-7c10-9d3b-2f6e1b7a9c02'
const STARTING = '0199ec15-d4e9-7b77-83a2-7f1e5a0b6c35'
const COLLEAGUE = '0199ec15-e5fa-7c88-94b3-8a2f6b1c7d46'
/** One token for every simulator of this file, so the last test can look for it in every transcript. */
const TOKEN = `ona_pat_${'t0k3n'.repeat(6)}`
const USER_PART = '# mine\nServerAliveInterval 60\n\nHost github.com\n  User git\n'

let home: string
let config: string
let sim: Simulator
let env: NodeJS.ProcessEnv

beforeEach(async () => {
  home = await mkdtemp(path.join(os.tmpdir(), 'ona-sync-'))
  config = path.join(home, '.ssh', 'config')
  await mkdir(path.dirname(config), {mode: 0o700})
  await writeFile(config, USER_PART, {mode: 0o600})
  sim = await startSimulator({seed: path.resolve('fixtures/environments.json'), pageSizeMax: 2, token: TOKEN})
  env = baseEnv(home, {ONA_API_URL: sim.url, ONA_TOKEN: sim.token, ONA_KEYRING: 'off'})
})
afterEach(async () => {
  await sim.close()
  await rm(home, {recursive: true, force: true})
})

const sync = (...args: string[]) => runCli(['ssh-sync', ...args], {env})

/** Everything printed by every run, to prove the token never appears in any of it. */
const transcripts: string[] = []
async function tracked(...args: string[]) {
  const result = await sync(...args)
  transcripts.push(result.stdout, result.stderr)
  return result
}

describe('ona ssh-sync', () => {
  it('writes the running environments of the caller (all pages) and reports each change on one line', async () => {
    const result = await tracked()
    expect(result.code).toBe(0)
    const lines = result.stdout.trim().split('\n')
    expect(lines).toEqual([
      `added    ${A}.gitpod.environment  gitpod_devcontainer@127.0.0.11:2222`,
      `added    ${B}.gitpod.environment  gitpod_devcontainer@127.0.0.12:2222`,
      'added    0199ec15-b2c7-7f55-a1e0-5d9c3e8f4a13.gitpod.environment  gitpod_devcontainer@127.0.0.13:22',
      expect.stringMatching(/^created  SSH key ~\/\.config\/ona\/ssh\/id_ed25519 \(SHA256:[A-Za-z0-9+/]{43}\)$/),
      expect.stringMatching(/^key      registered on 3 environments \(SHA256:[A-Za-z0-9+/]{43}\)$/),
      `waiting  ${STARTING}.gitpod.environment  (starting: no SSH address yet)`,
      // The scratch HOME is not the passwd home ssh reads its config from (issue 21): said once per sync.
      `ssh reads ${path.join(os.userInfo().homedir, '.ssh', 'config')} (from this user's home in the password database), not ~/.ssh/config under $HOME (${home}): a plain \`ssh <alias>\` does not see these aliases; \`ona ssh\` names ~/.ssh/config with -F`,
      `~/.ssh/config updated (3 environments); original kept in ${path.join(home, ".ssh", ".config.ona-backup")}`,
    ])
    const text = await readFile(config, 'utf8')
    expect(text.startsWith('# mine\nServerAliveInterval 60\n\n' + BEGIN_MARKER)).toBe(true)
    expect(text.endsWith(`${END_MARKER}\nHost github.com\n  User git\n`)).toBe(true)
    expect(text).not.toContain(COLLEAGUE)
    expect(sim.rpcCount('ListEnvironments')).toBeGreaterThanOrEqual(3)
    const resolved = await sshG(config, `${A}.gitpod.remote`)
    expect(resolved.all('hostname')).toEqual(['127.0.0.11'])
    expect(resolved.all('port')).toEqual(['2222'])
    expect(resolved.all('hostkeyalias')).toEqual([`${A}.gitpod.environment`])
  })

  it('reports an IP change as updated old -> new, a stopped environment as removed, and nothing alarming when current', async () => {
    await tracked()
    sim.setSshAddress(A, {host: '127.0.0.21', port: 2222})
    sim.stopEnvironment(B)
    const result = await tracked()
    expect(result.stdout).toContain(`updated  ${A}.gitpod.environment  gitpod_devcontainer@127.0.0.11:2222 -> gitpod_devcontainer@127.0.0.21:2222`)
    expect(result.stdout).toContain(`removed  ${B}.gitpod.environment  gitpod_devcontainer@127.0.0.12:2222`)
    const again = await tracked()
    expect(again.code).toBe(0)
    expect(again.stdout).toContain('~/.ssh/config is up to date (2 environments)')
    expect(again.stderr).toBe('')
  })

  it('a starting environment keeps its last known address, and says so', async () => {
    await tracked()
    sim.setPhase(A, 'ENVIRONMENT_PHASE_STARTING')
    const result = await tracked()
    expect(result.stdout).toContain(`kept     ${A}.gitpod.environment  gitpod_devcontainer@127.0.0.11:2222 (last known address: it is starting)`)
    expect(await readFile(config, 'utf8')).toContain(`Host ${A}.gitpod.environment`)
  })

  it('--json returns the same report as data, in a stable shape', async () => {
    const result = await tracked('--json')
    expect(result.code).toBe(0)
    const data = JSON.parse(result.stdout) as Record<string, unknown>
    expect(Object.keys(data).sort()).toEqual(
      ['added', 'aliased', 'backup', 'changed', 'dryRun', 'environments', 'foreignBlocks', 'keys', 'kept', 'pending', 'readByHomeConfig', 'readBySsh', 'realPath', 'removed', 'removedBlock', 'resolveOnConnect', 'sshConfig', 'sshConfigFrom', 'sshUserConfig', 'staleBlocks', 'unchanged', 'updated', 'verified', 'verifiedFromCache', 'warnings', 'written'].sort(),
    )
    expect(data.resolveOnConnect).toBe(false)
    expect(data.keys).toEqual({
      identityFile: path.join(home, '.config', 'ona', 'ssh', 'id_ed25519'),
      fingerprint: expect.stringMatching(/^SHA256:/),
      created: true,
      registered: [A, B, '0199ec15-b2c7-7f55-a1e0-5d9c3e8f4a13'].sort(),
      failed: [],
    })
    expect(data).toMatchObject({sshConfig: config, changed: true, written: true, environments: 3, removed: [], updated: [], kept: []})
    expect((data.added as unknown[])[0]).toEqual({id: A, alias: `${A}.gitpod.environment`, address: 'gitpod_devcontainer@127.0.0.11:2222'})
    expect(data.pending).toEqual([{id: STARTING, alias: `${STARTING}.gitpod.environment`, phase: 'ENVIRONMENT_PHASE_STARTING'}])
  })

  it('--dry-run prints a unified diff and writes nothing', async () => {
    const before = await stat(config)
    const result = await tracked('--dry-run')
    expect(result.code).toBe(0)
    expect(result.stdout).toContain(`+${BEGIN_MARKER}`)
    expect(result.stdout).toContain('+  HostName 127.0.0.11')
    expect(result.stdout).toContain('would be updated (dry run: nothing written)')
    expect(await readFile(config, 'utf8')).toBe(USER_PART)
    expect((await stat(config)).mtimeMs).toBe(before.mtimeMs)
  })

  it('--check exits 1 while out of date and 0 once synced, writing nothing itself', async () => {
    const stale = await tracked('--check')
    expect(stale.code).toBe(1)
    expect(stale.stderr).toContain('out of date')
    // --check is not --dry-run: no "(dry run: nothing written)" (issue 19).
    expect(stale.stdout).not.toContain('dry run')
    expect(stale.stdout).toMatch(/ is out of date \(3 environments\); nothing written\n$/)
    expect(await readFile(config, 'utf8')).toBe(USER_PART)
    await tracked()
    expect((await tracked('--check')).code).toBe(0)
    sim.setSshAddress(A, {host: '127.0.0.30'})
    expect((await tracked('--check')).code).toBe(1)
  })

  it('--remove with nothing to remove says so, not "up to date (0 environments)"', async () => {
    const none = await tracked('--remove')
    expect(none.code).toBe(0)
    expect(none.stdout).toMatch(/: nothing to remove \(no aliases of http:\/\/127\.0\.0\.1:\d+\)\n$/)
    expect(none.stdout).not.toContain('up to date')
    const all = await tracked('--remove', '--all')
    expect(all.stdout).toMatch(/: nothing to remove \(no ona block\)\n$/)
    expect(await readFile(config, 'utf8')).toBe(USER_PART)
  })

  it('--remove takes the block out and gives back the original bytes', async () => {
    await tracked()
    const result = await tracked('--remove')
    expect(result.code).toBe(0)
    expect(result.stdout).toContain('the ona block removed')
    expect(await readFile(config, 'utf8')).toBe(USER_PART)
  })

  it.each([
    ['human', [] as string[]],
    ['--json', ['--json']],
  ])('--remove reports a Host the user wrote inside the block, which it keeps where the block was (%s)', async (_name, extra) => {
    await tracked()
    const synced = await readFile(config, 'utf8')
    const lines = synced.split('\n')
    const end = lines.findIndex((l) => l === END_MARKER)
    lines.splice(end, 0, 'Host mybox', '  HostName 192.0.2.50')
    await writeFile(config, lines.join('\n'))
    const result = await tracked('--remove', ...extra)
    expect(result.code).toBe(0)
    const message = `line ${end + 1} \`Host mybox\` was inside the ona block, which holds only what ona writes; it stays in the file where the block was (nothing was deleted)`
    if (extra.length === 0) expect(result.stderr).toContain(`warning: ${config}:${end + 1}: ${message}`)
    else expect(JSON.parse(result.stdout).warnings).toEqual([{code: 'W_FOREIGN_MOVED', message, file: config, line: end + 1}])
    expect(await readFile(config, 'utf8')).toBe(`# mine\nServerAliveInterval 60\n\nHost mybox\n  HostName 192.0.2.50\nHost github.com\n  User git\n`)
    expect((await sshG(config, 'mybox')).get('hostname')).toBe('192.0.2.50')
  })

  it('--ssh-config and ONA_SSH_CONFIG choose the file; a symlinked config keeps its link', async () => {
    const other = path.join(home, 'dotfiles', 'ssh_config')
    await mkdir(path.dirname(other))
    await writeFile(other, 'Host x\n')
    const viaFlag = await tracked('--ssh-config', other)
    expect(viaFlag.code).toBe(0)
    expect(await readFile(other, 'utf8')).toContain(BEGIN_MARKER)
    expect(await readFile(config, 'utf8')).toBe(USER_PART)
  })

  it('a user line that overrides an alias is shown as a warning with file and line', async () => {
    await writeFile(config, `User root\n${USER_PART}`)
    const result = await tracked()
    expect(result.code).toBe(0)
    expect(result.stderr).toContain(`warning: ${config}:1: \`User root\`, a global line (before any Host or Match), overrides the managed User of every ona alias (6): it comes before the ona block`)
  })
})

describe('a failure never changes the SSH config', () => {
  const cases: Array<[string, Fault, number, RegExp]> = [
    ['a 500 on every attempt', {type: 'http', status: 500, code: 'internal'}, 1, /hint: /],
    ['a 503 on every attempt', {type: 'http', status: 503, code: 'unavailable'}, 1, /management plane/i],
    ['an expired token (401)', {type: 'http', status: 401, code: 'unauthenticated'}, 4, /hint: Your token expired or was revoked: run `ona login`/],
    ['permission denied (403)', {type: 'http', status: 403, code: 'permission_denied'}, 4, /hint: /],
    ['malformed JSON', {type: 'malformed-json'}, 1, /hint: /],
    ['a response of the wrong shape', {type: 'wrong-shape'}, 1, /hint: /],
    ['a dropped connection', {type: 'drop'}, 1, /hint: /],
  ]
  it.each(cases)('%s: exit code, message and hint; file unchanged', async (_name, fault, exitCode, hint) => {
    await tracked()
    const before = await readFile(config)
    const beforeStat = await stat(config)
    sim.setSshAddress(A, {host: '127.0.0.99'})
    sim.injectFault(fault, {rpc: 'ListEnvironments', times: Number.POSITIVE_INFINITY})
    const result = await runCli(['ssh-sync'], {env, timeoutMs: 60_000})
    transcripts.push(result.stdout, result.stderr)
    expect(result.code).toBe(exitCode)
    expect(result.stderr).toMatch(/^error: /m)
    expect(result.stderr).toMatch(hint)
    expect(result.stderr).not.toMatch(/^\s+at /m)
    expect((await readFile(config)).equals(before)).toBe(true)
    expect((await stat(config)).mtimeMs).toBe(beforeStat.mtimeMs)
  }, 90_000)

  it('a listing interrupted on a later page changes nothing', async () => {
    await tracked()
    const before = await readFile(config)
    sim.setSshAddress(A, {host: '127.0.0.99'})
    // Page size 2: the first page answers, every later page fails.
    sim.injectFault({type: 'http', status: 500, code: 'internal'}, {rpc: 'ListEnvironments', times: Number.POSITIVE_INFINITY, after: 1})
    const result = await runCli(['ssh-sync'], {env, timeoutMs: 60_000})
    expect(result.code).toBe(1)
    expect((await readFile(config)).equals(before)).toBe(true)
  }, 90_000)

  it('a config with broken markers gets a clear error naming the line and is left alone', async () => {
    const broken = `Host x\n${BEGIN_MARKER}\nHost y\n`
    await writeFile(config, broken)
    const result = await tracked()
    expect(result.code).toBe(1)
    expect(result.stderr).toContain(`error: ${config} has a BEGIN ona ssh-sync marker (line 2) without an END marker`)
    expect(result.stderr).toContain('hint: Fix or delete the `ona` marker lines by hand')
    expect(await readFile(config, 'utf8')).toBe(broken)
  })

  it('a config path that is a directory is reported, not overwritten', async () => {
    const result = await tracked('--ssh-config', path.dirname(config))
    expect(result.code).toBe(1)
    expect(result.stderr).toContain(`error: ${path.dirname(config)} is not a regular file`)
  })

  it('no output of any run above contains the token', () => {
    expect(transcripts.length).toBeGreaterThan(10)
    expect(sim.token).toBe(TOKEN)
    for (const text of transcripts) expect(text).not.toContain(TOKEN)
  })
})
