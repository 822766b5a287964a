/**
 * API text printed to a terminal (issue 13): the simulator serves environments whose name, phase and id
 * carry a screen clear, a cursor move, a forged "fake: ok" line and a bidi override; the human output of
 * `ona environment list`, `ona ssh-sync` and an `ona ssh` failure holds no ESC, no C1 or bidi control and
 * no injected line, while `--json` keeps the raw values.
 */
import {mkdtemp, rm} from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'

import {afterEach, beforeAll, beforeEach, describe, expect, it} from 'vitest'

import {startSimulator, type Simulator} from '../../src/lib/simulator/server.js'
import {baseEnv, builtCli, runCli, type CliResult} from '../helpers/run-cli.js'

const EVIL = '\u001b[2J\u001b[1;1Hfake: ok\n'
const RUNNING_ID = '0199ec15-59d3-7e92-8e22-8cb6c7ba4df7'
const PENDING_ID = `0199ec15-dead${EVIL}`

let home: string
let sim: Simulator
let env: NodeJS.ProcessEnv

// eslint-disable-next-line no-control-regex
const UNSAFE = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/

/** No control character but the line ends, and no line that starts with the forged text. */
function expectClean(result: CliResult): void {
  for (const text of [result.stdout, result.stderr]) {
    expect(text).not.toMatch(UNSAFE)
    for (const line of text.split('\n')) expect(line.startsWith('fake: ok')).toBe(false)
  }
}

beforeAll(() => {
  if (!builtCli) throw new Error('run `npm run build` first: these tests run bin/run.js')
})
beforeEach(async () => {
  home = await mkdtemp(path.join(os.tmpdir(), 'ona-apitext-'))
  sim = await startSimulator({
    seed: [
      {id: RUNNING_ID, name: `api${EVIL}`, ssh: {host: '127.0.0.11', port: 2222}},
      {id: '0199ec15-c3d8-7a66-b2f1-6e0d4f9a5b24', name: `old\u202etxt.exe`, phase: `ENVIRONMENT_PHASE_STOPPED${EVIL}`},
      {id: PENDING_ID, name: 'pending', phase: 'ENVIRONMENT_PHASE_CREATING'},
    ],
  })
  env = baseEnv(home, {ONA_API_URL: sim.url, ONA_TOKEN: sim.token, ONA_KEYRING: 'off'})
})
afterEach(async () => {
  await sim.close()
  await rm(home, {recursive: true, force: true})
})

describe('API text in human output', () => {
  it('`ona environment list` prints one line per environment, escapes visible, and --json keeps the raw name', async () => {
    const result = await runCli(['environment', 'list'], {env})
    expect(result.code).toBe(0)
    expectClean(result)
    const lines = result.stdout.trimEnd().split('\n')
    expect(lines).toHaveLength(4)
    expect(result.stdout).toContain('api\\e[2J\\e[1;1Hfake: ok\\n')
    expect(result.stdout).toContain('old\\u202etxt.exe')
    const json = await runCli(['environment', 'list', '--json'], {env})
    const rows = JSON.parse(json.stdout) as Array<{id: string; name: string}>
    expect(rows.find((r) => r.id === RUNNING_ID)?.name).toBe(`api${EVIL}`)
  })

  it('`ona ssh-sync` change lines hold no escape and no injected line', async () => {
    const result = await runCli(['ssh-sync'], {env})
    expect(result.code).toBe(0)
    expectClean(result)
    // Every stdout line is one of ona's own: a change verb, the summary, or which config ssh reads (scratch HOME).
    for (const line of result.stdout.trimEnd().split('\n')) expect(line).toMatch(/^(added|updated|removed|kept|waiting|created|key) +|^~\/\.ssh\/config |^ssh reads \S+ \(from this user's home/)
    expect(result.stdout).toContain('waiting  0199ec15-dead\\e[2j\\e[1;1hfake: ok\\n.gitpod.environment')
  })

  it('an `ona ssh` failure quoting the server message is one error line and one hint line', async () => {
    sim.injectFault({type: 'http', status: 400, code: 'invalid_argument', message: `bad request${EVIL}\u009b31m\u202eevil`}, {rpc: 'ListEnvironments', times: Infinity})
    const result = await runCli(['ssh', 'api', '--skip-preflight'], {env})
    expect(result.code).not.toBe(0)
    expectClean(result)
    expect(result.stderr.trimEnd().split('\n')).toEqual([expect.stringMatching(/^error: .*bad request\\e\[2J\\e\[1;1Hfake: ok\\n\\x9b31m\\u202eevil/), expect.stringMatching(/^hint: /)])
  })

  it('an ambiguous `ona ssh` names the candidates on one line, their names escaped', async () => {
    const result = await runCli(['ssh', '0199ec15', '--skip-preflight'], {env})
    expect(result.code).toBe(2)
    expectClean(result)
    const lines = result.stderr.trimEnd().split('\n')
    expect(lines).toHaveLength(2)
    expect(lines[0]).toMatch(/^error: "0199ec15" matches 3 environments: /)
    expect(lines[0]).toContain(`${RUNNING_ID} (api\\e[2J\\e[1;1Hfake: ok\\n), running`)
  })
})
