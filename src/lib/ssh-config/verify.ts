/**
 * Asks the real OpenSSH client what it will use for each alias (`ssh -G <alias>`, which prints the
 * configuration after reading every file, and connects to nothing) and compares it with what ona wrote:
 * HostName, User, Port, HostKeyAlias and, when the entry has one, IdentityFile and IdentitiesOnly; and
 * what decides how it connects and checks the host key although ona's entry may not set it: ProxyCommand /
 * ProxyJump (ona's own with resolve-on-connect, else none), StrictHostKeyChecking not off,
 * UserKnownHostsFile not /dev/null, ProxyUseFdpass under ona's ProxyCommand (connectionDifferences); and
 * the user's `--ssh-option` values (ssh-options.ts sshOptionDifferences). Any
 * difference is a warning naming the option, the value ssh will use and, when the config tree shows it,
 * the file:line that set it; ssh-sync then groups them per line (groupDifferences).
 *
 * - Batched: a few ssh processes at a time, each killed after a few seconds, the whole run bounded.
 * - `ssh -G` runs `Match exec` commands; when the tree has one, nothing is run and a note says why.
 * - No ssh installed: a note, nothing else.
 * - `~user/...`: ssh -G prints IdentityFile and CertificateFile unexpanded, and ssh expands them only when it
 *   connects, stopping at a user the password database does not know; such a path is a W_SSH_UNKNOWN_USER
 *   warning, and an ssh -G that fails on one (UserKnownHostsFile) names the line.
 * - Watch mode runs this beside its writer (watch/verify.ts); ssh-sync and --check after the write.
 */
import type {spawn} from 'node:child_process'
import os from 'node:os'
import path from 'node:path'

import type {Warning} from '../errors.js'
import {parseBlock} from './block.js'
import {scopeApplies} from './overrides.js'
import {sshOptionDifferences} from './ssh-options.js'
import {parseDirective} from './scan.js'
import type {ConfigTree} from './tree.js'

/** The options checked, as ssh -G names them (lowercase) and as they are written. */
const CHECKED = [
  ['hostname', 'HostName'],
  ['user', 'User'],
  ['port', 'Port'],
  ['hostkeyalias', 'HostKeyAlias'],
  ['identityfile', 'IdentityFile'],
] as const

export interface VerifyOptions {
  /** The managed file's text as written. */
  text: string
  /** The aliases to check (both aliases of every environment written). */
  aliases: readonly string[]
  /** The config tree (from tree-check), to find who set a differing value, and to see `Match exec`. */
  tree?: ConfigTree
  /** `-F` file; undefined: ssh's own default (~/.ssh/config of the passwd entry, then the system file). */
  configFile?: string
  home: string
  /** The password database, for `~user/...` in the paths ssh prints (IdentityFile, CertificateFile). */
  userHome?: (name: string) => string | undefined
  env?: NodeJS.ProcessEnv
  ssh?: string
  /** Processes at a time (default 4), per-process timeout (default 5 s), whole-run budget (default 20 s). */
  concurrency?: number
  timeoutMs?: number
  budgetMs?: number
  /** Stops the run (watch mode ending): processes in flight are killed, nothing more is started. */
  signal?: AbortSignal
}

export interface VerifyResult {
  /** Aliases ssh -G answered for. */
  checked: number
  /** Why nothing (or not everything) was checked. */
  skipped?: string
  warnings: Warning[]
  /** What ssh -G printed for each alias it answered for (lowercase keywords), for callers that read more (doctor's host key). */
  resolved: Map<string, Map<string, string[]>>
}

/**
 * `-F` is needed unless the file is the ~/.ssh/config ssh finds by itself (through the passwd entry:
 * `own`, default the current user's).
 */
export function configFileFor(userConfig: string, own = path.join(os.userInfo().homedir, '.ssh', 'config')): string | undefined {
  return path.resolve(userConfig) === own ? undefined : path.resolve(userConfig)
}

/** What ona wrote for each alias: the values of its entry's lines, by ssh -G's lowercase keyword. */
export function writtenValues(text: string): Map<string, Map<string, string[]>> {
  const result = new Map<string, Map<string, string[]>>()
  for (const part of parseBlock(text)?.parts ?? []) {
    for (const entry of part.entries) {
      const values = new Map<string, string[]>()
      for (const line of entry.lines.slice(1)) {
        const directive = parseDirective(line)
        if (!directive || directive.args[0] === undefined) continue
        // Whole lines: a ProxyCommand is many arguments; one-argument options are unchanged by the join.
        // The block is latin1 text (bytes); ssh -G prints UTF-8: a quoted /home/jürgen compares as text.
        const value = Buffer.from(directive.args.join(' '), 'latin1').toString('utf8')
        values.set(directive.keyword, [...(values.get(directive.keyword) ?? []), value])
      }
      const host = parseDirective(entry.lines[0]!)
      for (const alias of host?.args ?? []) result.set(alias, values)
    }
  }
  return result
}

