/**
 * The SSH config as OpenSSH reads it (readconf.c, OpenSSH 9.2): the user config (`~/.ssh/config`, or the
 * `-F` file), every `Include` inlined where it appears, then the system config (`/etc/ssh/ssh_config`).
 *
 * - `Include` takes several arguments; each is a glob(3) pattern with GLOB_TILDE (`~` is $HOME, `~user` that
 *   user's home in the password database, an unknown user matches nothing), expanded in lexical (byte)
 *   order. Wildcards never match a name starting with '.'. A relative path is taken in `~/.ssh` for the user
 *   config and in `/etc/ssh` for the system one (where `~` is an error). A pattern matching nothing is fine.
 * - An included file inherits the Host/Match state of the Include line: before its own first Host/Match it
 *   applies where the Include line applies; after one, where both apply. Its state never leaks back.
 * - More than 16 levels of nesting is fatal in ssh ("Too many recursive configuration includes").
 *
 * Nothing is run: `Match exec` and the criteria that depend on the moment ssh runs are answered "maybe" by
 * the callers (overrides.ts). The reading is lossless per line and keeps file and line for messages.
 */
import fs from 'node:fs/promises'
import path from 'node:path'

import {parseDirective, splitLines, type Directive} from './scan.js'
import {identityOf, isRacy, outsideReferences, type TreeProbe} from './tree-probes.js'

export const MAX_INCLUDE_DEPTH = 16
export const SYSTEM_CONFIG = '/etc/ssh/ssh_config'
const SYSTEM_DIR = '/etc/ssh'

/** A Host or Match line that opens a section. */
export interface Section {
  kind: 'host' | 'match'
  file: string
  line: number
  text: string
  args: string[]
}

/** One line as ssh reads it, in reading order. */
export interface TreeLine {
  file: string
  /** 1-based. */
  line: number
  content: string
  directive: Directive | undefined
  /**
   * The sections this line is read under, outermost first: the section of each Include line on the way
   * (when there was one) and the file's own current section. Empty: it applies to every host.
   */
  scope: readonly Section[]
  /** Index of the file in `files`. */
  fileIndex: number
}

export interface TreeFile {
  /** The path as ssh opens it (a glob result). */
  path: string
  /** Its real path (symlinks resolved), to recognise the managed file. */
  realPath: string
  includedFrom?: {file: string; line: number; text: string}
  /** The sections the Include line was under (empty when read at top level or included globally). */
  scope: readonly Section[]
  depth: number
  system: boolean
}

export interface ConfigTree {
  files: TreeFile[]
  lines: TreeLine[]
  /** What ssh would complain about (nesting too deep, a glob it rejects): shown as notes. */
  problems: string[]
}

export interface ReadTreeOptions {
  /** Home directory for `~` and `~/.ssh` (ssh takes it from the passwd entry; normally $HOME). */
  home: string
  /** The user config ssh reads first: `~/.ssh/config`, or the file given with `-F`. */
  userConfig?: string
  /** The system config read after it; default /etc/ssh/ssh_config, null for none (as with `-F`). */
  systemConfig?: string | null
  /** Texts to use instead of what is on disk, by real path (the managed file as it is about to be written). */
  texts?: ReadonlyMap<string, string>
  /**
   * The password database for `~user` (a home, or undefined for no such user: that Include matches
   * nothing, as in ssh, and is named in `problems`). Without it `~user` matches nothing.
   */
  userHome?: (name: string) => string | undefined
  /** Filled with what the reading looked at, for a later run to tell the tree is the same (tree-probes.ts). */
  probes?: TreeProbe[]
  /** The environment ssh runs with, for the probes of `${NAME}` in lines (default none). */
  env?: NodeJS.ProcessEnv
}

/** Reads the whole tree. Files that do not exist or cannot be read are skipped, as ssh does. */
export async function readConfigTree(options: ReadTreeOptions): Promise<ConfigTree> {
  const tree: ConfigTree = {files: [], lines: [], problems: []}
  const userConfig = options.userConfig ?? path.join(options.home, '.ssh', 'config')
  await readFileInto(tree, options, userConfig, {scope: [], depth: 0, system: false})
  const system = options.systemConfig === undefined ? SYSTEM_CONFIG : options.systemConfig
  if (system !== null) await readFileInto(tree, options, system, {scope: [], depth: 0, system: true})
  return tree
}

interface ReadState {
  scope: readonly Section[]
  depth: number
  system: boolean
  includedFrom?: TreeFile['includedFrom']
}

