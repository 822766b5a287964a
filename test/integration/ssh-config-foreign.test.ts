/**
 * Other tools' SSH config beside ona's block, end to end (issue 21): the built CLI against the simulator on
 * 127.0.0.1, a scratch HOME, the blocks those tools publish, and the real `ssh -G` confirming each effect.
 * Include paths are absolute: the tests' own `ssh -G` (helpers/ssh.ts) takes `~` from the runner's HOME.
 */
import {mkdir, mkdtemp, rm, writeFile} from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'

import {afterEach, beforeEach, describe, expect, it} from 'vitest'

import {startSimulator, type Simulator} from '../../src/lib/simulator/server.js'
import {baseEnv, runCli} from '../helpers/run-cli.js'
import {sshG} from '../helpers/ssh.js'

const A = '0199ec15-59d3-7e92-8e22-8cb6c7ba4df7'
const ENV_ALIAS = `${A}.gitpod.environment`
type Warning = {code: string; message: string; file?: string; line?: number; option?: string; tool?: string; aliases?: string[]; effect?: string; fix?: string; settings?: Array<{option: string; line: number}>; items?: unknown[]}

/** As `gitpod environment ssh-config` writes it (../shared/docs/coexistence-and-editors.md). */
const VENDOR = 'Host *.gitpod.environment\n    User gitpod_devcontainer\n    ProxyCommand gitpod environment ssh %h --proxy-connect --user %r\n    StrictHostKeyChecking no\n    UserKnownHostsFile /dev/null\n    LogLevel ERROR\n'

let home: string
let ssh: string
let config: string
let vendor: string
let sim: Simulator
let env: NodeJS.ProcessEnv

beforeEach(async () => {
  home = await mkdtemp(path.join(os.tmpdir(), 'ona-foreign-'))
  ssh = path.join(home, '.ssh')
  config = path.join(ssh, 'config')
  vendor = path.join(ssh, 'gitpod', 'config')
  await mkdir(path.join(ssh, 'gitpod'), {recursive: true, mode: 0o700})
  sim = await startSimulator({seed: path.resolve('fixtures/environments.json')})
  env = baseEnv(home, {ONA_API_URL: sim.url, ONA_TOKEN: sim.token, ONA_KEYRING: 'off', ONA_SYSTEM_SSH_CONFIG: ''})
})
afterEach(async () => {
  await sim.close()
  await rm(home, {recursive: true, force: true})
})

async function sync(...args: string[]) {
  const result = await runCli(['ssh-sync', '--json', ...args], {env})
  try {
    return {...result, data: JSON.parse(result.stdout) as {warnings: Warning[]; verified: number; foreignBlocks: Array<Record<string, unknown>>}}
  } catch {
    throw new Error(`ssh-sync printed no JSON (exit ${result.code}): ${result.stderr}`)
  }
}

