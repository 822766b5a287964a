/**
 * A sync that changes nothing is answered from the last one (sync/unchanged.ts, issue 21: the no-op budget):
 * the same result, byte for byte, while the listing, the settings, the managed file, every file of the config
 * tree and ssh are as they were; the full way (and the right findings) as soon as any of them changed,
 * including a file that appears where an Include glob or path looks. Real files, the simulator and the real
 * `ssh -G` (through a wrapper that logs each run).
 */
import {mkdir, readFile, rm, symlink, unlink, writeFile} from 'node:fs/promises'
import path from 'node:path'

import {beforeEach, describe, expect, it} from 'vitest'

import {RACY_MS} from '../../src/lib/ssh-config/tree-probes.js'
import type {Simulator} from '../../src/lib/simulator/server.js'
import {useFixture} from '../helpers/fixture.js'
import {runCli} from '../helpers/run-cli.js'
import {writeSshWrapper} from '../helpers/ssh.js'

const A = '0199ec15-59d3-7e92-8e22-8cb6c7ba4df7'
const REUSED = 'its findings are reused'

interface Data {
  changed: boolean
  environments: number
  verified: number
  verifiedFromCache: number
  updated: Array<{alias: string}>
  warnings: Array<{code: string; file?: string; line?: number}>
}

const fixture = useFixture({prefix: 'unchanged', env: {ONA_SYSTEM_SSH_CONFIG: '', ONA_DEBUG: '1'}})
let home: string
let ssh: string
let config: string
let log: string
let sim: Simulator
let env: NodeJS.ProcessEnv

beforeEach(async () => {
  ;({home, config, sim, env} = fixture)
  ssh = path.dirname(config)
  log = path.join(home, 'ssh.log')
  // The real ssh, through a wrapper that logs each run.
  env.ONA_SSH = path.join(home, 'ssh-wrapper')
  await writeSshWrapper(env.ONA_SSH, {log})
})

/** One `ona ssh-sync --json`: its result, and whether the last sync's findings answered it. */
async function sync(...args: string[]): Promise<{data: Data; reused: boolean; stdout: string}> {
  const result = await runCli(['ssh-sync', '--json', ...args], {env})
  expect(result.code, result.stderr).toBe(0)
  return {data: JSON.parse(result.stdout) as Data, reused: result.stderr.includes(REUSED), stdout: result.stdout}
}

/**
 * Syncs until one is answered from the last: the simulator's listing settles once ona's key is READY on
 * every environment (until then each listing differs, and rightly takes the full way), and a file of the
 * tree written less than RACY_MS before a sync read it is not trusted to keep its identity.
 */
async function settled(): Promise<Data> {
  const until = Date.now() + RACY_MS + 8000
  while (Date.now() < until) {
    const result = await sync()
    if (result.reused) return result.data
    await new Promise((resolve) => setTimeout(resolve, 250))
  }
  throw new Error('no sync was answered from the last one')
}

/** Forgets what the last sync found: the next one takes the full way. */
const forget = () => rm(path.join(home, '.local', 'state', 'ona', 'sync-unchanged.json'), {force: true})

const codes = (data: Data) => data.warnings.map((w) => `${w.code} ${w.file === undefined ? '' : path.basename(w.file)}:${w.line ?? ''}`)

