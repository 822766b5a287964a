/**
 * A stand-in for the few parts of @oclif/core that a start-up-critical command uses (Command, Flags, Args),
 * so that such a command runs without loading oclif at all (oclif alone costs several bare node starts).
 *
 * scripts/bundle.mjs builds each command marked `static fastPath = true` a second time with `@oclif/core`
 * aliased to this module: the command's own class, flags and run() are the single source of truth, and
 * help still comes from oclif (bin/run.js never sends `--help` here).
 *
 * The rule that keeps both ways identical: this module only ever runs an invocation it understands
 * completely. Anything else (an unknown or repeated flag, a bad value, conflicting flags, `--`, a hook, a
 * theme, `ONA_CONTENT_TYPE`) makes `runFast` return 'oclif' before the command does anything, and
 * bin/run.js hands the same argv to oclif, whose own parser then prints its own error. Output, exit codes
 * and `--json` follow oclif's Command._run and Command.catch line by line; an unexpected error is thrown
 * to bin/run.js, which prints it with oclif's own handler. test/integration/fast-path.test.ts compares
 * both ways byte for byte.
 */
import {existsSync} from 'node:fs'
import os from 'node:os'
import path from 'node:path'

/** Thrown by parse() when an invocation needs oclif after all; caught by runFast only. */
class NeedsOclif extends Error {
  constructor(readonly why: string) {
    super(`needs oclif: ${why}`)
  }
}

type FlagDefinition = {
  type: 'boolean' | 'option'
  /** Set by this module's own builders: how to turn the text into a value. */
  lite?: 'string' | 'integer' | 'unsupported'
  default?: unknown
  min?: number
  max?: number
  char?: string
  env?: string
  exclusive?: string[]
  required?: boolean
  [key: string]: unknown
}

type ArgDefinition = {lite?: 'string' | 'unsupported'; required?: boolean; [key: string]: unknown}

// Properties whose meaning this module does not implement: a run that uses such a flag is left to oclif.
const UNSUPPORTED_FLAG_KEYS = ['multiple', 'dependsOn', 'exactlyOne', 'relationships', 'combinable', 'deprecated', 'delimiter', 'aliases', 'charAliases', 'allowStdin', 'noCacheDefault']
const UNSUPPORTED_ARG_KEYS = ['options', 'default', 'parse', 'ignoreStdin']

function flag(lite: FlagDefinition['lite'], type: FlagDefinition['type']) {
  return (options: Record<string, unknown> = {}): FlagDefinition => ({...options, type, lite})
}

export const Flags = {
  boolean: flag(undefined, 'boolean'),
  string: flag('string', 'option'),
  integer: flag('integer', 'option'),
  // Anything else oclif offers is accepted at build time and leaves every run of the command to oclif.
  custom: () => flag('unsupported', 'option'),
  option: () => flag('unsupported', 'option'),
  directory: flag('unsupported', 'option'),
  file: flag('unsupported', 'option'),
  url: flag('unsupported', 'option'),
}

export const Args = {
  string: (options: Record<string, unknown> = {}): ArgDefinition => ({...options, lite: 'string'}),
  integer: (options: Record<string, unknown> = {}): ArgDefinition => ({...options, lite: 'unsupported'}),
  custom: () => (options: Record<string, unknown> = {}): ArgDefinition => ({...options, lite: 'unsupported'}),
}

export interface LiteConfig {
  bin: string
  name: string
  version: string
  root: string
  userAgent: string
  pjson: Record<string, unknown> & {oclif?: Record<string, unknown>}
  scopedEnvVar(key: string): string | undefined
  scopedEnvVarKey(key: string): string
  scopedEnvVarTrue(key: string): boolean
  runHook(): Promise<{successes: []; failures: []}>
}

interface CommandClass {
  new (argv: string[], config: LiteConfig): Command
  id?: string
  flags?: Record<string, FlagDefinition>
  baseFlags?: Record<string, FlagDefinition>
  args?: Record<string, ArgDefinition>
  enableJsonFlag?: boolean
  strict?: boolean
  state?: string
  deprecationOptions?: unknown
}

export interface ParseOutput {
  flags: Record<string, unknown>
  args: Record<string, string | undefined>
  argv: string[]
  raw: Array<{type: 'flag' | 'arg'; input: string; flag?: string}>
  metadata: {flags: Record<string, {setFromDefault?: boolean}>}
  nonExistentFlags: string[]
}

