/**
 * The real OpenSSH client, driven the way tests need it: `ssh -G` to see what a config resolves to, and a
 * non-interactive `ssh` run against a test sshd with explicit key and known_hosts paths.
 *
 * Paths are always absolute: ssh runs here with the runner's environment, and expands `~` in IdentityFile
 * and the like from the passwd entry (an Include's `~` from $HOME), so a scratch HOME does not redirect it.
 */
import {spawn} from 'node:child_process'

import {parseSshG} from '../../src/lib/ssh-config/verify.js'

export const SSH_PATH = process.env.ONA_TEST_SSH ?? 'ssh'

/**
 * An executable at `file` that ona can be given as ONA_SSH: it runs `before` (shell lines, e.g. one that
 * exits early), appends its arguments to `log` when given (one line per ssh process), then execs the real
 * ssh found on PATH, as ona would have.
 */
export async function writeSshWrapper(file: string, options: {log?: string; before?: string} = {}): Promise<void> {
  const {chmod, writeFile} = await import('node:fs/promises')
  const log = options.log === undefined ? '' : `echo "$*" >> '${options.log}'\n`
  await writeFile(file, `#!/bin/sh\n${options.before ?? ''}${log}exec ${SSH_PATH} "$@"\n`)
  await chmod(file, 0o755)
}

export interface SshGResult {
  code: number
  /** ssh -G's stdout, untouched. */
  raw: string
  stderr: string
  /** Lowercase keyword -> every value printed, in order (the product's parser, verify.ts). */
  options: Map<string, string[]>
  /** The first (or only) value of a keyword, or undefined. */
  get(key: string): string | undefined
  /** Every value of a keyword ([] when absent). */
  all(key: string): string[]
}

export interface RunResult {
  code: number
  stdout: string
  stderr: string
  /** True when the timeout killed the process (code is then -1). */
  timedOut: boolean
}

/** Runs a command with a hard timeout, capturing output; never throws for a non-zero exit. */
export function runProcess(
  command: string,
  args: string[],
  options: {timeoutMs?: number; env?: NodeJS.ProcessEnv; input?: string} = {},
): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    // No input: stdin is closed outright (a pipe would EPIPE when the process exits before reading it).
    const withInput = options.input !== undefined
    const child = spawn(command, args, {env: options.env ?? process.env, stdio: [withInput ? 'pipe' : 'ignore', 'pipe', 'pipe']})
    let stdout = ''
    let stderr = ''
    let timedOut = false
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk))
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk))
    const timer = setTimeout(() => {
      timedOut = true
      child.kill('SIGKILL')
    }, options.timeoutMs ?? 15_000)
    child.once('error', (error) => {
      clearTimeout(timer)
      reject(error)
    })
    child.once('close', (code) => {
      clearTimeout(timer)
      resolve({code: timedOut ? -1 : (code ?? -1), stdout, stderr, timedOut})
    })
    if (withInput) {
      child.stdin!.on('error', () => {})
      child.stdin!.end(options.input)
    }
  })
}

/** An environment for ssh with no agent, so only the key given with -i is ever offered. */
function sshEnv(extra?: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const env = {...process.env, ...extra}
  delete env.SSH_AUTH_SOCK
  delete env.SSH_AGENT_PID
  return env
}

/**
 * `ssh -G -F configPath [extraArgs] host`: what OpenSSH resolves `host` to under that config, parsed.
 * Note ssh -G runs `Match exec` commands; use it on configs the test wrote.
 */
export async function sshG(configPath: string, host: string, extraArgs: string[] = []): Promise<SshGResult> {
  const result = await runProcess(SSH_PATH, ['-G', '-F', configPath, ...extraArgs, host], {env: sshEnv(), timeoutMs: 10_000})
  const options = parseSshG(result.stdout)
  return {
    code: result.code,
    raw: result.stdout,
    stderr: result.stderr,
    options,
    get: (key) => options.get(key.toLowerCase())?.[0],
    all: (key) => [...(options.get(key.toLowerCase()) ?? [])],
  }
}

export interface SshRunOptions {
  /** Private key offered with `-i` (with IdentitiesOnly=yes): the test sshd's `clientKeyPath`. */
  clientKeyPath: string
  /**
   * known_hosts file for this run (absolute). `null` leaves UserKnownHostsFile to the config under test,
   * for tests of a block that names its own known_hosts file.
   */
  knownHostsPath: string | null
  /** Default `accept-new`. With BatchMode=yes, `yes` fails on an unknown host instead of asking. */
  strictHostKeyChecking?: 'yes' | 'no' | 'accept-new'
  /** Kills ssh after this long. Default 15 s. */
  timeoutMs?: number
  /** Extra arguments placed before the alias (e.g. ['-o', 'LogLevel=DEBUG1']). */
  extraArgs?: string[]
  env?: NodeJS.ProcessEnv
}

/**
 * Runs `ssh -F configPath -o BatchMode=yes ... alias command` against a real server and returns its exit
 * code and output. Never prompts: an unknown or changed host key, or a refused key, is a non-zero exit
 * with ssh's own message on stderr.
 */
export function sshRun(configPath: string, alias: string, command: string, options: SshRunOptions): Promise<RunResult> {
  const args = [
    '-F',
    configPath,
    '-o',
    'BatchMode=yes',
    '-o',
    `StrictHostKeyChecking=${options.strictHostKeyChecking ?? 'accept-new'}`,
    ...(options.knownHostsPath === null ? [] : ['-o', `UserKnownHostsFile=${options.knownHostsPath}`, '-o', 'GlobalKnownHostsFile=/dev/null']),
    '-i',
    options.clientKeyPath,
    '-o',
    'IdentitiesOnly=yes',
    '-o',
    'ConnectTimeout=5',
    ...(options.extraArgs ?? []),
    alias,
    command,
  ]
  return runProcess(SSH_PATH, args, {env: sshEnv(options.env), timeoutMs: options.timeoutMs ?? 15_000})
}
