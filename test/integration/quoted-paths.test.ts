/**
 * A home with a letter outside ASCII (`/home/jürgen`): every sync used to fail, though OpenSSH reads such a
 * path when it is quoted. Through the built CLI against the simulator, with the real `ssh -G`.
 */
import {mkdir, mkdtemp, readFile, rm, writeFile} from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'

import {afterEach, beforeEach, describe, expect, it} from 'vitest'

import {startSimulator, type Simulator} from '../../src/lib/simulator/server.js'
import {baseEnv, builtCli, repoRoot, runCli} from '../helpers/run-cli.js'
import {sshG} from '../helpers/ssh.js'

let root: string
let sim: Simulator
beforeEach(async () => {
  root = await mkdtemp(path.join(os.tmpdir(), 'ona-quoted-'))
  sim = await startSimulator({seed: path.join(repoRoot, 'fixtures', 'environments.json')})
})
afterEach(async () => {
  await sim.close()
  await rm(root, {recursive: true, force: true})
})

describe.skipIf(!builtCli)('ona ssh-sync under a home named jürgen', () => {
  it("writes the key path quoted as UTF-8, ssh -G reads the same path, and the ssh -G check finds nothing to warn about", async () => {
    const home = path.join(root, 'jürgen')
    await mkdir(path.join(home, '.ssh'), {recursive: true, mode: 0o700})
    const config = path.join(home, '.ssh', 'config')
    await writeFile(config, 'Host github.com\n  User git\n', {mode: 0o600})
    const r = await runCli(['ssh-sync', '--json'], {env: baseEnv(home, {ONA_API_URL: sim.url, ONA_TOKEN: sim.token, ONA_KEYRING: 'off'})})
    expect(r.code, r.stderr).toBe(0)
    const result = JSON.parse(r.stdout) as {warnings: Array<{code: string}>; verified: number}
    expect(result.warnings.map((w) => w.code)).toEqual([])
    expect(result.verified).toBeGreaterThan(0)
    const key = path.join(home, '.config', 'ona', 'ssh', 'id_ed25519')
    expect((await readFile(config)).includes(Buffer.from(`IdentityFile "${key}"`, 'utf8'))).toBe(true)
    const resolved = await sshG(config, '0199ec15-59d3-7e92-8e22-8cb6c7ba4df7.gitpod.environment')
    expect(resolved.all('identityfile')).toEqual([key])
  })
})