/** The command's flags as oclif aggregates them: base flags, own flags, and `--json` when enabled. */
function allFlags(ctor: CommandClass): Record<string, FlagDefinition> {
  const json: Record<string, FlagDefinition> = ctor.enableJsonFlag ? {json: {type: 'boolean', description: 'Format output as json.', helpGroup: 'GLOBAL'}} : {}
  return {...json, ...ctor.baseFlags, ...ctor.flags}
}

/**
 * Parses argv the way oclif would for every input it accepts, and throws NeedsOclif for any input it is
 * not sure about (oclif then decides, and reports errors in its own words).
 */
export function parseLite(ctor: CommandClass, argv: readonly string[], env: NodeJS.ProcessEnv = process.env): ParseOutput {
  const definitions = allFlags(ctor)
  // Why a flag's meaning is beyond this parser; it matters only when the flag plays a part in the run.
  const beyond = (name: string, definition: FlagDefinition): string | undefined => {
    if (definition.lite === 'unsupported') return `flag --${name} is of a kind this parser does not know`
    const key = UNSUPPORTED_FLAG_KEYS.find((k) => definition[k] !== undefined && definition[k] !== false)
    if (key) return `flag --${name} uses ${key}`
    if (typeof definition.default === 'function' || typeof definition.parse === 'function') return `flag --${name} computes its value`
    return undefined
  }
  for (const [name, definition] of Object.entries(definitions)) {
    // A flag with a default, a required one, or one read from the environment plays a part in every run.
    const always = definition.default !== undefined || definition.required || (definition.env !== undefined && env[definition.env] !== undefined)
    const why = always ? beyond(name, definition) : undefined
    if (why) throw new NeedsOclif(why)
    if (definition.env && env[definition.env] !== undefined) throw new NeedsOclif(`flag --${name} is read from ${definition.env}`)
  }
  const argDefinitions = Object.entries(ctor.args ?? {})
  for (const [name, definition] of argDefinitions) {
    if (definition.lite !== 'string' || UNSUPPORTED_ARG_KEYS.some((key) => definition[key] !== undefined)) throw new NeedsOclif(`argument ${name} is of a kind this parser does not know`)
  }
  if (ctor.strict === false) throw new NeedsOclif('the command takes any arguments')

  const flags: Record<string, unknown> = {}
  const metadata: ParseOutput['metadata'] = {flags: {}}
  const raw: ParseOutput['raw'] = []
  const positionals: string[] = []
  for (let i = 0; i < argv.length; i++) {
    const token = argv[i]!
    if (!token.startsWith('-') || token === '-') {
      positionals.push(token)
      raw.push({type: 'arg', input: token})
      continue
    }
    // `--`, short flags and clusters, `--no-x`: oclif's rules for these are not repeated here.
    if (!token.startsWith('--') || token === '--') throw new NeedsOclif(`the argument ${token}`)
    const equals = token.indexOf('=')
    let name = token.slice(2, equals === -1 ? undefined : equals)
    let definition = Object.hasOwn(definitions, name) ? definitions[name] : undefined
    // `--no-x` for a boolean that allows it (and is not itself a flag named no-x).
    let negated = false
    if (!definition && name.startsWith('no-')) {
      const positive = name.slice(3)
      const candidate = Object.hasOwn(definitions, positive) ? definitions[positive] : undefined
      if (candidate?.type === 'boolean' && candidate.allowNo) [name, definition, negated] = [positive, candidate, true]
    }
    if (!definition) throw new NeedsOclif(`the unknown flag --${name}`)
    const why = beyond(name, definition)
    if (why) throw new NeedsOclif(why)
    if (Object.hasOwn(flags, name)) throw new NeedsOclif(`--${name} given twice`)
    if (definition.type === 'boolean') {
      if (equals !== -1) throw new NeedsOclif(`a value for the boolean --${name}`)
      flags[name] = !negated
      raw.push({type: 'flag', flag: name, input: token})
      continue
    }
    let input: string | undefined
    if (equals === -1) {
      input = argv[i + 1]
      // A missing value, or one that looks like a flag: oclif has its own opinion and its own error.
      if (input === undefined || input.startsWith('-')) throw new NeedsOclif(`--${name} without a plain value`)
      i++
    } else {
      input = token.slice(equals + 1)
    }
    if (input === '') throw new NeedsOclif(`an empty value for --${name}`)
    if (Array.isArray(definition.options) && !definition.options.includes(input)) throw new NeedsOclif(`--${name} ${input} is not one of its options`)
    flags[name] = definition.lite === 'integer' ? integerValue(name, input, definition) : input
    raw.push({type: 'flag', flag: name, input})
  }
  for (const [name, definition] of Object.entries(definitions)) {
    if (Object.hasOwn(flags, name)) continue
    if (definition.required) throw new NeedsOclif(`the required flag --${name} is missing`)
    if (definition.default !== undefined) {
      flags[name] = definition.default
      metadata.flags[name] = {setFromDefault: true}
    }
  }
  for (const [name, definition] of Object.entries(definitions)) {
    if (!Object.hasOwn(flags, name)) continue
    const clash = (definition.exclusive ?? []).find((other) => Object.hasOwn(flags, other))
    if (clash) throw new NeedsOclif(`--${name} and --${clash} together`)
  }
  if (positionals.length > argDefinitions.length) throw new NeedsOclif('more arguments than the command takes')
  const args: Record<string, string | undefined> = {}
  argDefinitions.forEach(([name, definition], index) => {
    if (positionals[index] === undefined && definition.required) throw new NeedsOclif(`the required argument ${name} is missing`)
    args[name] = positionals[index]
  })
  return {flags, args, argv: positionals, raw, metadata, nonExistentFlags: []}
}

