/**
 * The interactive login on a real terminal: `script` (util-linux) gives the CLI a pseudo-terminal, the
 * test types the token when the prompt appears, and everything the terminal showed is checked for it.
 */
import {execFileSync, spawn} from 'node:child_process'
import {mkdtempSync, rmSync, statSync} from 'node:fs'
import os from 'node:os'
import path from 'node:path'

import {afterEach, beforeAll, beforeEach, describe, expect, it} from 'vitest'

import {startSimulator, type Simulator} from '../../src/lib/simulator/server.js'
import {baseEnv, binRun, builtCli, repoRoot} from '../helpers/run-cli.js'

function hasScript(): boolean {
  try {
    execFileSync('script', ['--version'], {stdio: 'ignore'})
    return true
  } catch {
    return false
  }
}

let sim: Simulator
let home: string

beforeAll(() => {
  if (!builtCli) throw new Error('run `npm run build` first: these tests run bin/run.js')
})
beforeEach(async () => {
  sim = await startSimulator({token: 'ona_pat_typed_on_a_terminal_7f3a9c'})
  home = mkdtempSync(path.join(os.tmpdir(), 'ona-tty-'))
})
afterEach(async () => {
  await sim.close()
  rmSync(home, {recursive: true, force: true})
})

/** Runs `ona login` on a pseudo-terminal, typing `typed` once the prompt is shown. */
function loginOnTerminal(typed: string): Promise<{code: number | null; screen: string}> {
  return new Promise((resolve, reject) => {
    const command = `'${process.execPath}' '${binRun}' login`
    const child = spawn('script', ['-q', '-e', '-c', command, '/dev/null'], {
      cwd: repoRoot,
      env: baseEnv(home, {ONA_API_URL: sim.url, ONA_KEYRING: 'off', TERM: 'dumb'}),
      stdio: ['pipe', 'pipe', 'pipe'],
    })
    let screen = ''
    let typedYet = false
    const onData = (chunk: Buffer) => {
      screen += chunk.toString('utf8')
      if (!typedYet && screen.includes('input is hidden')) {
        typedYet = true
        child.stdin.write(typed)
      }
    }
    child.stdout.on('data', onData)
    child.stderr.on('data', onData)
    const timer = setTimeout(() => child.kill('SIGKILL'), 20_000)
    child.on('error', reject)
    child.on('close', (code) => {
      clearTimeout(timer)
      resolve({code, screen})
    })
  })
}

describe.skipIf(!hasScript())('interactive login on a terminal', () => {
  it('asks with a hidden prompt, never echoes the token, and stores it after verifying', async () => {
    const {code, screen} = await loginOnTerminal(`${sim.token}\r`)
    expect(code).toBe(0)
    // Tokens are stored per origin: the prompt and the result name the origin, not just the host.
    expect(screen).toContain(`Paste a personal access token for ${new URL(sim.url).origin} (input is hidden)`)
    expect(screen).toContain(`Logged in to ${new URL(sim.url).origin} as ${sim.subject.id}`)
    expect(screen).not.toContain(sim.token)
    expect(screen).not.toContain(sim.token.slice(0, 12))
    expect(statSync(path.join(home, '.config', 'ona', 'credentials.json')).mode & 0o777).toBe(0o600)
  })

  it('treats Ctrl-C at the prompt as a cancel with a usage exit code, sending nothing', async () => {
    const {code, screen} = await loginOnTerminal('ona_pat_half\u0003')
    expect(code).toBe(2)
    expect(screen).toContain('login cancelled')
    expect(sim.requests).toHaveLength(0)
  })
})