describe("the vendor's CLI beside ona", () => {
  it('its Included block is named with tool, file:line, effect and fix; ssh -G confirms it; --check fails until it is gone', async () => {
    await writeFile(vendor, VENDOR)
    await writeFile(config, `Include ${vendor}\n\nHost github.com\n  User git\n`)
    const {code, data} = await sync()
    expect(code).toBe(0)
    // What ssh really does for ona's alias: the vendor's ProxyCommand, host-key checking off.
    const resolved = await sshG(config, ENV_ALIAS)
    expect(resolved.get('proxycommand')).toBe('gitpod environment ssh %h --proxy-connect --user %r')
    expect(resolved.get('stricthostkeychecking')).toBe('false')
    // One warning for the block (not one per alias or per line), every alias and line kept in --json.
    const foreign = data.warnings.filter((w) => w.code === 'W_FOREIGN_CONFIG')
    expect(foreign).toHaveLength(1)
    expect(foreign[0]).toMatchObject({tool: 'vendor-cli', file: vendor, line: 1})
    expect(foreign[0]!.aliases).toHaveLength(3)
    expect(foreign[0]!.settings!.map((s) => [s.option, s.line])).toEqual([['ProxyCommand', 3], ['StrictHostKeyChecking', 4], ['UserKnownHostsFile', 5]])
    expect(foreign[0]!.fix).toContain(`remove \`Include ${vendor}\` (${config}:1)`)
    expect(data.foreignBlocks).toEqual([expect.objectContaining({tool: 'vendor-cli', toolName: "the vendor's CLI", file: vendor, line: 1})])
    // ssh -G saw the same for all 3 aliases: confirmed, not repeated.
    expect(data.verified).toBe(6)
    expect(data.warnings.filter((w) => w.code === 'W_SSH_DIFFERS')).toEqual([])

    const check = await runCli(['ssh-sync', '--check'], {env})
    expect(check.code).toBe(1)
    expect(check.stderr).toContain(`warning: ${vendor}:1: a block of the vendor's CLI (\`gitpod environment ssh-config\`), \`Host *.gitpod.environment\`, decides how 3 ona aliases connect: ssh connects through \`gitpod environment ssh %h --proxy-connect --user %r\` instead of straight to ona's address; host-key checking off (StrictHostKeyChecking no); host keys never kept (UserKnownHostsFile /dev/null); remove`)
    expect(check.stderr).toContain("the vendor's CLI decides how ona's aliases connect: the SSH config is not current")
    expect(check.stdout).toMatch(/is up to date/)

    const {readFile} = await import('node:fs/promises')
    await writeFile(config, (await readFile(config, 'utf8')).replace(`Include ${vendor}\n`, ''))
    const after = await runCli(['ssh-sync', '--check'], {env})
    expect(after.stderr).not.toMatch(/W_FOREIGN|vendor/)
    expect(after.code).toBe(0)
  })

  it("Included below ona's block it still decides the ProxyCommand and host-key checking ona's entries do not set (ssh -G agrees)", async () => {
    await writeFile(vendor, VENDOR)
    await writeFile(config, 'Host github.com\n  User git\n')
    expect((await sync()).code).toBe(0)
    const {readFile} = await import('node:fs/promises')
    await writeFile(config, `${await readFile(config, 'utf8')}Match all\nInclude ${vendor}\n`)
    const {data} = await sync()
    expect((await sshG(config, ENV_ALIAS)).get('proxycommand')).toBe('gitpod environment ssh %h --proxy-connect --user %r')
    const foreign = data.warnings.filter((w) => w.code === 'W_FOREIGN_CONFIG')
    expect(foreign.map((w) => w.settings!.map((s) => s.option))).toEqual([['ProxyCommand', 'StrictHostKeyChecking', 'UserKnownHostsFile']])
    expect(foreign[0]!.fix).toMatch(/ona's entries do not set ProxyCommand, StrictHostKeyChecking, UserKnownHostsFile/)
  })
})

describe('the fix said for a section ona can be put above', () => {
  it("a tool's section in a file of the user's, Included above ona's block: the `--ssh-config` command the fix names, run as said, gives ssh ona's values and --check passes", async () => {
    const tools = path.join(ssh, 'tools.conf')
    await writeFile(tools, 'Host *.gitpod.environment\n  ProxyCommand gh cs ssh -c monalisa --stdio\n')
    await writeFile(config, `Include ${tools}\nHost github.com\n  User git\n`)
    const {data} = await sync('--resolve-on-connect')
    expect((await sshG(config, ENV_ALIAS)).get('proxycommand')).toBe('gh cs ssh -c monalisa --stdio')
    const [finding] = data.warnings.filter((w) => w.code === 'W_FOREIGN_CONFIG')
    expect(finding).toMatchObject({tool: 'gh', file: tools, line: 1})
    expect(finding!.fix).toBe(`move \`Include ${tools}\` (${config}:1) below ona's block, or let ona manage that file instead (\`ona ssh-sync --ssh-config ${tools}\` writes its block above the file's first Host or Match line)`)
    const command = /`ona ssh-sync (--ssh-config [^`]+)`/.exec(finding!.fix!)![1]!.split(' ')
    const moved = await sync(...command)
    expect(moved.code).toBe(0)
    expect(moved.data.warnings.filter((w) => w.code === 'W_FOREIGN_CONFIG')).toEqual([])
    // ona's old block in ~/.ssh/config is now a stale copy, which its own warning says how to take out.
    expect(moved.data.warnings.map((w) => w.code)).toContain('W_STALE_BLOCK')
    expect((await runCli(['ssh-sync', '--ssh-config', config, '--remove', '--all'], {env})).code).toBe(0)
    expect((await sshG(config, ENV_ALIAS)).get('proxycommand')).toMatch(/ssh-proxy/)
    const check = await runCli(['ssh-sync', '--check'], {env})
    expect(check.stderr).not.toContain('warning:')
    expect(check.code).toBe(0)
  })
})

describe('warnings grouped per line', () => {
  it('one `User alice` under `Host *` in an Included file, 3 environments: one warning naming the line once, with its 6 aliases', async () => {
    const users = path.join(ssh, 'users')
    await writeFile(users, 'Host *\n  User alice\n')
    await writeFile(config, `Include ${users}\nHost github.com\n`)
    const result = await runCli(['ssh-sync'], {env})
    expect(result.code).toBe(0)
    const warnings = result.stderr.split('\n').filter((l) => l.startsWith('warning:'))
    expect(warnings).toEqual([`warning: ${users}:2: \`User alice\`, under \`Host *\` (line 1), overrides the managed User of every ona alias (6): it comes before the ona block and OpenSSH uses the first value; limit that section, or have ssh read the ona block first`])
    expect((await sshG(config, ENV_ALIAS)).get('user')).toBe('alice')
    const {data} = await sync()
    expect(data.warnings.map((w) => [w.code, w.file, w.line, w.aliases?.length])).toEqual([['W_OVERRIDE', users, 2, 6]])
  })

  it('a line under a Match the tree cannot evaluate, which ssh -G shows applies: one warning, not one more per alias', async () => {
    // `Match localuser` depends on the moment ssh runs: the tree says "may", ssh -G says "does".
    await writeFile(config, `Match localuser ${os.userInfo().username}\n  StrictHostKeyChecking no\nHost github.com\n`)
    const {data} = await sync()
    expect((await sshG(config, ENV_ALIAS)).get('stricthostkeychecking')).toBe('false')
    const about = data.warnings.filter((w) => w.option === 'StrictHostKeyChecking')
    expect(about.map((w) => [w.code, w.aliases?.length])).toEqual([['W_OVERRIDE', 6]])
    expect(about[0]!.message).toMatch(/may decide how every ona alias \(6\) connect: host-key checking off/)
    expect(data.warnings.filter((w) => w.code === 'W_SSH_DIFFERS')).toEqual([])
  })
})
