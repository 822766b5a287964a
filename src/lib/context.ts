/**
 * The one place that builds what the library needs (gh's cmdutil.Factory): environment, paths, output
 * streams and clock. Commands build it from the process; tests build it by hand with a scratch HOME,
 * captured streams and a real local server. Heavy dependencies (got, keyring, chokidar) are created lazily
 * by the modules that use them, never here, so that building a Context costs nothing at start-up.
 */
import {processIOStreams, type IOStreams} from './io.js'
import {resolvePaths, type Paths} from './paths.js'

export interface Clock {
  now(): number
}

export interface Context {
  env: NodeJS.ProcessEnv
  paths: Paths
  io: IOStreams
  clock: Clock
}

export const systemClock: Clock = {now: () => Date.now()}

export function createContext(options: {env?: NodeJS.ProcessEnv; io?: IOStreams; sshConfig?: string; clock?: Clock} = {}): Context {
  const env = options.env ?? process.env
  return {
    env,
    paths: resolvePaths(env, {sshConfig: options.sshConfig}),
    io: options.io ?? processIOStreams(),
    clock: options.clock ?? systemClock,
  }
}
