/**
 * Windows' task runs ona's supervisor (`ona service run --definition <task xml>`, service/supervisor.ts):
 * a crashed watcher is restarted with a growing delay, exit 0 and exit 4 never. The policy and the loop are
 * platform-free and run here with real child processes; the task XML is rendered with the platform
 * injected, and the real CLI runs it on Linux: what the watcher gets (arguments, hostile variable values)
 * comes from the definition file, never through a command line Task Scheduler or cmd.exe would expand.
 * Ending the task ends the supervisor, not its child: install and uninstall stop the pair's watcher through
 * its socket (a real watcher here).
 */
import {spawn} from 'node:child_process'
import {mkdtemp, readFile, rm, writeFile} from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'

import fc from 'fast-check'
import {afterEach, beforeEach, describe, expect, it} from 'vitest'

import {createContext} from '../../src/lib/context.js'
import {definitionBytes, installService, serviceDefinition, serviceSpec, serviceTarget, stopTaskWatcher} from '../../src/lib/service/index.js'
import {BEGIN_MARKER} from '../../src/lib/ssh-config/index.js'
import {runningWatcher} from '../../src/lib/watch/lock.js'
import {nextStep, RESTART_POLICY, superviseWatcher, type ChildExit} from '../../src/lib/service/supervisor.js'
import {parseTaskRun, windowsArg} from '../../src/lib/service/task-scheduler.js'
import {createFixture} from '../helpers/fixture.js'
import {baseEnv, binRun, runCli} from '../helpers/run-cli.js'
import {waitFor} from '../helpers/wait-for.js'

/** How a Windows program's C runtime (and node) splits its command line into arguments (CommandLineToArgvW). */
function splitWindowsCommandLine(line: string): string[] {
  const args: string[] = []
  let i = 0
  while (i < line.length) {
    while (line[i] === ' ' || line[i] === '\t') i++
    if (i >= line.length) break
    let arg = ''
    let quoted = false
    for (; i < line.length; i++) {
      const ch = line[i]!
      if (ch === '\\') {
        let n = 0
        while (line[i] === '\\') (n++, i++)
        if (line[i] === '"') {
          arg += '\\'.repeat(Math.floor(n / 2))
          if (n % 2 === 1) arg += '"'
          else quoted = !quoted
        } else {
          arg += '\\'.repeat(n)
          i--
        }
        continue
      }
      if (ch === '"') {
        if (quoted && line[i + 1] === '"') (arg += '"', i++)
        else quoted = !quoted
        continue
      }
      if ((ch === ' ' || ch === '\t') && !quoted) break
      arg += ch
    }
    args.push(arg)
  }
  return args
}

const xmlText = (value: string) => value.replaceAll('&quot;', '"').replaceAll('&lt;', '<').replaceAll('&gt;', '>').replaceAll('&amp;', '&')

describe('restart policy (nextStep)', () => {
  const crash = (ranMs = 1000, code: number | null = 1): ChildExit => ({code, ranMs})
  it('exit 0 and exit 4 are never restarted; 4 is kept as the exit code and says to log in', () => {
    expect(nextStep({code: 0, ranMs: 5}, 0)).toMatchObject({action: 'stop', exitCode: 0})
    const auth = nextStep({code: 4, ranMs: 5}, 3)
    expect(auth).toMatchObject({action: 'stop', exitCode: 4})
    expect(auth.why).toContain('ona login')
  })

  it('crashes in a row wait 5 s, doubling up to 5 min; a run of 10 min starts from 5 s again', () => {
    let failures = 0
    const delays: number[] = []
    for (let n = 0; n < 9; n++) {
      const step = nextStep(crash(), failures)
      expect(step.action).toBe('restart')
      if (step.action !== 'restart') return
      delays.push(step.delayMs)
      failures = step.failures
    }
    expect(delays).toEqual([5000, 10_000, 20_000, 40_000, 80_000, 160_000, 300_000, 300_000, 300_000])
    expect(nextStep(crash(RESTART_POLICY.steadyMs), failures)).toMatchObject({action: 'restart', delayMs: 5000, failures: 1})
    // A signal (null code) and a failed start are crashes too.
    expect(nextStep({code: null, signal: 'SIGKILL', ranMs: 10}, 0)).toMatchObject({action: 'restart', why: expect.stringContaining('SIGKILL')})
    expect(nextStep({code: null, error: 'ENOENT', ranMs: 0}, 0)).toMatchObject({action: 'restart', why: expect.stringContaining('could not start (ENOENT)')})
  })

  it('every delay is bounded, whatever the number of failures (property)', () => {
    fc.assert(fc.property(fc.integer({min: 0, max: 1e6}), fc.integer({min: 0, max: 1e9}), fc.integer({min: -255, max: 255}), (failures, ranMs, code) => {
      const step = nextStep({code, ranMs}, failures)
      if (code === 0 || code === 4) return step.action === 'stop'
      return step.action === 'restart' && step.delayMs >= RESTART_POLICY.firstDelayMs && step.delayMs <= RESTART_POLICY.maxDelayMs
    }))
  })
})

