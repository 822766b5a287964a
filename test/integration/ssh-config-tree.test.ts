/**
 * The config tree as OpenSSH reads it, end to end: the built CLI against simulators on 127.0.0.1, a scratch
 * HOME, and the real `ssh -G` confirming every situation the warnings describe. Include paths are absolute:
 * the tests' own `ssh -G` (helpers/ssh.ts) runs with the runner's HOME, which glob(3) takes `~` from.
 */
import {mkdir, mkdtemp, readFile, rm, writeFile} from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'

import {afterEach, beforeEach, describe, expect, it} from 'vitest'

import {startSimulator, type Simulator} from '../../src/lib/simulator/server.js'
import {BEGIN_MARKER, END_MARKER} from '../../src/lib/ssh-config/index.js'
import {baseEnv, runCli} from '../helpers/run-cli.js'
import {sshG} from '../helpers/ssh.js'

const A = '0199ec15-59d3-7e92-8e22-8cb6c7ba4df7'
const ALIAS = `${A}.gitpod.remote`
type Warning = {code: string; message: string; file?: string; line?: number; option?: string; aliases?: string[]}

let home: string
let ssh: string
let config: string
let sim: Simulator
let env: NodeJS.ProcessEnv

beforeEach(async () => {
  home = await mkdtemp(path.join(os.tmpdir(), 'ona-tree-'))
  ssh = path.join(home, '.ssh')
  config = path.join(ssh, 'config')
  await mkdir(path.join(ssh, 'config.d'), {recursive: true, mode: 0o700})
  sim = await startSimulator({seed: path.resolve('fixtures/environments.json')})
  // The system config is left out (empty ONA_SYSTEM_SSH_CONFIG) so the machine's own does not matter.
  env = baseEnv(home, {ONA_API_URL: sim.url, ONA_TOKEN: sim.token, ONA_KEYRING: 'off', ONA_SYSTEM_SSH_CONFIG: ''})
})
afterEach(async () => {
  await sim.close()
  await rm(home, {recursive: true, force: true})
})

async function sync(...args: string[]): Promise<{code: number | null; stdout: string; stderr: string; data: Record<string, unknown> & {warnings: Warning[]}}> {
  const result = await runCli(['ssh-sync', '--json', ...args], {env})
  let data: Record<string, unknown> & {warnings: Warning[]}
  try {
    data = JSON.parse(result.stdout)
  } catch {
    throw new Error(`ssh-sync ${args.join(' ')} printed no JSON (exit ${result.code}): ${result.stderr}`)
  }
  return {...result, data}
}

describe('Include globs above and around the block', () => {
  it('a Host * in a file Included above the block is named file:line, and ssh -G confirms it wins', async () => {
    const user = path.join(ssh, 'config.d', '10-defaults')
    await writeFile(user, 'Host *\n  User root\n  Port 2200\n  ServerAliveInterval 30\n')
    await writeFile(config, `Include ${ssh}/config.d/*\n\nHost github.com\n  User git\n`)
    const {code, data} = await sync()
    expect(code).toBe(0)
    const overrides = data.warnings.filter((w) => w.code === 'W_OVERRIDE')
    expect(overrides.map((w) => [w.file, w.line])).toEqual([[user, 2], [user, 3]])
    expect(overrides[0]!.message).toMatch(/`User root`, under `Host \*` \(line 1\), overrides the managed User of every ona alias/)
    const resolved = await sshG(config, ALIAS)
    expect([resolved.get('user'), resolved.get('port')]).toEqual(['root', '2200'])
  })

  it('an Include after the block (and one above that sets nothing managed) gives no warning, and ssh uses the block', async () => {
    await writeFile(path.join(ssh, 'config.d', 'early'), 'Host *\n  ServerAliveInterval 30\n')
    await writeFile(path.join(ssh, 'late.conf'), 'Host *\n  User root\n  Port 2200\n')
    await writeFile(config, `Include ${ssh}/config.d/*\nHost github.com\n  User git\nHost *\nInclude ${ssh}/late.conf\n`)
    const {data} = await sync()
    expect(data.warnings).toEqual([])
    const resolved = await sshG(config, ALIAS)
    expect([resolved.get('user'), resolved.get('port'), resolved.get('hostname')]).toEqual(['gitpod_devcontainer', '2222', '127.0.0.11'])
  })

  it('globs are read in lexical order and skip dotfiles, as ssh does', async () => {
    await writeFile(path.join(ssh, 'config.d', 'b'), `Host ${ALIAS}\n  User from-b\n`)
    await writeFile(path.join(ssh, 'config.d', 'a'), `Host ${ALIAS}\n  User from-a\n`)
    await writeFile(path.join(ssh, 'config.d', '.hidden'), `Host ${ALIAS}\n  User hidden\n`)
    await writeFile(config, `Include ${ssh}/config.d/*\nHost github.com\n`)
    const {data} = await sync()
    const claimed = data.warnings.filter((w) => w.code === 'W_ALIAS_CLAIMED')
    expect(claimed.map((w) => path.basename(w.file!))).toEqual(['a', 'b'])
    expect((await sshG(config, ALIAS)).get('user')).toBe('from-a')
  })
})