async function readFileInto(tree: ConfigTree, options: ReadTreeOptions, file: string, state: ReadState): Promise<void> {
  if (state.depth > MAX_INCLUDE_DEPTH) {
    tree.problems.push(`${state.includedFrom?.file}:${state.includedFrom?.line}: more than ${MAX_INCLUDE_DEPTH} levels of Include: ssh stops with "Too many recursive configuration includes"`)
    return
  }
  const real = await fs.realpath(file).catch(() => undefined)
  const realPath = real ?? path.resolve(file)
  let text = options.texts?.get(realPath)
  if (text !== undefined) options.probes?.push({kind: 'file', path: file, real: real ?? null, id: 'text'})
  else {
    const probe: TreeProbe | undefined = options.probes ? {kind: 'file', path: file, real: real ?? null, id: null} : undefined
    if (probe) options.probes!.push(probe)
    try {
      // Stat'ed before it is read: a write in between leaves a probe that no longer matches (tree-probes.ts).
      const stat = await fs.stat(file, {bigint: true})
      if (probe?.kind === 'file') {
        probe.id = identityOf(stat)
        if (isRacy(stat)) probe.racy = true
      }
      if (!stat.isFile()) return
      text = (await fs.readFile(file)).toString('latin1')
    } catch {
      return
    }
  }
  const fileIndex = tree.files.length
  tree.files.push({path: file, realPath, includedFrom: state.includedFrom, scope: state.scope, depth: state.depth, system: state.system})
  let section: Section | undefined
  for (const line of splitLines(text)) {
    const directive = parseDirective(line.content)
    const lineNo = line.index + 1
    if (directive && (directive.keyword === 'host' || directive.keyword === 'match')) {
      section = {kind: directive.keyword, file, line: lineNo, text: line.content.trim(), args: directive.args}
    }
    const scope = section ? [...state.scope, section] : state.scope
    tree.lines.push({file, line: lineNo, content: line.content, directive, scope, fileIndex})
    if (options.probes && directive) probeOutside(options, directive.args)
    if (directive?.keyword !== 'include') continue
    for (const arg of directive.args) {
      if (arg === '') continue
      if (arg.startsWith('~') && state.system) {
        tree.problems.push(`${file}:${lineNo}: bad include path ${arg} (\`~\` is not allowed in the system config)`)
        continue
      }
      const pattern = path.isAbsolute(arg) || arg.startsWith('~') ? arg : `${state.system ? SYSTEM_DIR : '~/.ssh'}/${arg}`
      const expanded = expandTilde(pattern, options.home, options.userHome)
      if (expanded === undefined) {
        // glob(3) leaves `~nobody-here/x` as it is, which then matches nothing: ssh goes on without it.
        tree.problems.push(`${file}:${lineNo}: Include ${arg}: there is no user ${JSON.stringify(tildeUser(pattern))}, so ssh reads nothing for it ("matched no files")`)
        continue
      }
      const matches = await glob(expanded, options.probes)
      for (const match of matches) {
        await readFileInto(tree, options, match, {
          scope,
          depth: state.depth + 1,
          system: state.system,
          includedFrom: {file, line: lineNo, text: line.content.trim()},
        })
      }
    }
  }
}

/** Probes for what a line's values take from the environment and the password database (once per name). */
function probeOutside(options: ReadTreeOptions, args: readonly string[]): void {
  const {env, users} = outsideReferences(args)
  const probes = options.probes!
  for (const name of env) {
    if (!probes.some((p) => p.kind === 'env' && p.name === name)) probes.push({kind: 'env', name, value: options.env?.[name] ?? null})
  }
  for (const name of users) {
    if (!probes.some((p) => p.kind === 'user' && p.name === name)) probes.push({kind: 'user', name, home: options.userHome?.(name) ?? null})
  }
}

/**
 * GLOB_TILDE: a leading `~` or `~/` is the home directory ($HOME, as glob(3) takes it), `~user` or
 * `~user/...` that user's home from the password database. Undefined: there is no such user (or no
 * database to ask), so the pattern matches nothing.
 */
export function expandTilde(pattern: string, home: string, userHome?: (name: string) => string | undefined): string | undefined {
  if (pattern === '~') return home
  if (pattern.startsWith('~/')) return path.join(home, pattern.slice(2))
  if (!pattern.startsWith('~')) return pattern
  const name = tildeUser(pattern)
  const dir = name === '' ? undefined : userHome?.(name)
  if (dir === undefined) return undefined
  const slash = pattern.indexOf('/')
  return slash === -1 ? dir : path.join(dir, pattern.slice(slash + 1))
}