describe('superviseWatcher with real child processes', () => {
  /** Starts `node -e` exiting with the next code of `codes` (or killing itself for 'KILL'). */
  function starter(codes: Array<number | 'KILL'>) {
    const started: number[] = []
    const start = () =>
      new Promise<ChildExit>((resolve) => {
        const next = codes[started.length]!
        started.push(started.length)
        const began = performance.now()
        const script = next === 'KILL' ? 'process.kill(process.pid, "SIGKILL")' : `process.exit(${next})`
        const child = spawn(process.execPath, ['-e', script], {stdio: 'ignore'})
        child.once('close', (code, signal) => resolve({code, signal, ranMs: performance.now() - began}))
      })
    return {start, started}
  }

  it('restarts crashes (an exit 1, a SIGKILL) with growing delays and ends with 4 at an expired token, without starting it again', async () => {
    const {start, started} = starter([1, 'KILL', 1, 4, 1])
    const slept: number[] = []
    const lines: string[] = []
    const code = await superviseWatcher({start, sleep: async (ms) => void slept.push(ms), log: (l) => lines.push(l)})
    expect(code).toBe(4)
    expect(started).toHaveLength(4)
    expect(slept).toEqual([5000, 10_000, 20_000])
    expect(lines[1]).toContain('SIGKILL')
    expect(lines.at(-1)).toContain('not restarted')
  })

  it('a clean exit after a crash ends the supervisor with 0; a stop asked meanwhile starts nothing more', async () => {
    const clean = starter([1, 0])
    expect(await superviseWatcher({start: clean.start, sleep: async () => undefined, log: () => undefined})).toBe(0)
    expect(clean.started).toHaveLength(2)
    const abort = new AbortController()
    const stopped = starter([1, 1, 1])
    const code = await superviseWatcher({start: stopped.start, signal: abort.signal, sleep: async () => abort.abort(), log: () => undefined})
    expect(code).toBe(0)
    expect(stopped.started).toHaveLength(1)
  })
})