describe('a no-op sync answered from the last one', () => {
  it('gives the same result as the full way, starts no ssh, and --check and --dry-run share it', async () => {
    const users = path.join(ssh, 'users')
    await writeFile(users, 'Host *.gitpod.remote\n  StrictHostKeyChecking no\n')
    await writeFile(config, `Include ${users}\nHost github.com\n`)
    await settled()
    await forget()
    const full = await sync()
    expect(full.reused).toBe(false)
    const before = (await readFile(log, 'utf8')).split('\n').length
    const answered = await sync()
    expect(answered.reused).toBe(true)
    expect(answered.stdout).toBe(full.stdout)
    expect(answered.data).toMatchObject({changed: false, environments: 3, verified: 6, verifiedFromCache: 6})
    expect(codes(answered.data)).toEqual(['W_OVERRIDE users:2'])
    const check = await runCli(['ssh-sync', '--check'], {env})
    expect(check.code).toBe(0)
    expect(check.stderr).toContain(REUSED)
    const dry = await runCli(['ssh-sync', '--dry-run', '--json'], {env})
    expect(dry.stderr).toContain(REUSED)
    expect(JSON.parse(dry.stdout)).toMatchObject({changed: false, dryRun: true, diff: ''})
    expect((await readFile(log, 'utf8')).split('\n').length).toBe(before)
  })

  it('a file added where an Include glob looks is read: its override is reported', async () => {
    await mkdir(path.join(ssh, 'conf.d'))
    await writeFile(path.join(ssh, 'conf.d', 'a.conf'), 'Host github.com\n  User git\n')
    await writeFile(config, 'Include conf.d/*.conf\nHost github.com\n')
    expect(codes(await settled())).toEqual([])
    await writeFile(path.join(ssh, 'conf.d', 'b.conf'), 'Host *\n  User alice\n')
    const after = await sync()
    expect(after.reused).toBe(false)
    expect(codes(after.data)).toContain('W_OVERRIDE b.conf:2')
  })

  it('a file created at an Include path that did not exist is read', async () => {
    await writeFile(config, 'Include ~/.ssh/later\nHost github.com\n')
    expect(codes(await settled())).toEqual([])
    await writeFile(path.join(ssh, 'later'), 'Host *\n  User alice\n')
    const after = await sync()
    expect(after.reused).toBe(false)
    expect(codes(after.data)).toContain('W_OVERRIDE later:2')
  })

  it('an included symlink pointed elsewhere, or a file of the tree rewritten, is read again', async () => {
    const plain = path.join(home, 'plain.conf')
    const bad = path.join(home, 'bad.conf')
    await writeFile(plain, 'Host github.com\n  User git\n')
    await writeFile(bad, 'Host *\n  User alice\n')
    const link = path.join(ssh, 'linked')
    await symlink(plain, link)
    await writeFile(config, `Include ${link}\nHost github.com\n`)
    expect(codes(await settled())).toEqual([])
    await unlink(link)
    await symlink(bad, link)
    const retargeted = await sync()
    expect(retargeted.reused).toBe(false)
    expect(codes(retargeted.data)).toContain('W_OVERRIDE linked:2')

    await writeFile(bad, 'Host *\n  User bobby\n')
    await settled()
    // Same size and, within a second, maybe the same mtime to the second: nanoseconds and ctime tell.
    await writeFile(bad, 'Host *\n  User carol\n')
    const rewritten = await sync()
    expect(rewritten.reused).toBe(false)
  })

  it('the managed file edited outside the block, a moved environment or a new setting: the full way, and what it finds', async () => {
    await writeFile(config, 'Host github.com\n')
    await settled()
    const text = await readFile(config, 'utf8')
    await writeFile(config, `Host *.gitpod.environment\n  User mallory\n${text}`)
    const edited = await sync()
    expect(edited.reused).toBe(false)
    expect(codes(edited.data)).toContain('W_OVERRIDE config:2')
    await writeFile(config, text)

    await settled()
    sim.setSshAddress(A, {host: '127.0.0.77', port: 2222})
    const moved = await sync()
    expect(moved.reused).toBe(false)
    expect(moved.data.changed).toBe(true)
    expect(moved.data.updated.map((u) => u.alias)).toContain(`${A}.gitpod.environment`)

    await settled()
    const option = await sync('--ssh-option', 'ForwardAgent=yes')
    expect(option.reused).toBe(false)
    expect(option.data.changed).toBe(true)
    expect(await readFile(config, 'utf8')).toContain('ForwardAgent yes')
  })

  it('a file of the tree written just before the sync read it is not trusted yet: the next sync reads it again', async () => {
    const extra = path.join(ssh, 'extra')
    await writeFile(extra, 'Host github.com\n  User git\n')
    await writeFile(config, `Include ${extra}\nHost github.com\n`)
    await settled()
    await writeFile(extra, 'Host gitlab.com\n  User git\n')
    expect((await sync()).reused).toBe(false)
    // Read again within RACY_MS of its change: still not kept.
    expect((await sync()).reused).toBe(false)
    await settled()
  })

  it('a failed ssh -G is asked again: the sync after it is not answered from it', async () => {
    await writeFile(config, 'Host github.com\n')
    await settled()
    await rm(path.join(home, '.local', 'state', 'ona'), {recursive: true, force: true})
    const flag = path.join(home, 'fail')
    const failing = path.join(home, 'ssh-failing')
    await writeSshWrapper(failing, {before: `if [ -e '${flag}' ]; then exit 255; fi\n`})
    env.ONA_SSH = failing
    await writeFile(flag, '')
    const failed = await sync()
    expect(failed.data.warnings.map((w) => w.code)).toContain('W_SSH_G_FAILED')
    await rm(flag)
    const after = await sync()
    expect(after.reused).toBe(false)
    expect(after.data.warnings.map((w) => w.code)).not.toContain('W_SSH_G_FAILED')
    expect(after.data.verified).toBe(6)
  })

  it('a ${VAR} a line names: another value is another answer (ssh -G prints it expanded)', async () => {
    const known = path.join(home, 'known_hosts')
    await writeFile(known, '')
    await writeFile(config, 'Host *.gitpod.environment\n  UserKnownHostsFile ${ONA_TEST_KH}\nHost github.com\n')
    env.ONA_TEST_KH = '/dev/null'
    const differs = await settled()
    expect(differs.warnings.map((w) => w.code)).toContain('W_SSH_DIFFERS')
    env.ONA_TEST_KH = known
    const other = await sync()
    expect(other.reused).toBe(false)
    expect(other.data.warnings.map((w) => w.code)).not.toContain('W_SSH_DIFFERS')
  })

  it('a sync that could not verify everything keeps nothing for the next one', async () => {
    await writeFile(config, 'Host github.com\n')
    env.ONA_SSH = path.join(home, 'no-such-ssh')
    await sync()
    const first = await sync()
    expect(first.data.warnings.map((w) => w.code)).toContain('W_VERIFY_SKIPPED')
    const second = await sync()
    expect(second.reused).toBe(false)
  })
})
