/**
 * Below the Node.js version the dependencies need, `ona` says so once and exits 1, for every command,
 * instead of printing oclif's engine warning on each run and then failing somewhere else. Needs an old
 * `node` on the machine (Debian's is 20); skipped with a message when there is none.
 */
import {execFileSync} from 'node:child_process'
import {readFileSync} from 'node:fs'
import {mkdtemp, rm} from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'

import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {baseEnv, binRun, repoRoot, runCommand} from '../helpers/run-cli.js'

const pkg = JSON.parse(readFileSync(path.join(repoRoot, 'package.json'), 'utf8')) as {engines: {node: string}}
const minimum = /^>=(\d+\.\d+\.\d+)$/.exec(pkg.engines.node)?.[1]

function versionOf(node: string): string | undefined {
  try {
    return execFileSync(node, ['-p', 'process.versions.node'], {encoding: 'utf8', timeout: 10_000}).trim()
  } catch {
    return undefined
  }
}
const older = (a: string, b: string) => {
  const [x, y] = [a, b].map((v) => v.split('.').map(Number))
  for (let i = 0; i < 3; i++) if (x![i] !== y![i]) return x![i]! < y![i]!
  return false
}
const oldNode = ['/usr/bin/node', '/usr/local/bin/node'].find((n) => {
  const v = versionOf(n)
  return v !== undefined && minimum !== undefined && older(v, minimum)
})
if (!oldNode) console.warn(`node-version.test.ts: no Node.js older than ${minimum} found (/usr/bin/node); the old-node cases are skipped`)

it('bin/run.js and package.json engines name the same minimum', () => {
  expect(minimum).toBeDefined()
  const launcher = readFileSync(binRun, 'utf8')
  expect(/const MIN_NODE = \[(\d+), (\d+), (\d+)\]/.exec(launcher)?.slice(1).join('.')).toBe(minimum)
})

describe.skipIf(!oldNode)(`on a Node.js older than ${minimum}`, () => {
  let home: string
  beforeAll(async () => {
    home = await mkdtemp(path.join(os.tmpdir(), 'ona-oldnode-'))
  })
  afterAll(async () => {
    await rm(home, {recursive: true, force: true})
  })

  it.each([[['--version']], [['ssh-sync']], [['login', '--token-stdin']], [['help']]])('fails once and clearly for `ona %s`', async (args) => {
    const result = await runCommand(oldNode!, [binRun, ...args], {env: baseEnv(home)})
    expect(result.code).toBe(1)
    expect(result.stdout).toBe('')
    const lines = result.stderr.trimEnd().split('\n')
    expect(lines).toHaveLength(2)
    expect(lines[0]).toBe(`error: ona needs Node.js ${minimum} or newer; this is Node.js v${versionOf(oldNode!)} (${oldNode})`)
    expect(lines[1]).toMatch(/^hint: Install a current Node.js LTS/)
    expect(result.stderr).not.toMatch(/engine|EBADENGINE|oclif/i)
  })
})
