/**
 * The one place that builds what the library needs (gh's cmdutil.Factory): environment, paths, output
 * streams and clock. Commands build it from the process; tests build it by hand with a scratch HOME,
 * captured streams and a real local server. Heavy dependencies (keyring, chokidar, ssh-config) are created lazily
 * by the modules that use them, never here, so that building a Context costs nothing at start-up.
 */
import os from 'node:os'

import {createDeadline, resolveTimeout, type Deadline} from './deadline.js'
import {processIOStreams, type IOStreams} from './io.js'
import {resolvePaths, type Paths} from './paths.js'
import type {Platform} from './platform/platform.js'
import type {StatusLine} from './status-line.js'

export interface Clock {
  now(): number
}

export interface Context {
  env: NodeJS.ProcessEnv
  paths: Paths
  io: IOStreams
  clock: Clock
  /** The OS rules in effect (platform/): tests pass `platform: 'win32'` or `'darwin'` to run those branches. */
  platform: Platform
  /**
   * The overall deadline of a one-shot command (`--timeout`, deadline.ts); absent in watch mode and the
   * service, and in tests that do not ask for one.
   */
  deadline?: Deadline
  /** The terminal's "waiting for ..." line (status-line.ts); absent off a terminal and with --json. */
  status?: StatusLine
  /** Whether a person is at the terminal (stderr is one): the macOS keychain prompt is waited for then. */
  interactive?: boolean
}

export const systemClock: Clock = {now: () => Date.now()}

export interface ContextOptions {
  env?: NodeJS.ProcessEnv
  io?: IOStreams
  sshConfig?: string
  /** ona's config directory, absolute, instead of the one ONA_CONFIG_DIR / the platform rules give. */
  configDir?: string
  clock?: Clock
  /** Default `process.platform`. */
  platform?: NodeJS.Platform
  /** The account's home as the OS reports it (default `os.homedir()`). */
  homedir?: string
  /** The password database for `~user` (default the machine's: platform/passwd.ts). */
  passwd?: (name: string) => string | undefined
  /**
   * A one-shot command: its `--timeout` value (undefined when not given: ONA_TIMEOUT, else 60 s) becomes
   * `ctx.deadline`. Left out (watch mode, the service), there is no deadline.
   */
  oneShot?: {timeout: string | undefined; json?: boolean; statusLine?: boolean; /** False for a command without a --timeout flag (only ONA_TIMEOUT sets it). */ hasFlag?: boolean}
  /** Whether a person answers at stderr's terminal (default: whether io.err is a TTY). */
  interactive?: boolean
  /** A status line to use instead of the terminal's (tests). */
  status?: StatusLine
}

export function createContext(options: ContextOptions = {}): Context {
  const env = options.env ?? process.env
  const platform: Platform = {name: options.platform ?? process.platform, homedir: options.homedir ?? os.homedir(), env, ...(options.passwd ? {passwd: options.passwd} : {})}
  let io = options.io ?? processIOStreams()
  const errTTY = Boolean((io.err as {isTTY?: boolean}).isTTY)
  const interactive = options.interactive ?? errTTY
  let status = options.status
  let deadline: Deadline | undefined
  if (options.oneShot) {
    const {budgetMs, source} = resolveTimeout(options.oneShot.timeout, env, {hasFlag: options.oneShot.hasFlag})
    if (budgetMs !== undefined) deadline = createDeadline(budgetMs, {source})
    if (!status && errTTY && !options.oneShot.json && options.oneShot.statusLine !== false && env.TERM !== 'dumb') status = lazyStatusLine(io.err)
  }
  if (status) io = clearingFirst(io, status)
  return {
    env,
    platform,
    paths: resolvePaths(platform, {sshConfig: options.sshConfig, ...(options.configDir === undefined ? {} : {configDir: options.configDir})}),
    io,
    clock: options.clock ?? systemClock,
    interactive,
    ...(deadline ? {deadline} : {}),
    ...(status ? {status} : {}),
  }
}

/** The status line, its module loaded by the first wait: a command that never waits never loads it. */
function lazyStatusLine(err: IOStreams['err']): StatusLine {
  let line: StatusLine | undefined
  let loading: Promise<StatusLine> | undefined
  const load = () => (loading ??= import('./status-line.js').then(({createStatusLine}) => (line = createStatusLine(err))))
  return {
    begin(text) {
      if (line) return line.begin(text)
      // The module arrives within a tick or two, long before the line may show; updates meanwhile are kept.
      let current = text
      let handle: ReturnType<StatusLine['begin']> | undefined
      let ended = false
      void load().then((l) => {
        if (!ended) handle = l.begin(current)
      })
      return {
        update(next) {
          current = next
          handle?.update(next)
        },
        done() {
          ended = true
          handle?.done()
        },
      }
    },
    clear: () => line?.clear(),
  }
}

/** Human lines clear the status line first, so it never sits in front of them. */
function clearingFirst(io: IOStreams, status: StatusLine): IOStreams {
  return {
    ...io,
    info: (line) => (status.clear(), io.info(line)),
    warn: (line) => (status.clear(), io.warn(line)),
    print: (line) => (status.clear(), io.print(line)),
  }
}
