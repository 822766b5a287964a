/**
 * The managed file is a setting per API origin (issue 21): once chosen with `--ssh-config` (of `ona ssh-sync`
 * or `ona ssh`), plain `ona ssh-sync`, `ona ssh` and watch mode use it, and ona's block found in an Included
 * file is ona's.
 * The built CLI against the simulator on 127.0.0.1, a scratch HOME, and the real `ssh -G`.
 */
import {chmod, readFile, writeFile} from 'node:fs/promises'
import path from 'node:path'

import {beforeEach, describe, expect, it} from 'vitest'

import type {Simulator} from '../../src/lib/simulator/server.js'
import {BEGIN_MARKER} from '../../src/lib/ssh-config/index.js'
import {useFixture} from '../helpers/fixture.js'
import {runCli} from '../helpers/run-cli.js'
import {sshG} from '../helpers/ssh.js'

const A = '0199ec15-59d3-7e92-8e22-8cb6c7ba4df7'
type Data = {sshConfig: string; sshConfigFrom?: string; readBySsh: boolean; readByHomeConfig: boolean; warnings: Array<{code: string; message: string}>}

const fixture = useFixture({prefix: 'managed', configText: 'Host github.com\n  User git\n', env: {ONA_SYSTEM_SSH_CONFIG: ''}})
let home: string
let ssh: string
let config: string
let conf: string
let sim: Simulator
let env: NodeJS.ProcessEnv
beforeEach(() => {
  ;({home, config, sim, env} = fixture)
  ssh = path.dirname(config)
  conf = path.join(ssh, 'ona.conf')
})

async function sync(...args: string[]): Promise<Data> {
  const result = await runCli(['ssh-sync', '--json', ...args], {env})
  expect(result.code, result.stderr).toBe(0)
  return JSON.parse(result.stdout) as Data
}

const blocks = (text: string) => text.split('\n').filter((l) => l === BEGIN_MARKER).length

