/**
 * The set-up most integration tests share: a scratch HOME with a `~/.ssh/config` of the test's choosing,
 * the simulator on 127.0.0.1, the environment the built CLI runs with, and a library Context on that HOME
 * whose output is captured. `useFixture` gives every test of a file a fresh one (beforeEach / afterEach);
 * `createFixture` makes one by hand (a beforeAll, or a test that needs two).
 */
import {mkdir, mkdtemp, rm, writeFile} from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import {PassThrough} from 'node:stream'

import {afterEach, beforeEach} from 'vitest'

import {createApiClient, type ApiClient, type ApiClientOptions} from '../../src/lib/api/client.js'
import {createContext, type Context} from '../../src/lib/context.js'
import {createIOStreams} from '../../src/lib/io.js'
import {startSimulator, type Simulator, type SimulatorOptions} from '../../src/lib/simulator/server.js'
import {baseEnv} from './run-cli.js'

export interface FixtureOptions {
  /** Name of the scratch directory (`ona-<prefix>-XXXXXX`). */
  prefix: string
  /** What `~/.ssh/config` holds at the start (mode 0600 in a 0700 `~/.ssh`); undefined: no file. */
  configText?: string
  /** The simulator's options; default the demo set (`fixtures/environments.json`). */
  simulator?: SimulatorOptions
  /** More variables for the CLI's environment and the Context's. */
  env?: Record<string, string | undefined>
}

export interface Fixture {
  home: string
  /** `~/.ssh/config` of the scratch HOME: the file ona manages. */
  config: string
  sim: Simulator
  /** The environment the built CLI runs with: this HOME, the simulator's URL and token, no keychain. */
  env: NodeJS.ProcessEnv
  /** A library Context on this HOME (same variables as `env`) whose stdout and stderr go to `output()`. */
  ctx: Context
  output(): string
  /** A client of the simulator, with short retries and backoff unless overridden. */
  client(overrides?: Partial<ApiClientOptions>): Promise<ApiClient>
  close(): Promise<void>
}

export async function createFixture(options: FixtureOptions): Promise<Fixture> {
  const home = await mkdtemp(path.join(os.tmpdir(), `ona-${options.prefix}-`))
  const config = path.join(home, '.ssh', 'config')
  await mkdir(path.dirname(config), {mode: 0o700})
  if (options.configText !== undefined) await writeFile(config, options.configText, {mode: 0o600})
  const sim = await startSimulator(options.simulator ?? {seed: path.resolve('fixtures/environments.json')})
  const env = baseEnv(home, {ONA_API_URL: sim.url, ONA_TOKEN: sim.token, ONA_KEYRING: 'off', ...options.env})
  let output = ''
  const sink = new PassThrough()
  sink.setEncoding('utf8').on('data', (chunk: string) => (output += chunk))
  const ctx = createContext({env, io: createIOStreams({out: sink, err: sink, isTTY: false, env: {NO_COLOR: '1'}})})
  return {
    home,
    config,
    sim,
    env,
    ctx,
    output: () => output,
    client: (overrides = {}) => createApiClient({baseUrl: sim.url, token: sim.token, env: {}, retries: 1, backoff: {baseMs: 20, maxMs: 100}, ...overrides}),
    async close() {
      await sim.close()
      await rm(home, {recursive: true, force: true})
    },
  }
}

/**
 * A fresh fixture for each test of the file: read its fields inside a test (or a hook registered after
 * this call), never at the top level. A file that names them as variables takes them in one line:
 * `beforeEach(() => ({home, config, sim, env} = fixture))`.
 */
export function useFixture(options: FixtureOptions): Fixture {
  let current: Fixture | undefined
  beforeEach(async () => {
    current = await createFixture(options)
  })
  afterEach(async () => {
    await current?.close()
    current = undefined
  })
  const now = (): Fixture => {
    if (!current) throw new Error('the fixture is only there inside a test')
    return current
  }
  return {
    get home() {
      return now().home
    },
    get config() {
      return now().config
    },
    get sim() {
      return now().sim
    },
    get env() {
      return now().env
    },
    get ctx() {
      return now().ctx
    },
    output: () => now().output(),
    client: (overrides) => now().client(overrides),
    close: () => now().close(),
  }
}