describe('the task definition (win32, platform injected) and `ona service run`', () => {
  let dir: string
  beforeEach(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'ona-supervisor-'))
  })
  afterEach(async () => {
    await rm(dir, {recursive: true, force: true})
  })

  /** Values cmd.exe's `set "K=V"` inside `/c` and Task Scheduler's own expansion mangled. */
  const HOSTILE = {
    HTTPS_PROXY: 'http://alice:p%41ss%USERNAME%"x@proxy.corp:3128',
    NO_PROXY: '.corp,"quoted",%NO_PROXY%,!bang!,^caret,&amp,a|b,<x>',
    NODE_EXTRA_CA_CERTS: 'C:\\corp certs\\"ca".pem',
    ONA_SSH: 'C:\\Program Files\\OpenSSH\\ssh.exe',
    ONA_TOKEN: 'never-in-a-unit',
  }

  function windowsTask(env: Record<string, string>, script = 'C:\\Users\\alice\\AppData\\Roaming\\npm\\node_modules\\ona-ssh\\bin\\run.js') {
    const ctx = createContext({env: {USERPROFILE: 'C:\\Users\\alice', LOCALAPPDATA: 'C:\\Users\\alice\\AppData\\Local', ...env}, platform: 'win32', homedir: 'C:\\Users\\alice'})
    return serviceDefinition(serviceSpec(ctx, {node: 'C:\\Program Files\\nodejs\\node.exe', script, target: serviceTarget(ctx)}), {user: 'DESKTOP-1\\alice'})
  }

  it('hostile values stay out of every command line; the action splits back into exactly its arguments; the run comment gives them back byte for byte', () => {
    const def = windowsTask(HOSTILE)
    const command = xmlText(/<Command>([^<]*)<\/Command>/.exec(def.content)![1]!)
    const args = xmlText(/<Arguments>([^<]*)<\/Arguments>/.exec(def.content)![1]!)
    expect(command).toBe('C:\\Program Files\\nodejs\\node.exe')
    // Nothing for Task Scheduler (or any cmd.exe) to expand: no %, no variable value.
    expect(`${command} ${args}`).not.toContain('%')
    for (const value of Object.values(HOSTILE)) expect(args).not.toContain(value)
    expect(def.content).not.toContain('cmd.exe')
    expect(def.content).not.toContain('never-in-a-unit')
    expect(splitWindowsCommandLine(args)).toEqual(['--max-semi-space-size=1', '--lite-mode', 'C:\\Users\\alice\\AppData\\Roaming\\npm\\node_modules\\ona-ssh\\bin\\run.js', 'service', 'run', '--definition', 'C:\\Users\\alice\\AppData\\Local\\ona\\ona-watch.xml'])
    // The file as schtasks and the supervisor read it: UTF-16 with its byte-order mark.
    const text = definitionBytes(def).subarray(2).toString('utf16le')
    const run = parseTaskRun(text)!
    const {ONA_TOKEN: _token, ...carried} = HOSTILE
    expect(run.env).toEqual({...carried, ONA_API_URL: 'https://app.ona.com/api'})
    expect(run.args).toEqual(['ssh-sync', '--watch', '--service', '--ssh-config', 'C:\\Users\\alice\\.ssh\\config'])
    expect(run.log).toBe('C:\\Users\\alice\\AppData\\Local\\ona\\logs\\watch.log')
    // An XML comment may not hold `--`: the JSON's dashes are escaped.
    for (const comment of text.match(/<!--[\s\S]*?-->/g)!) expect(comment.slice(4, -3)).not.toContain('--')
  })

  it('a value or path holding U+2028/U+2029 keeps the run comment one line and parses back; a definition an earlier ona wrote with them raw still parses', () => {
    const env = {HTTPS_PROXY: 'http://proxy.corp:3128/a\u2028b', NO_PROXY: '.corp\u2029x'}
    const script = 'C:\\Users\\alice\\odd\u2028dir\\ona-ssh\\bin\\run.js'
    const def = windowsTask(env, script)
    const comment = def.content.split('\n').find((line) => line.startsWith('<!-- ona-run '))!
    expect(comment).not.toMatch(/[\u2028\u2029]/)
    const run = parseTaskRun(def.content)!
    expect(run).toBeDefined()
    expect(run.script).toBe(script)
    expect(run.env).toMatchObject(env)
    // As an earlier ona wrote it: JSON.stringify leaves the separators raw inside the strings.
    const raw = def.content.replace(comment, comment.replaceAll('\\u2028', '\u2028').replaceAll('\\u2029', '\u2029'))
    expect(raw).toMatch(/[\u2028\u2029]/)
    expect(parseTaskRun(raw)).toEqual(run)
  })

  it('windowsArg: any argument splits back unchanged (property: spaces, quotes, trailing backslashes)', () => {
    fc.assert(fc.property(fc.array(fc.string({unit: fc.constantFrom('a', ' ', '"', '\\', '%', 'é', '\t')}), {minLength: 1, maxLength: 5}), (args) => {
      expect(splitWindowsCommandLine(args.map(windowsArg).join(' '))).toEqual(args)
    }))
  })

  it('`ona service run` (the real CLI) hands the watcher its arguments and hostile values intact, logs it, and ends with 4 after an expired token without restarting it', async () => {
    const out = path.join(dir, 'seen.json')
    const fake = path.join(dir, 'fake-watcher.cjs')
    // Stands in for `ona ssh-sync --watch --service`: records what it got, then ends as at an expired token.
    await writeFile(fake, `require('node:fs').appendFileSync(${JSON.stringify(out)}, JSON.stringify({args: process.argv.slice(2), env: {HTTPS_PROXY: process.env.HTTPS_PROXY, NO_PROXY: process.env.NO_PROXY, NODE_EXTRA_CA_CERTS: process.env.NODE_EXTRA_CA_CERTS}}) + '\\n'); console.log('watcher output'); process.exit(4)\n`)
    const def = windowsTask(HOSTILE, fake)
    const run = parseTaskRun(def.content)!
    // The same definition with this machine's log path (the Windows one cannot be written here).
    const log = path.join(dir, 'logs', 'watch.log')
    const file = path.join(dir, 'ona-watch.xml')
    const content = def.content.replace(/<!-- ona-run .* -->/, `<!-- ona-run ${JSON.stringify({...run, nodeFlags: [], log}).replaceAll('-', '\\u002d')} -->`)
    await writeFile(file, definitionBytes({kind: 'task', content}))
    const result = await runCli(['service', 'run', '--definition', file], {env: baseEnv(dir), timeoutMs: 30_000})
    expect(result.code, result.stderr).toBe(4)
    const seen = (await readFile(out, 'utf8')).trim().split('\n').map((l) => JSON.parse(l) as {args: string[]; env: Record<string, string>})
    expect(seen).toHaveLength(1)
    expect(seen[0]!.args).toEqual(['ssh-sync', '--watch', '--service', '--ssh-config', 'C:\\Users\\alice\\.ssh\\config'])
    expect(seen[0]!.env).toEqual({HTTPS_PROXY: HOSTILE.HTTPS_PROXY, NO_PROXY: HOSTILE.NO_PROXY, NODE_EXTRA_CA_CERTS: HOSTILE.NODE_EXTRA_CA_CERTS})
    const logged = await readFile(log, 'utf8')
    expect(logged).toContain('watcher output')
    expect(logged).toContain('the token expired or was revoked (exit 4): not restarted')
  }, 40_000)

  it('a node or ona path holding %NAME% (which Task Scheduler would expand, with no escape) is refused before anything is written', async () => {
    const ctx = createContext({env: {USERPROFILE: 'C:\\Users\\alice', LOCALAPPDATA: 'C:\\Users\\alice\\AppData\\Local'}, platform: 'win32', homedir: 'C:\\Users\\alice'})
    await expect(installService(ctx, {node: 'C:\\tools\\%NODE_HOME%\\node.exe', script: 'C:\\ona\\run.js', dryRun: true, identity: {user: 'alice'}})).rejects.toMatchObject({code: 'ERR_SERVICE', message: expect.stringContaining('%NODE_HOME%')})
    // A lone % is no variable: written as it is.
    expect((await installService(ctx, {node: 'C:\\100% node\\node.exe', script: 'C:\\ona\\run.js', dryRun: true, identity: {user: 'alice'}})).content).toContain('<Command>C:\\100% node\\node.exe</Command>')
  })

  it('`ona service run` with a definition that has no run line says so', async () => {
    const file = path.join(dir, 'other.xml')
    await writeFile(file, '<Task/>')
    const result = await runCli(['service', 'run', '--definition', file], {env: baseEnv(dir)})
    expect(result.code).not.toBe(0)
    expect(result.stderr).toContain('does not describe what the service runs')
  })
})

