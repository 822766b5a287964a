/**
 * Runs the built CLI (`bin/run.js`, after `npm run build`) as a child process with the Node that runs
 * the tests, a scratch HOME and only the environment the test gives it.
 */
import {spawn} from 'node:child_process'
import {existsSync} from 'node:fs'
import {fileURLToPath} from 'node:url'

export const repoRoot = fileURLToPath(new URL('../..', import.meta.url))
export const binRun = fileURLToPath(new URL('../../bin/run.js', import.meta.url))
export const builtCli = existsSync(fileURLToPath(new URL('../../dist/commands', import.meta.url)))

export interface CliResult {
  code: number | null
  stdout: string
  stderr: string
  ms: number
}

/** A minimal environment: PATH (for ssh & co.), HOME, and what the test adds. No inherited tokens. */
export function baseEnv(home: string, extra: Record<string, string | undefined> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: home, NO_COLOR: '1', LANG: 'C.UTF-8'}
  for (const [key, value] of Object.entries(extra)) if (value !== undefined) env[key] = value
  return env
}

/** Runs `node bin/run.js ...args` with stdin from `input` (closed when absent); kills it after `timeoutMs`. */
export function runCli(args: string[], options: {env: NodeJS.ProcessEnv; input?: string; timeoutMs?: number}): Promise<CliResult> {
  return runCommand(process.execPath, [binRun, ...args], options)
}

export function runCommand(command: string, args: string[], options: {env: NodeJS.ProcessEnv; input?: string; timeoutMs?: number; cwd?: string}): Promise<CliResult> {
  const started = Date.now()
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {env: options.env, cwd: options.cwd ?? repoRoot, stdio: ['pipe', 'pipe', 'pipe']})
    let stdout = ''
    let stderr = ''
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk))
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk))
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 20_000)
    child.on('error', reject)
    child.on('close', (code) => {
      clearTimeout(timer)
      resolve({code, stdout, stderr, ms: Date.now() - started})
    })
    child.stdin.on('error', () => {})
    child.stdin.end(options.input ?? '')
  })
}
