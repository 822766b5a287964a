/**
 * bin/run.js answers `--version` and `--help` without loading @oclif/core (issue 6: start-up budget). These
 * tests run the built CLI both ways (ONA_STARTUP_FAST_PATH=0 is oclif's own answer) and require the same
 * bytes and exit code, and they check by a module-resolution hook that the fast way really skipped oclif.
 */
import {readFileSync} from 'node:fs'
import {mkdtemp, rm} from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'

import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {baseEnv, binRun, builtCli, repoRoot, runCommand} from '../helpers/run-cli.js'

const MARK = 'startup-test: @oclif/core resolved'
// Preloaded into the CLI: prints MARK on stderr the first time anything resolves to @oclif/core.
const hook = `data:text/javascript,${encodeURIComponent(`
import module from 'node:module'
import {writeSync} from 'node:fs'
let seen = false
module.registerHooks({resolve(specifier, context, next) {
  const result = next(specifier, context)
  if (!seen && result.url.includes('/node_modules/@oclif/core/')) { seen = true; writeSync(2, ${JSON.stringify(MARK + '\n')}) }
  return result
}})`)}`

let home: string
beforeAll(async () => {
  home = await mkdtemp(path.join(os.tmpdir(), 'ona-startup-'))
})
afterAll(async () => {
  await rm(home, {recursive: true, force: true})
})

async function run(args: string[], extra: Record<string, string> = {}) {
  const result = await runCommand(process.execPath, ['--import', hook, binRun, ...args], {env: baseEnv(home, extra)})
  const loadedOclif = result.stderr.includes(MARK)
  return {code: result.code, stdout: result.stdout, stderr: result.stderr.replace(`${MARK}\n`, ''), loadedOclif}
}

const manifest = builtCli ? JSON.parse(readFileSync(path.join(repoRoot, 'oclif.manifest.json'), 'utf8')) : {commands: {}}
const commandIds = Object.keys(manifest.commands as Record<string, unknown>)

describe.skipIf(!builtCli)('start-up fast path (built CLI)', () => {
  it('prints the same --version line as oclif, without loading oclif', async () => {
    const fast = await run(['--version'])
    const oclif = await run(['--version'], {ONA_STARTUP_FAST_PATH: '0'})
    expect(oclif.loadedOclif).toBe(true)
    expect(fast.loadedOclif).toBe(false)
    expect(fast).toEqual({...oclif, loadedOclif: false})
    expect(fast.stdout).toBe(`ona-ssh/0.1.0 ${process.platform}-${process.arch} node-${process.version}\n`)
    expect(fast.code).toBe(0)
  })

  it.each([[['--help']], [['help']]])('prints the same root help as oclif for %j, with the running node version, without loading oclif', async (args) => {
    const fast = await run(args)
    const oclif = await run(args, {ONA_STARTUP_FAST_PATH: '0'})
    expect(oclif.loadedOclif).toBe(true)
    expect(fast.loadedOclif).toBe(false)
    // The VERSION line is the user agent of the node running now, not of the one that built the cache.
    expect(fast.stdout).toContain(`node-${process.version}`)
    expect(fast).toEqual({...oclif, loadedOclif: false})
  })

  it.each(commandIds.map((id) => [id]))('prints the same --help text as oclif for "%s", without loading oclif', async (id) => {
    const args = [id, '--help']
    const fast = await run(args)
    const oclif = await run(args, {ONA_STARTUP_FAST_PATH: '0'})
    expect(oclif.loadedOclif).toBe(true)
    expect(oclif.stdout).toContain('USAGE')
    expect(fast.loadedOclif).toBe(false)
    expect(fast).toEqual({...oclif, loadedOclif: false})
  })

  it('leaves help at another width to oclif (OCLIF_COLUMNS), which wraps it differently', async () => {
    const narrow = await run(['ssh-sync', '--help'], {OCLIF_COLUMNS: '50'})
    const cached = await run(['ssh-sync', '--help'])
    expect(narrow.loadedOclif).toBe(true)
    expect(narrow.code).toBe(0)
    expect(narrow.stdout).not.toBe(cached.stdout)
    expect(narrow).toEqual(await run(['ssh-sync', '--help'], {OCLIF_COLUMNS: '50', ONA_STARTUP_FAST_PATH: '0'}))
  })

  it('leaves anything else to oclif: -v is an unknown command there, and so it stays', async () => {
    const fast = await run(['-v'])
    const oclif = await run(['-v'], {ONA_STARTUP_FAST_PATH: '0'})
    expect(fast.loadedOclif).toBe(true)
    expect(fast.code).toBe(2)
    expect(fast).toEqual(oclif)
  })
})
