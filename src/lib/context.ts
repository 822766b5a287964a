/**
 * The one place that builds what the library needs (gh's cmdutil.Factory): environment, paths, output
 * streams and clock. Commands build it from the process; tests build it by hand with a scratch HOME,
 * captured streams and a real local server. Heavy dependencies (keyring, chokidar, ssh-config) are created lazily
 * by the modules that use them, never here, so that building a Context costs nothing at start-up.
 */
import os from 'node:os'

import {processIOStreams, type IOStreams} from './io.js'
import {resolvePaths, type Paths} from './paths.js'
import type {Platform} from './platform/platform.js'

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
}

export const systemClock: Clock = {now: () => Date.now()}

export interface ContextOptions {
  env?: NodeJS.ProcessEnv
  io?: IOStreams
  sshConfig?: string
  clock?: Clock
  /** Default `process.platform`. */
  platform?: NodeJS.Platform
  /** The account's home as the OS reports it (default `os.homedir()`). */
  homedir?: string
}

export function createContext(options: ContextOptions = {}): Context {
  const env = options.env ?? process.env
  const platform: Platform = {name: options.platform ?? process.platform, homedir: options.homedir ?? os.homedir(), env}
  return {
    env,
    platform,
    paths: resolvePaths(platform, {sshConfig: options.sshConfig}),
    io: options.io ?? processIOStreams(),
    clock: options.clock ?? systemClock,
  }
}