describe("the managed file's place in the tree", () => {
  it("--ssh-config config.d/ona Included after the user's Host *: the user's lines are named, ssh -G agrees", async () => {
    await writeFile(config, `Host *\n  User me\nInclude ${ssh}/config.d/*\n`)
    const managed = path.join(ssh, 'config.d', 'ona')
    const {data} = await sync('--ssh-config', managed)
    expect(data.readByHomeConfig).toBe(true)
    const overrides = data.warnings.filter((w) => w.code === 'W_OVERRIDE')
    expect(overrides.map((w) => [w.file, w.line])).toEqual([[config, 2]])
    expect((await sshG(config, ALIAS)).get('user')).toBe('me')
  })

  it('a managed file nothing Includes is reported with the exact Include line; --add-include adds it and ssh reads it', async () => {
    await writeFile(config, 'Host github.com\n  User git\n')
    const managed = path.join(ssh, 'config.d', 'ona')
    const first = await sync('--ssh-config', managed)
    expect(first.data.readByHomeConfig).toBe(false)
    expect(first.data.includeLine).toBe('Include config.d/ona')
    expect(first.data.warnings.find((w) => w.code === 'W_NOT_INCLUDED')?.message).toMatch(/ssh does not read .*config\.d\/ona.*add `Include config\.d\/ona` at the top/)
    expect((await sshG(config, ALIAS)).get('hostname')).toBe(ALIAS)

    const second = await sync('--ssh-config', managed, '--add-include')
    expect(second.data.readByHomeConfig).toBe(true)
    expect(second.data.warnings.filter((w) => w.code === 'W_NOT_INCLUDED')).toEqual([])
    const text = await readFile(config, 'utf8')
    expect(text.split('\n')[1]).toBe('Include config.d/ona')
    expect(text.endsWith('Host github.com\n  User git\n')).toBe(true)
    // ssh resolves the relative Include in the passwd home's ~/.ssh; check with the absolute form.
    await writeFile(config, text.replace('Include config.d/ona', `Include ${managed}`))
    expect((await sshG(config, ALIAS)).get('hostname')).toBe('127.0.0.11')
    expect((await sshG(config, 'github.com')).get('user')).toBe('git')
  })

  it('an Include of the managed file under a Host for other names is reported: ssh skips the block', async () => {
    const managed = path.join(ssh, 'config.d', 'ona')
    await writeFile(config, `Host github.com\n  User git\n  Include ${managed}\n`)
    const {data} = await sync('--ssh-config', managed)
    const warning = data.warnings.find((w) => w.code === 'W_INCLUDE_CONDITIONAL')
    expect(warning).toMatchObject({file: config, line: 3})
    expect(warning!.message).toMatch(/under `Host github.com`.*does not read the block for the ona aliases/)
    expect((await sshG(config, ALIAS)).get('hostname')).toBe(ALIAS)
  })
})