function integerValue(name: string, input: string, definition: FlagDefinition): number {
  if (!/^-?\d+$/.test(input)) throw new NeedsOclif(`--${name} is not an integer`)
  const value = Number.parseInt(input, 10)
  if ((definition.min !== undefined && value < definition.min) || (definition.max !== undefined && value > definition.max)) {
    throw new NeedsOclif(`--${name} is out of range`)
  }
  return value
}

/** The part of oclif's Command that commands call; behaviour copied from @oclif/core's command.js. */
export abstract class Command {
  static id?: string
  static flags?: Record<string, FlagDefinition>
  static baseFlags?: Record<string, FlagDefinition>
  static args?: Record<string, ArgDefinition>
  static enableJsonFlag = false
  static strict = true
  /** Set by runFast: the parse result computed before the command was allowed to run. */
  parsedOutput?: ParseOutput

  constructor(
    public argv: string[],
    public config: LiteConfig,
  ) {}

  abstract run(): Promise<unknown>

  get ctor(): CommandClass {
    return this.constructor as unknown as CommandClass
  }

  async parse(_options?: unknown, argv: string[] = this.argv): Promise<ParseOutput> {
    return this.parsedOutput ?? parseLite(this.ctor, argv)
  }

  jsonEnabled(): boolean {
    if (!this.ctor.enableJsonFlag) return false
    if (this.config.scopedEnvVar('CONTENT_TYPE')?.toLowerCase() === 'json') return true
    const passThroughIndex = this.argv.indexOf('--')
    const jsonIndex = this.argv.indexOf('--json')
    return passThroughIndex === -1 ? jsonIndex !== -1 : jsonIndex !== -1 && jsonIndex < passThroughIndex
  }

  log(message = '', ...args: unknown[]): void {
    if (this.jsonEnabled()) return
    console.log(message, ...args)
  }

  logToStderr(message = '', ...args: unknown[]): void {
    if (this.jsonEnabled()) return
    console.error(message, ...args)
  }

  /** oclif's logJson without a theme (runFast leaves themed output to oclif): colorizeJson is then JSON.stringify. */
  logJson(json: unknown): void {
    console.log(JSON.stringify(json, undefined, 2))
  }

  toSuccessJson(result: unknown): unknown {
    return result
  }

  toErrorJson(err: unknown): unknown {
    if (err instanceof Error) return {error: {...err, message: err.message, name: err.name}}
    return {error: err}
  }

  async catch(err: Error & {exitCode?: number; oclif?: {exit?: number}}): Promise<unknown> {
    process.exitCode = process.exitCode ?? err.oclif?.exit ?? err.exitCode ?? 1
    if (this.jsonEnabled()) {
      this.logJson(this.toErrorJson(err))
      return undefined
    }
    throw err
  }

  async init(): Promise<void> {}

  async finally(_error?: unknown): Promise<void> {}

  async _run(): Promise<unknown> {
    let err: unknown
    let result: unknown
    try {
      await this.init()
      result = await this.run()
    } catch (error) {
      err = error
      await this.catch(error as Error)
    } finally {
      await this.finally(err)
    }
    if (result && this.jsonEnabled()) this.logJson(this.toSuccessJson(result))
    return result
  }
}

