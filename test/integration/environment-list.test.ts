/** `ona environment list` / `ona env list` against the simulator: the table, and --json in a stable shape. */
import {mkdtemp, rm} from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import {PassThrough} from 'node:stream'

import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {pickEnvironment} from '../../src/lib/environments/picker.js'
import {startSimulator, type Simulator} from '../../src/lib/simulator/server.js'
import {baseEnv, runCli} from '../helpers/run-cli.js'

let home: string
let sim: Simulator
let env: NodeJS.ProcessEnv
beforeAll(async () => {
  home = await mkdtemp(path.join(os.tmpdir(), 'ona-envlist-'))
  sim = await startSimulator({
    seed: [
      {id: '0199ec15-59d3-7e92-8e22-8cb6c7ba4df7', name: 'api', ssh: {host: '127.0.0.11', port: 2222}},
      {id: '0199ec15-c3d8-7a66-b2f1-6e0d4f9a5b24', name: 'old', phase: 'ENVIRONMENT_PHASE_STOPPED'},
    ],
  })
  env = baseEnv(home, {ONA_API_URL: sim.url, ONA_TOKEN: sim.token, ONA_KEYRING: 'off'})
})
afterAll(async () => {
  await sim.close()
  await rm(home, {recursive: true, force: true})
})

describe('ona environment list', () => {
  it('prints id, name, phase, alias and address of each environment', async () => {
    const result = await runCli(['environment', 'list'], {env})
    expect(result.code).toBe(0)
    expect(result.stdout.split('\n')).toEqual([
      expect.stringMatching(/^ID +NAME +PHASE +ALIAS +ADDRESS$/),
      expect.stringMatching(/^0199ec15-59d3-7e92-8e22-8cb6c7ba4df7 +api +running +0199ec15-59d3-7e92-8e22-8cb6c7ba4df7\.gitpod\.environment +gitpod_devcontainer@127\.0\.0\.11:2222$/),
      expect.stringMatching(/^0199ec15-c3d8-7a66-b2f1-6e0d4f9a5b24 +old +stopped +0199ec15-c3d8-7a66-b2f1-6e0d4f9a5b24\.gitpod\.environment +-$/),
      '',
    ])
  })

  it('`ona env list --json` returns the rows as data, phases in the one JSON form of ona (the API enum, as ssh-sync --json)', async () => {
    const result = await runCli(['env', 'list', '--json'], {env})
    expect(result.code).toBe(0)
    expect(JSON.parse(result.stdout)).toEqual([
      {id: '0199ec15-59d3-7e92-8e22-8cb6c7ba4df7', name: 'api', phase: 'ENVIRONMENT_PHASE_RUNNING', alias: '0199ec15-59d3-7e92-8e22-8cb6c7ba4df7.gitpod.environment', address: 'gitpod_devcontainer@127.0.0.11:2222'},
      {id: '0199ec15-c3d8-7a66-b2f1-6e0d4f9a5b24', name: 'old', phase: 'ENVIRONMENT_PHASE_STOPPED', alias: '0199ec15-c3d8-7a66-b2f1-6e0d4f9a5b24.gitpod.environment', address: null},
    ])
  })
})

describe('the picker', () => {
  const environments = [
    {id: 'a-1', name: 'api', phase: 'ENVIRONMENT_PHASE_RUNNING', statusVersion: 1n},
    {id: 'b-2', name: 'old', phase: 'ENVIRONMENT_PHASE_STOPPED', statusVersion: 1n},
  ]
  it('lists the environments and returns the one whose number is typed, after a wrong answer', async () => {
    const input = new PassThrough()
    const output = new PassThrough()
    let shown = ''
    output.on('data', (c: Buffer) => (shown += c.toString()))
    const picked = pickEnvironment(environments, input, output)
    input.write('7\n')
    input.write('2\n')
    expect((await picked).id).toBe('b-2')
    expect(shown).toContain('  1) api  a-1  running')
    expect(shown).toContain('  2) old  b-2  stopped')
    expect(shown).toContain('"7" is not one of the numbers above')
  })

  // Regression (issue 13): names and ids from the API went to the terminal raw.
  it('shows names, ids and phases with their control characters made visible, one line per environment', async () => {
    const input = new PassThrough()
    const output = new PassThrough()
    let shown = ''
    output.on('data', (c: Buffer) => (shown += c.toString()))
    const evil = [{id: 'c-3\u001b[2J', name: 'x\u001b[1;1Hfake: ok\n\u202e', phase: 'ENVIRONMENT_PHASE_RUNNING\r', statusVersion: 1n}]
    const picked = pickEnvironment(evil, input, output)
    input.write('1\n')
    expect((await picked).id).toBe('c-3\u001b[2J')
    expect(shown).not.toMatch(/[\u001b\r\u202e]/)
    expect(shown).toContain('  1) x\\e[1;1Hfake: ok\\n\\u202e  c-3\\e[2J  running\\r\n')
  })

  it('ends as cancelled when the input ends', async () => {
    const input = new PassThrough()
    const picked = pickEnvironment(environments, input, new PassThrough())
    input.end()
    await expect(picked).rejects.toMatchObject({code: 'ERR_CANCELLED'})
  })
})