describe('stale duplicate blocks anywhere in the tree', () => {
  it('a second ona block in an Included file read first is reported, and --check fails although the managed one is current', async () => {
    const old = path.join(ssh, 'config.d', 'old')
    await writeFile(old, `${BEGIN_MARKER}\nHost ${A}.gitpod.environment ${ALIAS}\n  HostName 10.9.9.9\n${END_MARKER}\n`)
    await writeFile(config, `Include ${ssh}/config.d/*\nHost github.com\n`)
    const first = await sync()
    expect(first.data.staleBlocks).toEqual([{file: old, line: 1, before: true}])
    expect(first.data.warnings.find((w) => w.code === 'W_STALE_BLOCK')?.message).toMatch(/ssh reads before the managed one/)
    // What the warning says is what ssh does: the stale address wins.
    expect((await sshG(config, ALIAS)).get('hostname')).toBe('10.9.9.9')
    const check = await runCli(['ssh-sync', '--check'], {env})
    expect(check.code).toBe(1)
    expect(check.stderr).toMatch(/ssh also reads another ona block/)

    // Taking the stale one out (as the warning says) makes --check pass and ssh use the current address.
    const removed = await runCli(['ssh-sync', '--ssh-config', old, '--remove', '--all'], {env})
    expect(removed.code).toBe(0)
    expect((await runCli(['ssh-sync', '--check'], {env})).code).toBe(0)
    expect((await sshG(config, ALIAS)).get('hostname')).toBe('127.0.0.11')
  })
})