/**
 * The first line in reading order that sets one of `keywords` for `alias` (first value wins: it decides),
 * as file:line. ProxyCommand and ProxyJump share one slot, so both are asked together.
 */
function whoDecides(tree: ConfigTree | undefined, alias: string, keywords: readonly string[], actual: string): string | undefined {
  const normal = (value: string) => (/^(no|off|false)$/i.test(value) ? 'no' : words(value).toLowerCase())
  for (const l of tree?.lines ?? []) {
    if (!l.directive || !keywords.includes(l.directive.keyword)) continue
    const applies = scopeApplies(l.scope, alias)
    if (applies === 'no') continue
    // A Match the tree cannot evaluate (`localuser`, `exec`...): it is the one when its value is what ssh used.
    const same = normal(l.directive.args.join(' ')) === normal(actual) || normal(l.directive.args[0] ?? '') === normal(actual)
    if (applies === 'yes' || same) return same || applies === 'yes' ? `${l.file}:${l.line}` : undefined
  }
  return undefined
}

/** The first line in reading order (before the block) that sets `keyword` for `alias`, as file:line. */
function whoSets(tree: ConfigTree | undefined, alias: string, keyword: string, value: string): string | undefined {
  if (!tree) return undefined
  for (const line of tree.lines) {
    if (line.directive?.keyword !== keyword || scopeApplies(line.scope, alias) === 'no') continue
    const arg = line.directive.args[0] ?? ''
    if (arg === value || arg.toLowerCase() === value.toLowerCase() || (keyword === 'identityfile' && value.endsWith(arg.replace(/^~/, '')))) {
      return `${line.file}:${line.line}`
    }
  }
  return undefined
}

function matchExec(tree: ConfigTree | undefined): string | undefined {
  const line = tree?.lines.find((l) => l.directive?.keyword === 'match' && l.directive.args.some((a) => /^!?exec$/i.test(a)))
  return line ? `${line.file}:${line.line}` : undefined
}

interface SshG {
  code: number
  stdout: string
  stderr: string
  missing?: boolean
}

function runSshG(ssh: string, args: string[], env: NodeJS.ProcessEnv | undefined, timeoutMs: number, signal?: AbortSignal): Promise<SshG> {
  return new Promise((resolve) => {
    let stdout = ''
    let stderr = ''
    let child: ReturnType<typeof spawn>
    try {
      // node:child_process only when ssh runs: a no-op sync (answers reused) never loads it.
      child = process.getBuiltinModule('node:child_process').spawn(ssh, args, {env: env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'], ...(signal ? {signal, killSignal: 'SIGKILL' as const} : {})})
    } catch (error) {
      // spawn throws at once for an argument it cannot use (an empty or NUL-holding path): no ssh to run.
      resolve({code: -1, stdout, stderr: (error as Error).message, missing: true})
      return
    }
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs)
    child.stdout!.setEncoding('utf8').on('data', (c: string) => (stdout += c))
    child.stderr!.setEncoding('utf8').on('data', (c: string) => (stderr += c))
    child.once('error', (error: NodeJS.ErrnoException) => {
      clearTimeout(timer)
      // An abort also arrives here (AbortError), and 'close' may never follow.
      resolve({code: -1, stdout, stderr: error.message, missing: error.code === 'ENOENT'})
    })
    child.once('close', (code) => {
      clearTimeout(timer)
      resolve({code: code ?? -1, stdout, stderr})
    })
  })
}

/**
 * Parses `ssh -G` output: one `keyword value...` per line, keyword lowercased, every value kept in order
 * (IdentityFile, SendEnv, forwards... are printed once per value). Pure; the tests use it too.
 */
export function parseSshG(raw: string): Map<string, string[]> {
  const options = new Map<string, string[]>()
  for (const line of raw.split('\n')) {
    const trimmed = line.trim()
    if (trimmed === '') continue
    const space = trimmed.indexOf(' ')
    const key = (space === -1 ? trimmed : trimmed.slice(0, space)).toLowerCase()
    options.set(key, [...(options.get(key) ?? []), space === -1 ? '' : trimmed.slice(space + 1)])
  }
  return options
}

/** A path as ssh -G prints it (unexpanded): `~/` with the home, `~user/` with that user's home. */
function expandPath(p: string, home: string, userHome: VerifyOptions['userHome']): string {
  const plain = p.replace(/^"|"$/g, '')
  if (plain.startsWith('~/')) return path.join(home, plain.slice(2))
  const user = /^~([^/]+)(?:\/(.*))?$/.exec(plain)
  const dir = user ? userHome?.(user[1]!) : undefined
  return dir === undefined ? plain : path.join(dir, user![2] ?? '')
}

function sameIdentity(printed: string, written: string, home: string, userHome: VerifyOptions['userHome']): boolean {
  return printed === written || expandPath(printed, home, userHome) === expandPath(written, home, userHome)
}

/** Options whose `~user/...` ssh expands when it connects, failing with "No such user" when there is none. */
const TILDE_PATHS = [
  ['identityfile', 'IdentityFile'],
  ['certificatefile', 'CertificateFile'],
] as const

/** The user of a `~user/...` value that the password database does not know. */
function unknownUser(value: string, userHome: VerifyOptions['userHome']): string | undefined {
  const match = /^"?~([^/"]+)/.exec(value)
  if (!match || !userHome) return undefined
  return userHome(match[1]!) === undefined ? match[1] : undefined
}