describe('--ssh-config chosen once is the managed file from then on', () => {
  it("after the README's `--ssh-config ~/.ssh/ona.conf --add-include`, a plain sync updates ona.conf and writes no second block into ~/.ssh/config", async () => {
    await sync('--ssh-config', '~/.ssh/ona.conf', '--add-include')
    expect((await readFile(config, 'utf8')).split('\n')).toContain('Include ona.conf')
    const plain = await sync()
    // The scratch HOME is not the passwd home: ~/.ssh/config under it reads the file, plain ssh does not.
    expect(plain).toMatchObject({sshConfig: conf, sshConfigFrom: 'setting', readByHomeConfig: true, readBySsh: false})
    expect(blocks(await readFile(config, 'utf8'))).toBe(0)
    expect(blocks(await readFile(conf, 'utf8'))).toBe(1)
    // ona's own block is never "your own entry", and nothing is stale.
    expect(plain.warnings).toEqual([])
    // The real ssh reads it through the Include (given absolutely here: the tests' ssh takes `~` from the runner's HOME).
    expect((await sshG(conf, `${A}.gitpod.environment`)).get('hostname')).toBe('127.0.0.11')
    const settings = JSON.parse(await readFile(path.join(home, '.config', 'ona', 'settings.json'), 'utf8'))
    expect(settings.origins[new URL(sim.url).origin].sshConfig).toBe(conf)

    // Plain --remove takes the block out of the file it lives in.
    const removed = await sync('--remove')
    expect(removed.sshConfig).toBe(conf)
    expect(blocks(await readFile(conf, 'utf8'))).toBe(0)

    // Naming ~/.ssh/config again goes back to the default, and forgets the setting.
    await sync('--ssh-config', config)
    expect(JSON.parse(await readFile(path.join(home, '.config', 'ona', 'settings.json'), 'utf8')).origins[new URL(sim.url).origin].sshConfig).toBeUndefined()
    expect((await sync()).sshConfig).toBe(config)
  })

  it('an install set up before the setting existed: its block in an Included file is found, used and remembered, never duplicated', async () => {
    // ONA_SSH_CONFIG (an environment variable) is never remembered.
    await writeFile(config, `Include ona.conf\n${await readFile(config, 'utf8')}`)
    const first = await runCli(['ssh-sync'], {env: {...env, ONA_SSH_CONFIG: conf}})
    expect(first.code, first.stderr).toBe(0)
    expect(blocks(await readFile(conf, 'utf8'))).toBe(1)
    const human = await runCli(['ssh-sync'], {env})
    expect(human.code, human.stderr).toBe(0)
    expect(human.stdout).toContain("~/.ssh/ona.conf holds this install's ona block (nothing names a file, and ~/.ssh/config holds none): ona manages that file from now on")
    expect(human.stderr).toBe('')
    expect(blocks(await readFile(config, 'utf8'))).toBe(0)
    expect(await sync()).toMatchObject({sshConfig: conf, sshConfigFrom: 'setting', warnings: []})
  })

  it('`ona ssh` syncs and connects through the remembered file: ssh reads it through ~/.ssh/config, never as -F ona.conf', async () => {
    await sync('--ssh-config', conf, '--add-include')
    const stub = path.join(home, 'ssh-stub')
    await writeFile(stub, `#!/bin/sh\nprintf '%s\\n' "$@" > '${home}/argv'\n`)
    await chmod(stub, 0o755)
    const result = await runCli(['ssh', A, '--skip-preflight'], {env: {...env, ONA_SSH: stub}})
    expect(result.code, result.stderr).toBe(0)
    const argv = (await readFile(path.join(home, 'argv'), 'utf8')).trimEnd().split('\n')
    // The scratch HOME is not the passwd home, so ~/.ssh/config (which Includes ona.conf) is named; never ona.conf itself.
    expect(argv).toEqual(['-F', config, `${A}.gitpod.environment`])
    expect(blocks(await readFile(config, 'utf8'))).toBe(0)
  })

  it('`ona ssh --ssh-config` remembers the file as `ona ssh-sync --ssh-config` does: plain `ona ssh` and `ona ssh-sync` use it, no second block', async () => {
    const stub = path.join(home, 'ssh-stub')
    await writeFile(stub, `#!/bin/sh\nprintf '%s\\n' "$@" > '${home}/argv'\n`)
    await chmod(stub, 0o755)
    const chosen = await runCli(['ssh', A, '--skip-preflight', '--ssh-config', '~/.ssh/ona.conf'], {env: {...env, ONA_SSH: stub}})
    expect(chosen.code, chosen.stderr).toBe(0)
    expect(blocks(await readFile(conf, 'utf8'))).toBe(1)
    const settings = JSON.parse(await readFile(path.join(home, '.config', 'ona', 'settings.json'), 'utf8'))
    expect(settings.origins[new URL(sim.url).origin].sshConfig).toBe(conf)
    // Nothing Includes ona.conf: a plain `ona ssh` finds it only through the saved setting.
    const plain = await runCli(['ssh', A, '--skip-preflight'], {env: {...env, ONA_SSH: stub}})
    expect(plain.code, plain.stderr).toBe(0)
    expect(blocks(await readFile(config, 'utf8'))).toBe(0)
    expect((await readFile(path.join(home, 'argv'), 'utf8')).trimEnd().split('\n')).toEqual(['-F', conf, `${A}.gitpod.environment`])
    expect(await sync()).toMatchObject({sshConfig: conf, sshConfigFrom: 'setting'})
    expect(blocks(await readFile(config, 'utf8'))).toBe(0)
  })

  it('a second block in an Included file, with another file named explicitly, is a stale ona block, never "your own entry"', async () => {
    await sync('--ssh-config', conf, '--add-include')
    const explicit = await sync('--ssh-config', config)
    expect(explicit.warnings.map((w) => w.code)).toContain('W_STALE_BLOCK')
    expect(explicit.warnings.filter((w) => w.code === 'W_ALIAS_CLAIMED' || /your own entry/.test(w.message))).toEqual([])
  })
})