export interface FastOptions {
  /** The package root (where package.json is). */
  root: string
  pjson: Record<string, unknown> & {name?: string; version?: string; oclif?: Record<string, unknown>}
  env?: NodeJS.ProcessEnv
}

/** oclif's userAgent (`name/version platform-arch node-vX`), as bin/run.js builds it for `--version`. */
function userAgent(pjson: FastOptions['pjson']): string {
  const arch = os.arch() === 'ia32' ? 'x86' : os.arch()
  return `${pjson.name}/${pjson.version || '0.0.0'} ${process.platform}-${arch} node-${process.version}`
}

function liteConfig(options: FastOptions, env: NodeJS.ProcessEnv): LiteConfig {
  const oclif = options.pjson.oclif ?? {}
  const bin = String(oclif.bin ?? options.pjson.name)
  const key = (name: string) => `${bin.toUpperCase().replaceAll('-', '_')}_${name}`
  return {
    bin,
    name: String(options.pjson.name),
    version: String(options.pjson.version),
    root: options.root,
    userAgent: userAgent(options.pjson),
    pjson: options.pjson,
    scopedEnvVarKey: key,
    scopedEnvVar: (name) => env[key(name)],
    scopedEnvVarTrue: (name) => ['true', '1'].includes(env[key(name)] ?? ''),
    runHook: async () => ({successes: [], failures: []}),
  }
}

/** Why oclif must run this invocation instead, judged from the package and the environment alone. */
export function packageNeedsOclif(options: FastOptions, env: NodeJS.ProcessEnv): string | undefined {
  const oclif = options.pjson.oclif ?? {}
  // Hooks and plugins can change anything about a run; the fast way runs none of them. Hooks that only
  // fire when no command matches (the fast way only runs a command it found) do not count.
  const NOT_FOR_A_FOUND_COMMAND = new Set(['command_not_found', 'command_incomplete'])
  if (oclif.hooks && Object.keys(oclif.hooks).some((hook) => !NOT_FOR_A_FOUND_COMMAND.has(hook))) return 'the package declares oclif hooks'
  if (Array.isArray(oclif.plugins) && oclif.plugins.length > 0) return 'the package uses oclif plugins'
  if (oclif.theme) return 'the package has an oclif theme'
  const config = liteConfig(options, env)
  if (config.scopedEnvVar('CONTENT_TYPE') !== undefined) return `${config.scopedEnvVarKey('CONTENT_TYPE')} is set`
  if (config.scopedEnvVarTrue('DISABLE_THEME') === false && existsSync(path.join(configDir(config.bin, oclif, env), 'theme.json'))) {
    return 'a user theme.json exists'
  }
  return undefined
}

/** oclif's config directory (where a user's theme.json lives). */
function configDir(bin: string, oclif: Record<string, unknown>, env: NodeJS.ProcessEnv): string {
  const dirname = String(oclif.dirname ?? bin)
  const override = env[`${bin.toUpperCase().replaceAll('-', '_')}_CONFIG_DIR`]
  if (override) return override
  if (process.platform === 'win32') return path.join(env.LOCALAPPDATA ?? path.join(os.homedir(), 'AppData', 'Local'), dirname)
  return path.join(env.XDG_CONFIG_HOME ?? path.join(os.homedir(), '.config'), dirname)
}

/**
 * Runs a command class without oclif, or returns 'oclif' (having done nothing) when oclif must run it.
 * Unexpected errors are thrown for bin/run.js to print with oclif's handler, as oclif's execute() would.
 */
export async function runFast(ctor: CommandClass, argv: string[], options: FastOptions): Promise<'done' | 'oclif'> {
  const env = options.env ?? process.env
  if (packageNeedsOclif(options, env)) return 'oclif'
  if (ctor.state === 'deprecated' || ctor.deprecationOptions) return 'oclif'
  let parsed: ParseOutput
  try {
    parsed = parseLite(ctor, argv, env)
  } catch (error) {
    if (error instanceof NeedsOclif) return 'oclif'
    throw error
  }
  // As @oclif/core's command module does on load: a closed pipe (`ona ... | head`) is not an error.
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err?.code === 'EPIPE') return
    throw err
  })
  const command = new ctor([...argv], liteConfig(options, env))
  command.parsedOutput = parsed
  await command._run()
  // oclif's flush(): wait until stdout has taken everything.
  await new Promise<void>((resolve) => {
    if (process.stdout.write('')) resolve()
    else process.stdout.once('drain', () => resolve())
  })
  return 'done'
}

export {NeedsOclif}
