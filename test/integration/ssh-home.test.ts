/**
 * Which home ssh reads its config from (issue 21): `.ssh/config` in the password database's home, not
 * $HOME's. Tests run with a scratch HOME, which is exactly the moved-$HOME case of containers and `sudo -E`:
 * the real plain `ssh -G` (no -F) shows what such a user gets. The password database is injected (as the
 * platform allows) for the case where $HOME is the account's home.
 */
import os from 'node:os'
import path from 'node:path'
import {PassThrough} from 'node:stream'

import {beforeEach, describe, expect, it} from 'vitest'

import {createContext} from '../../src/lib/context.js'
import {createIOStreams} from '../../src/lib/io.js'
import type {Simulator} from '../../src/lib/simulator/server.js'
import {formatSyncResult, syncSshConfig} from '../../src/lib/sync/sync.js'
import {useFixture} from '../helpers/fixture.js'
import {runCli} from '../helpers/run-cli.js'
import {runProcess, SSH_PATH} from '../helpers/ssh.js'

const A = '0199ec15-59d3-7e92-8e22-8cb6c7ba4df7'
const ALIAS = `${A}.gitpod.environment`

const fixture = useFixture({prefix: 'home', configText: 'Host github.com\n  User git\n', env: {ONA_SYSTEM_SSH_CONFIG: ''}})
let home: string
let config: string
let sim: Simulator
let env: NodeJS.ProcessEnv
beforeEach(() => ({home, config, sim, env} = fixture))

describe('$HOME that is not the home ssh reads', () => {
  it('readBySsh is false, as the real plain `ssh -G` shows, and sync says which file ssh reads', async () => {
    const result = await runCli(['ssh-sync', '--json'], {env})
    expect(result.code, result.stderr).toBe(0)
    const data = JSON.parse(result.stdout) as {readBySsh: boolean; readByHomeConfig: boolean; sshUserConfig: string; verified: number}
    const own = path.join(os.userInfo().homedir, '.ssh', 'config')
    expect(data).toMatchObject({readBySsh: false, readByHomeConfig: true, sshUserConfig: own, verified: 6})
    // What a plain `ssh <alias>` in this environment does: it never sees the alias.
    const plain = await runProcess(SSH_PATH, ['-G', ALIAS], {env})
    expect(plain.stdout).toMatch(new RegExp(`^hostname ${ALIAS.replaceAll('.', '\\.')}$`, 'm'))
    const human = await runCli(['ssh-sync'], {env})
    expect(human.stdout).toContain(`ssh reads ${own} (from this user's home in the password database), not ~/.ssh/config under $HOME (${home}): a plain \`ssh <alias>\` does not see these aliases; \`ona ssh\` names ~/.ssh/config with -F`)
  })

  it('when $HOME is the account\'s home (the password database says so), readBySsh is true and nothing is said', async () => {
    const out = new PassThrough()
    const io = createIOStreams({out, err: out, isTTY: false, env: {NO_COLOR: '1'}})
    const me = os.userInfo().username
    const ctx = createContext({env, io, passwd: (name: string) => (name === me ? home : undefined)})
    const result = await syncSshConfig(ctx, {apiUrl: sim.url})
    expect(result).toMatchObject({readBySsh: true, readByHomeConfig: true, sshUserConfig: config})
    expect(formatSyncResult(result, home).join('\n')).not.toMatch(/ssh reads/)
  })

  it("a dry run that would add the Include says plain ssh would read the file, when $HOME is the account's home", async () => {
    const out = new PassThrough()
    const io = createIOStreams({out, err: out, isTTY: false, env: {NO_COLOR: '1'}})
    const me = os.userInfo().username
    const ctx = createContext({env, io, passwd: (name: string) => (name === me ? home : undefined), sshConfig: path.join(home, '.ssh', 'ona.conf')})
    const result = await syncSshConfig(ctx, {apiUrl: sim.url, dryRun: true, addInclude: true})
    expect(result).toMatchObject({readBySsh: true, readByHomeConfig: true, includeAdded: config})
  })
})