/** The first line before the block, for `alias`, with an argument naming `~user`: who set a failing path. */
function whoNamesUser(tree: ConfigTree | undefined, alias: string, user: string): string | undefined {
  const line = tree?.lines.find((l) => l.directive && scopeApplies(l.scope, alias) !== 'no' && l.directive.keyword !== 'include' && l.directive.args.some((a) => a.startsWith(`~${user}/`) || a === `~${user}`))
  return line ? `${line.file}:${line.line}` : undefined
}

function at(where: string | undefined): {file?: string; line?: number} {
  return where ? {file: where.slice(0, where.lastIndexOf(':')), line: Number(where.slice(where.lastIndexOf(':') + 1))} : {}
}

const words = (value: string) => value.replace(/["']/g, '').trim().split(/\s+/).join(' ')

/**
 * The options beyond the address that decide how an alias connects and how its host key is checked, as
 * ssh -G resolved them (`got`) against what ona's entry holds (`mine`). Pure; the tests use it too.
 */
export function connectionDifferences(got: ReadonlyMap<string, readonly string[]>, mine: ReadonlyMap<string, readonly string[]>): Array<{option: string; keywords: string[]; expected: string; actual: string; effect: string}> {
  const result: Array<{option: string; keywords: string[]; expected: string; actual: string; effect: string}> = []
  const first = (keyword: string) => got.get(keyword)?.[0]
  const ownProxy = mine.get('proxycommand')?.[0]
  const identitiesOnly = mine.get('identitiesonly')?.[0]
  if (identitiesOnly?.toLowerCase() === 'yes' && first('identitiesonly') !== 'yes') {
    result.push({option: 'IdentitiesOnly', keywords: ['identitiesonly'], expected: 'yes', actual: first('identitiesonly') ?? 'none', effect: "ssh may offer other keys before ona's"})
  }
  const jump = first('proxyjump')
  const proxy = first('proxycommand')
  if (jump !== undefined && jump !== '' && jump.toLowerCase() !== 'none') {
    result.push({option: 'ProxyJump', keywords: ['proxycommand', 'proxyjump'], expected: ownProxy ? `ProxyCommand ${ownProxy}` : 'none', actual: jump, effect: `ssh jumps through ${jump}${ownProxy ? " instead of ona's ProxyCommand" : ''}`})
  } else if (ownProxy !== undefined ? proxy === undefined || words(proxy) !== words(ownProxy) : proxy !== undefined && proxy.toLowerCase() !== 'none') {
    result.push({
      option: 'ProxyCommand',
      keywords: ['proxycommand', 'proxyjump'],
      expected: ownProxy ?? 'none',
      actual: proxy ?? 'none',
      effect: proxy === undefined ? "ssh connects straight to the last known address, not through ona's ProxyCommand" : `ssh connects through \`${proxy}\`${ownProxy ? " instead of ona's ProxyCommand" : " instead of straight to ona's address"}`,
    })
  }
  const strict = first('stricthostkeychecking')
  if (strict !== undefined && ['false', 'no', 'off'].includes(strict.toLowerCase())) {
    result.push({option: 'StrictHostKeyChecking', keywords: ['stricthostkeychecking'], expected: 'ask, yes or accept-new', actual: 'no', effect: 'host-key checking is off'})
  }
  const known = first('userknownhostsfile')?.split(/\s+/)[0]
  if (known !== undefined && ['/dev/null', 'nul'].includes(known.toLowerCase())) {
    result.push({option: 'UserKnownHostsFile', keywords: ['userknownhostsfile'], expected: 'a known_hosts file', actual: known, effect: 'host keys are never kept, so no host key is ever checked'})
  }
  if (ownProxy !== undefined && first('proxyusefdpass') === 'yes') {
    result.push({option: 'ProxyUseFdpass', keywords: ['proxyusefdpass'], expected: 'no', actual: 'yes', effect: "ona's ProxyCommand passes no descriptor, so ssh cannot connect"})
  }
  return result
}

/** Runs ssh -G for the aliases and reports every option that is not what ona wrote. */
export async function verifyAliases(options: VerifyOptions): Promise<VerifyResult> {
  const exec = matchExec(options.tree)
  if (exec) {
    return {checked: 0, skipped: `not checked with ssh -G: ${exec} has a \`Match exec\`, which ssh -G would run`, warnings: [], resolved: new Map()}
  }
  const wanted = writtenValues(options.text)
  const aliases = options.aliases.filter((a) => wanted.has(a))
  // An empty ONA_SSH is unset, as `ona ssh` reads it.
  const ssh = options.ssh || options.env?.ONA_SSH || 'ssh'
  const timeoutMs = options.timeoutMs ?? 5000
  const deadline = Date.now() + (options.budgetMs ?? 20_000)
  const warnings: Warning[] = []
  const resolved = new Map<string, Map<string, string[]>>()
  let checked = 0
  let missing = false
  let outOfTime = false
  const queue = [...aliases]
  const worker = async () => {
    for (let alias = queue.shift(); alias !== undefined; alias = queue.shift()) {
      if (missing || options.signal?.aborted) return
      if (Date.now() > deadline) {
        outOfTime = true
        return
      }
      const args = ['-G', ...(options.configFile ? ['-F', options.configFile] : []), alias]
      const result = await runSshG(ssh, args, options.env, timeoutMs, options.signal)
      if (result.missing) {
        missing = true
        return
      }
      if (options.signal?.aborted) return
      if (result.code !== 0) {
        // ssh may first say it allocates no terminal (stdin is not one): the line after it is the reason.
        const said = result.stderr.trim().split('\n').filter((l) => !/^Pseudo-terminal will not be allocated/.test(l))
        const first = said[0] ?? ''
        // "tilde_expand: No such user x" names no line: the tree knows which one it is.
        const user = /No such user (\S+)/.exec(first)?.[1]
        const where = user ? whoNamesUser(options.tree, alias, user) : undefined
        warnings.push({code: 'W_SSH_G_FAILED', message: `ssh -G ${alias} failed (exit ${result.code}): ${first}${where ? ` (${where} names ~${user})` : ''}`, ...at(where), alias})
        continue
      }
      checked++
      const got = parseSshG(result.stdout)
      resolved.set(alias, got)
      const mine = wanted.get(alias)!
      for (const [keyword, name] of CHECKED) {
        const written = mine.get(keyword)
        if (!written || written.length === 0) continue
        const values = got.get(keyword) ?? []
        const ok = keyword === 'identityfile'
          ? written.every((w) => values.some((v) => sameIdentity(v, w, options.home, options.userHome)))
          : values[0] !== undefined && (keyword === 'hostname' ? values[0].toLowerCase() === written[0]!.toLowerCase() : values[0] === written[0])
        if (ok) continue
        const actual = keyword === 'identityfile' ? values.join(', ') || 'none' : values[0] ?? 'none'
        const where = keyword === 'identityfile' ? undefined : whoSets(options.tree, alias, keyword, actual)
        warnings.push({
          code: 'W_SSH_DIFFERS',
          message: `ssh will use ${name} ${actual} for ${alias}, not ${written.join(', ')} as ona wrote${where ? ` (set by ${where})` : ''}`,
          ...at(where),
          option: name,
          alias,
          expected: written.join(', '),
          actual,
        })
      }
      // How it connects and checks the host key: what ona's entry sets, and what nobody should turn off.
      for (const difference of connectionDifferences(got, mine)) {
        const where = whoDecides(options.tree, alias, difference.keywords, difference.actual)
        warnings.push({
          code: 'W_SSH_DIFFERS',
          message: `ssh will use ${difference.option} ${difference.actual} for ${alias}: ${difference.effect}`,
          ...at(where),
          option: difference.option,
          alias,
          expected: difference.expected,
          actual: difference.actual,
          effect: difference.effect,
        })
      }
      // The user's --ssh-option values: in effect, unless a line read earlier set the keyword first.
      for (const difference of sshOptionDifferences(got, mine)) {
        const where = whoSets(options.tree, alias, difference.keyword, got.get(difference.keyword)?.[0] ?? '')
        warnings.push({
          code: 'W_SSH_DIFFERS',
          message: `ssh will use ${difference.option} ${difference.actual} for ${alias}, not ${difference.expected} as ona wrote${where ? ` (set by ${where})` : ''}`,
          ...at(where),
          option: difference.option,
          alias,
          expected: difference.expected,
          actual: difference.actual,
        })
      }
      // ssh -G prints these unexpanded; connecting expands them and stops at a user that does not exist.
      for (const [keyword, name] of TILDE_PATHS) {
        for (const value of got.get(keyword) ?? []) {
          const user = unknownUser(value, options.userHome)
          if (user === undefined) continue
          const where = whoSets(options.tree, alias, keyword, value)
          warnings.push({
            code: 'W_SSH_UNKNOWN_USER',
            message: `ssh ${alias} will stop with "tilde_expand: No such user ${user}": ${name} ${value}${where ? ` (set by ${where})` : ''} names a user the password database does not know`,
            ...at(where),
            option: name,
            alias,
            actual: value,
          })
        }
      }
    }
  }
  await Promise.all(Array.from({length: Math.max(1, Math.min(options.concurrency ?? 4, aliases.length))}, () => worker()))
  if (missing) return {checked: 0, skipped: `not checked with ssh -G: no \`${ssh}\` found on PATH`, warnings: [], resolved: new Map()}
  const skipped = outOfTime ? `ssh -G checked ${checked} of ${aliases.length} aliases before its time ran out` : undefined
  return {checked, skipped, warnings, resolved}
}

/**
 * ssh -G answers per alias; a user reads per line. One W_SSH_DIFFERS per line that set the differing value
 * (per option and value when no line is known), with every alias it affects in `aliases` and each alias's
 * values in `items`. A line in `covered` (`file:line`, already a warning of the config-tree check) is not
 * repeated: ssh -G only confirmed it. The location is in `file`/`line`, not in the message (the printer
 * puts it first). Other warnings pass through unchanged, in order.
 */
export function groupDifferences(warnings: readonly Warning[], covered: ReadonlySet<string> = new Set()): Warning[] {
  const result: Warning[] = []
  const groups = new Map<string, Warning[]>()
  for (const w of warnings) {
    if (w.code !== 'W_SSH_DIFFERS' || w.alias === undefined) {
      result.push(w)
      continue
    }
    if (w.file !== undefined && covered.has(`${w.file}:${w.line}`)) continue
    const key = JSON.stringify([w.option, w.actual, w.file, w.line])
    let group = groups.get(key)
    if (!group) {
      group = []
      groups.set(key, group)
      // Its place in the output is where its first alias was.
      result.push({code: 'W_SSH_DIFFERS', message: key})
    }
    group.push(w)
  }
  return result.map((w) => {
    const group = w.code === 'W_SSH_DIFFERS' && w.alias === undefined ? groups.get(w.message) : undefined
    if (!group) return w
    const first = group[0]!
    const aliases = group.map((g) => g.alias!).sort()
    const expected = [...new Set(group.map((g) => g.expected ?? ''))]
    const who = aliases.length === 1 ? aliases[0] : `${aliases.length} ona aliases`
    const message = first.effect
      ? `ssh will use ${first.option} ${first.actual} for ${who}: ${first.effect}`
      : `ssh will use ${first.option} ${first.actual} for ${who}, not ${expected.length === 1 ? expected[0] : 'the values'} as ona wrote`
    return {
      code: 'W_SSH_DIFFERS',
      message,
      ...(first.file !== undefined ? {file: first.file, line: first.line} : {}),
      option: first.option,
      ...(aliases.length === 1 ? {alias: aliases[0]} : {}),
      ...(expected.length === 1 ? {expected: expected[0]} : {}),
      actual: first.actual,
      ...(first.effect ? {effect: first.effect} : {}),
      aliases,
      items: group.map((g) => ({alias: g.alias!, expected: g.expected ?? '', actual: g.actual ?? ''})).sort((a, b) => (a.alias < b.alias ? -1 : 1)),
    }
  })
}