/** The user of a `~user/...` pattern. */
export function tildeUser(pattern: string): string {
  const slash = pattern.indexOf('/')
  return pattern.slice(1, slash === -1 ? undefined : slash)
}

const WILDCARD = /[*?[]/

/**
 * glob(3) over an absolute pattern: `*`, `?` and `[...]` within one path component, no match for a name
 * starting with '.' unless the pattern's component does, results in byte order. Non-existent paths match
 * nothing.
 */
export async function glob(pattern: string, probes?: TreeProbe[]): Promise<string[]> {
  if (!path.isAbsolute(pattern)) return []
  const parts = pattern.split('/').filter((p, i) => p !== '' || i === 0)
  let candidates = ['/']
  for (const part of parts.slice(1)) {
    const next: string[] = []
    for (const base of candidates) {
      if (!WILDCARD.test(part)) {
        next.push(path.join(base, part))
        continue
      }
      if (probes) {
        const probe: TreeProbe = {kind: 'dir', path: base, id: null}
        probes.push(probe)
        const stat = await fs.stat(base, {bigint: true}).catch(() => undefined)
        if (stat) {
          probe.id = identityOf(stat)
          if (isRacy(stat)) probe.racy = true
        }
      }
      const names = await fs.readdir(base).catch(() => [] as string[])
      const re = globComponentRegExp(part)
      for (const name of names) {
        if (name.startsWith('.') && !part.startsWith('.')) continue
        if (re.test(name)) next.push(path.join(base, name))
      }
    }
    candidates = next
  }
  const existing: string[] = []
  for (const candidate of candidates) {
    const exists = await fs.lstat(candidate).then(() => true, () => false)
    probes?.push({kind: 'exists', path: candidate, exists})
    if (exists) existing.push(candidate)
  }
  return existing.sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)))
}

/** One path component of a glob pattern as a regular expression (fnmatch without FNM_PERIOD subtleties). */
export function globComponentRegExp(part: string): RegExp {
  let re = ''
  for (let i = 0; i < part.length; i++) {
    const c = part[i]!
    if (c === '*') re += '[^/]*'
    else if (c === '?') re += '[^/]'
    else if (c === '\\' && i + 1 < part.length) re += escapeRe(part[++i]!)
    else if (c === '[') {
      const end = part.indexOf(']', i + 2)
      if (end === -1) {
        re += '\\['
        continue
      }
      let body = part.slice(i + 1, end)
      const negated = body.startsWith('!') || body.startsWith('^')
      if (negated) body = body.slice(1)
      re += `[${negated ? '^' : ''}${body.replace(/\\/g, '\\\\').replace(/]/g, '\\]')}]`
      i = end
    } else re += escapeRe(c)
  }
  return new RegExp(`^${re}$`, 's')
}

function escapeRe(c: string): string {
  return c.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')
}

/** The lines of one text as a tree of one file (no Include followed): what single-file checks use. */
export function linesOfText(text: string, file: string): TreeLine[] {
  const lines: TreeLine[] = []
  let section: Section | undefined
  for (const line of splitLines(text)) {
    const directive = parseDirective(line.content)
    if (directive && (directive.keyword === 'host' || directive.keyword === 'match')) {
      section = {kind: directive.keyword, file, line: line.index + 1, text: line.content.trim(), args: directive.args}
    }
    lines.push({file, line: line.index + 1, content: line.content, directive, scope: section ? [section] : [], fileIndex: 0})
  }
  return lines
}

/** Where the managed file is in the tree: every place ssh reads it (usually one), or none. */
export function placesOf(tree: ConfigTree, realPath: string): TreeFile[] {
  return tree.files.filter((f) => f.realPath === realPath)
}

/**
 * The `Include` line that makes ssh read `file` from `~/.ssh/config`: relative to `~/.ssh` when inside it,
 * `~/...` inside the home, absolute otherwise; spaces are quoted.
 */
export function includeLineFor(file: string, home: string): string {
  const sshDir = path.join(home, '.ssh')
  let shown = path.resolve(file)
  if (shown.startsWith(`${sshDir}/`)) shown = shown.slice(sshDir.length + 1)
  else if (shown.startsWith(`${home}/`)) shown = `~/${shown.slice(home.length + 1)}`
  // Quoted when it holds anything but the plain alphabet: OpenSSH reads a bare `'` as the start of a quote.
  return `Include ${/^[A-Za-z0-9_./:@+=,~-]+$/.test(shown) ? shown : `"${shown}"`}`
}