describe('several installs in one config', () => {
  const OTHER = '0299aa00-0000-7000-8000-00000000000b'
  const OTHER_ALIAS = `${OTHER}.gitpod.remote`
  let simB: Simulator
  let envB: NodeJS.ProcessEnv
  beforeEach(async () => {
    simB = await startSimulator({seed: [{id: OTHER, phase: 'ENVIRONMENT_PHASE_RUNNING', ssh: {user: 'enterprise', host: '127.0.0.51', port: 22}}]})
    envB = {...env, ONA_API_URL: simB.url, ONA_TOKEN: simB.token}
    await writeFile(config, 'Host github.com\n  User git\n')
  })
  afterEach(async () => {
    await simB.close()
  })
  const syncB = (...args: string[]) => runCli(['ssh-sync', ...args], {env: envB})

  it('each install owns its part: syncing, a stopped environment and --remove of one never touch the other', async () => {
    expect((await sync()).code).toBe(0)
    expect((await syncB()).code).toBe(0)
    expect((await sshG(config, ALIAS)).get('hostname')).toBe('127.0.0.11')
    expect((await sshG(config, OTHER_ALIAS)).get('user')).toBe('enterprise')
    const text = await readFile(config, 'utf8')
    expect(text.match(/^# BEGIN ona ssh-sync/gm)).toHaveLength(1)
    expect(text).toContain(`# ona origin ${new URL(sim.url).origin}\n`)
    expect(text).toContain(`# ona origin ${new URL(simB.url).origin}\n`)

    // A's sync after A's environment stopped keeps B's alias.
    sim.stopEnvironment(A)
    const again = await sync()
    expect(again.data.removed, JSON.stringify(again.data.removed)).toEqual([expect.objectContaining({id: A})])
    expect((await sshG(config, ALIAS)).get('hostname')).toBe(ALIAS)
    expect((await sshG(config, OTHER_ALIAS)).get('hostname')).toBe('127.0.0.51')
    expect((await runCli(['ssh-sync', '--check'], {env: envB})).code).toBe(0)

    // --remove for A takes A's aliases only; B's stay.
    const removeA = await runCli(['ssh-sync', '--remove'], {env})
    expect(removeA.stdout).toMatch(/the aliases of http:\/\/127\.0\.0\.1:\d+ removed \(other installs' aliases stay\)/)
    expect((await sshG(config, OTHER_ALIAS)).get('hostname')).toBe('127.0.0.51')
    expect((await sshG(config, `0199ec15-8a41-7c10-9d3b-2f6e1b7a9c02.gitpod.remote`)).get('hostname')).toBe('0199ec15-8a41-7c10-9d3b-2f6e1b7a9c02.gitpod.remote')
  })

  it('--remove --all takes out every install, giving back the original bytes', async () => {
    await sync()
    await syncB()
    const misuse = await syncB('--all')
    expect([misuse.code, misuse.stderr]).toEqual([2, expect.stringContaining('--all only goes with --remove')])
    const result = await syncB('--remove', '--all')
    expect(result.stdout).toContain('the ona block removed')
    expect(await readFile(config, 'utf8')).toBe('Host github.com\n  User git\n')
  })

  it("today's single block (no origin line) is migrated without loss: its aliases stay until the install lists them", async () => {
    // A block written before installs had parts, holding A's alias at an old address and a starting one.
    const starting = '0199ec15-d4e9-7b77-83a2-7f1e5a0b6c35'
    await writeFile(config, `${BEGIN_MARKER}\nHost ${A}.gitpod.environment ${ALIAS}\n  HostName 10.0.0.1\n  User gitpod_devcontainer\n  Port 2222\n  HostKeyAlias ${A}.gitpod.environment\nHost ${starting}.gitpod.environment ${starting}.gitpod.remote\n  HostName 10.0.0.2\n  User gitpod_devcontainer\n  Port 22\n  HostKeyAlias ${starting}.gitpod.environment\n${END_MARKER}\nHost github.com\n  User git\n`)
    const {data} = await sync()
    expect(data.updated).toEqual([expect.objectContaining({id: A, from: 'gitpod_devcontainer@10.0.0.1:2222', to: 'gitpod_devcontainer@127.0.0.11:2222'})])
    // The starting environment keeps its last known address from the old block.
    expect(data.kept).toEqual([expect.objectContaining({id: starting, address: 'gitpod_devcontainer@10.0.0.2:22'})])
    expect((await sshG(config, `${starting}.gitpod.remote`)).get('hostname')).toBe('10.0.0.2')
    // A second install added later gets its own part; the first one's aliases are untouched.
    await syncB()
    expect((await sshG(config, ALIAS)).get('hostname')).toBe('127.0.0.11')
    expect((await sshG(config, `${starting}.gitpod.remote`)).get('hostname')).toBe('10.0.0.2')
  })
})

describe('an earlier ona\'s single block shared by two installs', () => {
  const OTHER = '0299aa00-0000-7000-8000-00000000000b'
  const DEAD = '0399dead-0000-7000-8000-00000000000d'
  let simB: Simulator
  let envB: NodeJS.ProcessEnv
  beforeEach(async () => {
    simB = await startSimulator({seed: [{id: OTHER, phase: 'ENVIRONMENT_PHASE_RUNNING', ssh: {user: 'enterprise', host: '127.0.0.51', port: 22}}]})
    envB = {...env, ONA_API_URL: simB.url, ONA_TOKEN: simB.token}
  })
  afterEach(async () => {
    await simB.close()
  })
  const entry = (id: string, host: string, user = 'gitpod_devcontainer') =>
    `Host ${id}.gitpod.environment ${id}.gitpod.remote\n  HostName ${host}\n  User ${user}\n  Port 22\n  HostKeyAlias ${id}.gitpod.environment\n`
  const hosts = (text: string) => text.split('\n').filter((l) => l.startsWith('Host ') && l.includes('.gitpod.'))
  /** The entries above the first origin line: the unowned legacy part. */
  const unowned = (text: string) => hosts(text.slice(text.indexOf(BEGIN_MARKER), text.search(/^# ona origin /m) === -1 ? undefined : text.search(/^# ona origin /m)))

  it('sync A keeps B\'s aliases readable; sync B owns them; nothing duplicated; --remove for A leaves B\'s (real ssh -G)', async () => {
    // Before: A's sync took the whole block and B's alias was gone until B synced again.
    await writeFile(config, `${BEGIN_MARKER}\n${entry(A, '10.0.0.1')}${entry(OTHER, '127.0.0.51', 'enterprise')}${entry(DEAD, '10.0.0.99')}${END_MARKER}\nHost github.com\n  User git\n`)
    const a = await sync()
    expect(a.code).toBe(0)
    expect((await sshG(config, ALIAS)).get('hostname')).toBe('127.0.0.11')
    expect((await sshG(config, `${OTHER}.gitpod.remote`)).get('user')).toBe('enterprise')
    expect((await sshG(config, `${OTHER}.gitpod.remote`)).get('hostname')).toBe('127.0.0.51')
    // A reports only its own changes: B's and the deleted environment's aliases are not "removed".
    expect(a.data.removed).toEqual([])
    const warning = a.data.warnings.find((w) => w.code === 'W_UNCLAIMED') as Warning & {aliases?: string[]}
    expect(warning?.aliases).toEqual([`${OTHER}.gitpod.environment`, `${DEAD}.gitpod.environment`].sort())
    expect(unowned(await readFile(config, 'utf8'))).toHaveLength(2)

    const b = await runCli(['ssh-sync'], {env: envB})
    expect(b.code).toBe(0)
    // The human output says what stays unowned and how it goes.
    expect(b.stderr).toMatch(/1 alias in the block, written by an earlier ona .* kept unowned .*0399dead/)
    const text = await readFile(config, 'utf8')
    expect(unowned(text)).toEqual([`Host ${DEAD}.gitpod.environment ${DEAD}.gitpod.remote`])
    const all = hosts(text)
    expect(all).toHaveLength(new Set(all).size)
    expect(all.filter((h) => h.includes(OTHER))).toHaveLength(1)
    expect(text.slice(text.indexOf(`# ona origin ${new URL(simB.url).origin}`))).toContain(`Host ${OTHER}.gitpod.environment`)
    expect((await sshG(config, `${OTHER}.gitpod.remote`)).get('hostname')).toBe('127.0.0.51')
    expect((await runCli(['ssh-sync', '--check'], {env})).code).toBe(0)

    const removeA = await runCli(['ssh-sync', '--remove'], {env})
    expect(removeA.code).toBe(0)
    expect((await sshG(config, ALIAS)).get('hostname')).toBe(ALIAS)
    expect((await sshG(config, `${OTHER}.gitpod.remote`)).get('hostname')).toBe('127.0.0.51')
    // --remove --all takes out the rest, the deleted environment's alias with it.
    expect((await runCli(['ssh-sync', '--remove', '--all'], {env: envB})).code).toBe(0)
    expect(await readFile(config, 'utf8')).toBe('Host github.com\n  User git\n')
  })

  it('an entry of the old block whose ProxyCommand names an API goes to that install at once', async () => {
    const proxy = `  ProxyCommand /usr/bin/node /opt/ona/bin/run.js ssh-proxy ${OTHER} --api-url ${simB.url} --ssh-config ${config}\n`
    await writeFile(config, `${BEGIN_MARKER}\n${entry(OTHER, '127.0.0.51', 'enterprise')}${proxy}${END_MARKER}\n`)
    const a = await sync()
    expect(a.data.warnings.filter((w) => w.code === 'W_UNCLAIMED')).toEqual([])
    const text = await readFile(config, 'utf8')
    expect(unowned(text)).toEqual([])
    expect(text.slice(text.indexOf(`# ona origin ${new URL(simB.url).origin}`))).toContain(`Host ${OTHER}.gitpod.environment`)
    expect((await sshG(config, `${OTHER}.gitpod.remote`)).get('hostname')).toBe('127.0.0.51')
  })
})

describe('every alias checked with the real ssh -G after the write', () => {
  it('a difference names the option, the value ssh will use and the file:line that set it, as structured --json warnings', async () => {
    const user = path.join(ssh, 'config.d', '10-defaults')
    await writeFile(user, 'Host *.gitpod.remote\n  User root\n')
    await writeFile(config, `Include ${ssh}/config.d/*\nHost github.com\n`)
    const {data} = await sync()
    expect(data.verified).toBe(6)
    // The tree check names the line once; ssh -G confirms it for the 3 .gitpod.remote aliases, and is not
    // repeated per alias (issue 21: it was 1 + 3 warnings, the location named twice in each).
    const about = data.warnings.filter((w) => w.file === user)
    expect(about).toHaveLength(1)
    expect(about[0]).toMatchObject({code: 'W_OVERRIDE', line: 2, option: 'User'})
    expect(about[0]!.aliases).toHaveLength(3)
    expect(about[0]!.aliases!.every((a) => a.endsWith('.gitpod.remote'))).toBe(true)
    expect(data.warnings.filter((w) => w.code === 'W_SSH_DIFFERS')).toEqual([])
    expect((await sshG(config, ALIAS)).get('user')).toBe('root')
    // --check of the now current file checks again (and still exits 0: the block itself is current).
    const check = await runCli(['ssh-sync', '--check'], {env})
    expect(check.code).toBe(0)
    expect(check.stderr).toMatch(/10-defaults:2: `User root`, under `Host \*\.gitpod\.remote` \(line 1\), overrides the managed User of 3 ona aliases/)
  })

  it('a Match exec anywhere in the tree is never run: the check is skipped with a note naming it', async () => {
    const marker = path.join(home, 'exec-ran')
    await writeFile(config, `Match exec "touch ${marker}"\n  User x\nHost github.com\n`)
    const {data} = await sync()
    expect(data.verified).toBe(0)
    expect(data.warnings.find((w) => w.code === 'W_VERIFY_SKIPPED')?.message).toMatch(/\.ssh\/config:\d+ has a `Match exec`, which ssh -G would run/)
    expect((await import('node:fs')).existsSync(marker)).toBe(false)
  })

  it('without an ssh client the check is skipped with a note, and the sync still succeeds', async () => {
    await writeFile(config, 'Host github.com\n')
    env.ONA_SSH = path.join(home, 'no-such-ssh')
    const {code, data} = await sync()
    expect(code).toBe(0)
    expect(data.verified).toBe(0)
    expect(data.warnings.find((w) => w.code === 'W_VERIFY_SKIPPED')?.message).toMatch(/no `.*no-such-ssh` found on PATH/)
  })
})

describe('`~user` in the tree, as ssh expands it through the password database', () => {
  // The user running the tests (root in CI) and a path from their passwd home to this scratch directory:
  // `~<me>/<that path>` reaches the scratch files whoever runs the tests, and writes nothing in their home.
  const me = os.userInfo()
  const viaMe = (file: string) => `~${me.username}/${path.relative(me.homedir, file)}`

  it('an Include of `~<user>/...` above the block is followed: its Host * is named file:line, and the real ssh -G agrees', async () => {
    const users = path.join(ssh, 'config.d', 'users')
    await writeFile(users, 'Host *\n  User someone\n')
    await writeFile(config, `Include ${viaMe(users)}\n\nHost github.com\n  User git\n`)
    const {code, data} = await sync()
    expect(code).toBe(0)
    expect(data.warnings.filter((w) => w.code === 'W_OVERRIDE').map((w) => [w.file, w.line])).toEqual([[users, 2]])
    // ssh -G agrees for all 6 aliases: confirmed, not repeated.
    expect(data.verified).toBe(6)
    expect(data.warnings.filter((w) => w.code === 'W_SSH_DIFFERS')).toEqual([])
    expect((await sshG(config, ALIAS)).get('user')).toBe('someone')
  })

  it('an Include of an unknown `~user` is named file:line; ssh reads nothing for it and goes on', async () => {
    await writeFile(config, 'Include ~no-such-user-ona/x\nHost github.com\n  User git\n')
    const {code, data} = await sync()
    expect(code).toBe(0)
    expect(data.warnings.filter((w) => w.code === 'W_SSH_CONFIG_TREE')).toEqual([
      {code: 'W_SSH_CONFIG_TREE', message: `${config}:1: Include ~no-such-user-ona/x: there is no user "no-such-user-ona", so ssh reads nothing for it ("matched no files")`},
    ])
    const resolved = await sshG(config, ALIAS)
    expect(resolved.code).toBe(0)
    expect(resolved.get('hostname')).toBe('127.0.0.11')
  })

  it('an IdentityFile of an unknown `~user` above the block: ssh -G prints it, connecting would stop; named file:line', async () => {
    const users = path.join(ssh, 'config.d', 'users')
    await writeFile(users, 'Host *.gitpod.remote\n  IdentityFile ~no-such-user-ona/id\n')
    await writeFile(config, `Include ${viaMe(users)}\nHost github.com\n`)
    const {data} = await sync()
    expect((await sshG(config, ALIAS)).all('identityfile')).toContain('~no-such-user-ona/id')
    const unknown = data.warnings.filter((w) => w.code === 'W_SSH_UNKNOWN_USER')
    expect(unknown).toHaveLength(3)
    expect(unknown[0]).toMatchObject({option: 'IdentityFile', actual: '~no-such-user-ona/id', file: users, line: 2})
    expect(unknown[0]!.message).toMatch(/^ssh .*\.gitpod\.remote will stop with "tilde_expand: No such user no-such-user-ona": IdentityFile ~no-such-user-ona\/id \(set by .*users:2\)/)
  })

  it('a UserKnownHostsFile of an unknown `~user` makes ssh -G itself fail: the failure names the line', async () => {
    const users = path.join(ssh, 'config.d', 'users')
    await writeFile(users, 'Host *.gitpod.remote\n  UserKnownHostsFile ~no-such-user-ona/kh\n')
    await writeFile(config, `Include ${viaMe(users)}\nHost github.com\n`)
    const {data} = await sync()
    const failed = data.warnings.filter((w) => w.code === 'W_SSH_G_FAILED')
    expect(failed).toHaveLength(3)
    expect(failed[0]).toMatchObject({file: users, line: 2})
    expect(failed[0]!.message).toMatch(/No such user no-such-user-ona \(.*users:2 names ~no-such-user-ona\)$/)
  })
})