describe('ending the Windows task does not end its watcher: install and uninstall stop it through its socket', () => {
  it('stopTaskWatcher stops the pair\'s running watcher (exit 0) for a task, and leaves it alone for a systemd unit', async () => {
    const f = await createFixture({prefix: 'task-stop', configText: 'Host mine\n  Port 2200\n'})
    const child = spawn(process.execPath, [binRun, 'ssh-sync', '--watch', '--service'], {env: f.env, stdio: 'ignore'})
    const exited = new Promise<number | null>((resolve) => child.once('exit', resolve))
    try {
      await waitFor(async () => (await readFile(f.config, 'utf8')).includes(BEGIN_MARKER), 20_000, 'the watcher\'s first sync')
      const target = serviceTarget(f.ctx)
      await waitFor(async () => (await runningWatcher(f.ctx, target.origin)) !== undefined, 10_000, 'the watcher\'s lock')
      // systemd stops its unit's process itself: nothing is sent.
      await stopTaskWatcher(f.ctx, 'systemd', target)
      expect(await runningWatcher(f.ctx, target.origin)).toMatchObject({pid: child.pid})
      await stopTaskWatcher(f.ctx, 'task', target)
      expect(await exited).toBe(0)
      expect(await runningWatcher(f.ctx, target.origin)).toBeUndefined()
    } finally {
      child.kill('SIGKILL')
      await f.close()
    }
  }, 40_000)
})
