/**
 * The block engine applied to a file on disk: read, splice, check, write atomically (see fs/safe-write.ts).
 */
import {OnaError, type Warning} from '../errors.js'
import {updateFile, type UpdateResult} from '../fs/safe-write.js'
import {expectedEntryValues, type EntryOptions} from './entry.js'
import {FRIENDLY_ALIAS} from './friendly.js'
import {isRepeatedSshOption, isSshOptionKeyword} from './ssh-options.js'
import {ENVIRONMENT_SUFFIX, REMOTE_SUFFIX, type SshEnvironment, type ValidEnvironment} from './validate.js'
import {applyBlock, assertEditable, removeManagedBlock, type ApplyResult, type BlockOptions} from './index.js'
import {detectEol} from './scan.js'

export interface FileSyncResult {
  file: UpdateResult
  written: ValidEnvironment[]
  warnings: Warning[]
}

export interface FileSyncOptions {
  dryRun?: boolean
  backup?: boolean
  /** IdentityFile / ProxyCommand lines of every entry. */
  entry?: EntryOptions
  /** The API origin whose part of the block is written (other origins' parts are kept). */
  origin?: string
  /** The environment ids that origin lists: the legacy entries it claims (see splitLegacy). */
  listed?: ReadonlySet<string>
  /** Report the file's own override lines (default true; the sync core checks the whole tree instead). */
  overrides?: boolean
  /** With friendly aliases: every environment name this origin knows (see BlockOptions.names). */
  names?: ReadonlyMap<string, string>
  /** With friendly aliases: the user's literal Host names elsewhere in the tree (see BlockOptions.userHosts). */
  userHosts?: BlockOptions['userHosts']
  /** Test hook passed to updateFile. */
  beforeRename?: () => Promise<void> | void
  /** Passed to updateFile: keep the replaced file open (watch mode's guard against in-place writers). */
  keepReplaced?: boolean
  /**
   * Under the lock, before splicing: may swap the text the block is spliced into (watch mode re-applies
   * the block on top of what a writer put into the file the rename replaced) or throw to write nothing.
   */
  rebase?: (currentText: string) => string
}

/**
 * Puts the environments' aliases into the managed block of `file` (creating file and block when needed) and
 * returns what was written, with warnings. The rendered block is re-read by a strict scanner before anything is
 * written: it must hold exactly one Host entry of two aliases per environment and nothing else.
 */
export async function syncBlockInFile(
  file: string,
  environments: readonly SshEnvironment[] | ((currentText: string) => readonly SshEnvironment[]),
  options: FileSyncOptions = {},
): Promise<FileSyncResult> {
  let applied: ApplyResult | undefined
  const result = await updateFile(file, {
    dryRun: options.dryRun,
    backup: options.backup,
    beforeRename: options.beforeRename,
    keepReplaced: options.keepReplaced,
    transform: (onDisk) => {
      const current = options.rebase ? options.rebase(onDisk) : onDisk
      // A function sees the text as it is on disk at this attempt (it may differ from an earlier read).
      const wanted = typeof environments === 'function' ? environments(current) : environments
      applied = applyBlock(current, wanted, {file, entry: options.entry, origin: options.origin, listed: options.listed, overrides: options.overrides, names: options.names, userHosts: options.userHosts})
      checkRenderedBlock(applied.blockLines, applied.written, options.entry)
      return applied.text
    },
  })
  return {file: result, written: applied?.written ?? [], warnings: applied?.warnings ?? []}
}

/**
 * Takes the managed block out of `file` (with an origin: only that origin's part, the block going with the
 * last part); a file without one is left untouched. Sections the user wrote inside the block are moved just
 * above it, each reported as a W_FOREIGN_MOVED warning.
 */
export async function removeBlockFromFile(file: string, options: {dryRun?: boolean; origin?: string} = {}): Promise<UpdateResult & {warnings: Warning[]}> {
  // The warnings of the last transform run: the one whose text was written (it re-runs when the file changed).
  let warnings: Warning[] = []
  const result = await updateFile(file, {
    dryRun: options.dryRun,
    transform: (current, exists) => {
      if (!exists) {
        warnings = []
        return current
      }
      const removed = removeManagedBlock(current, {file, origin: options.origin})
      warnings = removed.warnings
      return removed.text
    },
  })
  return {...result, warnings}
}

/**
 * Puts `includeLine` (with a comment saying who added it) at the very top of the user's config, where it is
 * read before any Host or Match line, so the included block applies to every host. Atomic like every write.
 */
export async function addIncludeAtTop(userConfig: string, includeLine: string, options: {dryRun?: boolean} = {}): Promise<UpdateResult> {
  return updateFile(userConfig, {
    dryRun: options.dryRun,
    transform: (current) => {
      assertEditable(current, userConfig)
      if (current.split(/\r?\n/).some((line) => line.trim() === Buffer.from(includeLine, 'utf8').toString('latin1'))) return current
      const eol = detectEol(current)
      // The file is latin1 text (one char per byte): a path's letters go in as their UTF-8 bytes.
      return `# added by \`ona ssh-sync --add-include\`: the aliases ona manages${eol}${Buffer.from(includeLine, 'utf8').toString('latin1')}${eol}${current}`
    },
  })
}

/** A Host pattern or a value as ona renders it: one plain token, or one double-quoted path (entry.ts). */
const PLAIN_TOKEN = /^[A-Za-z0-9_./:@+=,~-]+$/
// Inside double quotes: any byte but a quote, a control character, `%` or a backslash (entry.ts checkPathToken).
// eslint-disable-next-line no-control-regex
const QUOTED_TOKEN = /^"[^"%\\\x00-\x1f\x7f]+"$/
/** A word of a user's `--ssh-option` value (ssh-options.ts): plain, plus SendEnv's wildcards and an IPv6 forward's brackets. */
const OPTION_TOKEN = /^[A-Za-z0-9_./:@+=,~*?[\]-]+$/
/** An entry line as ona renders it: two spaces, a keyword, one space, the value. */
const ENTRY_LINE = /^ {2}([A-Za-z]+) (.+)$/

/**
 * Defence in depth against config injection: re-read the rendered block and compare it with what was meant
 * to be written. This is a strict scanner of the lines ona renders, not a general ssh_config parser: a
 * comment or blank line is skipped (ssh ignores it whole), a `Host` line must name exactly the two aliases of
 * one environment, every other line must be `  Keyword value` with the value made of the tokens entry.ts
 * allows, and each entry must hold exactly the expected keywords and values. Anything else (a tab, an `=`,
 * a second directive smuggled into a value, an unknown keyword, a missing or repeated line) fails.
 * Validation should make this impossible to fail; if it ever does, the error stops the write (it runs
 * inside the transform, before anything reaches the disk). One pass over the block, no parser loaded.
 */
export function checkRenderedBlock(blockLines: readonly string[], written: readonly ValidEnvironment[], entry: EntryOptions = {}): void {
  const fail = (why: string): never => {
    throw new OnaError('ERR_INTERNAL', `the rendered SSH config block failed its check: ${why}`)
  }
  const expected = new Map(written.map((env) => [env.environmentAlias, env]))
  const seen = new Set<string>()
  let current: {env: ValidEnvironment; alias: string; values: Map<string, string>} | undefined
  const close = () => {
    if (!current) return
    const {env, alias, values} = current
    const want = new Map([
      ['hostname', env.host],
      ['user', env.user],
      ['port', String(env.port)],
      ['hostkeyalias', env.environmentAlias],
      ...expectedEntryValues(env, entry),
    ])
    if (values.size !== want.size || [...want].some(([k, v]) => values.get(k) !== v)) fail(`unexpected values under ${alias}`)
  }
  for (const line of blockLines) {
    const trimmed = line.trim()
    if (trimmed === '' || trimmed.startsWith('#')) {
      // A comment is one line to ssh; only a line break could end it, and none can be inside a line.
      if (/[\r\n]/.test(line)) fail('a line break inside a line')
      continue
    }
    if (line.startsWith('Host ')) {
      close()
      const patterns = line.slice(5).split(' ')
      const env = expected.get(patterns[0] ?? '')
      // The friendly alias, when the environment has one, is the third pattern and nothing else is.
      const friendly = env?.friendlyAlias
      const count = friendly === undefined ? 2 : 3
      if (!env || patterns.length !== count || patterns[1] !== env.remoteAlias || !patterns[0]!.endsWith(ENVIRONMENT_SUFFIX) || !patterns[1]!.endsWith(REMOTE_SUFFIX) || !patterns.every((p) => PLAIN_TOKEN.test(p)) || (friendly !== undefined && (patterns[2] !== friendly || !FRIENDLY_ALIAS.test(friendly)))) {
        fail(`unexpected Host patterns ${JSON.stringify(patterns)}`)
      }
      if (seen.has(env!.environmentAlias)) fail(`${env!.environmentAlias} has two Host entries`)
      seen.add(env!.environmentAlias)
      current = {env: env!, alias: patterns[0]!, values: new Map()}
      continue
    }
    const match = ENTRY_LINE.exec(line)
    if (!match) fail(`a line that is not a Host entry or one of its values: ${JSON.stringify(line.slice(0, 80))}`)
    if (!current) fail('a value before the first Host entry')
    const keyword = match![1]!.toLowerCase()
    const option = isSshOptionKeyword(keyword)
    if (current!.values.has(keyword) && !isRepeatedSshOption(keyword)) fail(`${match![1]} twice under ${current!.alias}`)
    if (option) {
      // A user's option: plain words only, never quoted (nothing in it can be read as more than its value).
      const words = match![2]!.split(' ')
      if (!words.every((w) => OPTION_TOKEN.test(w))) fail(`a value of ${match![1]} under ${current!.alias} that ona does not write`)
      const had = current!.values.get(keyword)
      current!.values.set(keyword, had === undefined ? words.join(' ') : `${had}\n${words.join(' ')}`)
      continue
    }
    const tokens = match![2]!.match(/"[^"]*"|[^ ]+/g) ?? []
    // The tokens must be all of the value, with single spaces between them (nothing left over, no blank runs).
    if (tokens.join(' ') !== match![2] || !tokens.every((t) => PLAIN_TOKEN.test(t) || QUOTED_TOKEN.test(t))) {
      fail(`a value of ${match![1]} under ${current!.alias} that ona does not write`)
    }
    const words = tokens.map((t) => (t.startsWith('"') ? t.slice(1, -1) : t))
    // A ProxyCommand is argv: the tokens as an IDE that spawns it without a shell would get them.
    if (keyword === 'proxycommand') current!.values.set(keyword, words.join('\u0000'))
    else if (words.length !== 1) fail(`a multi-valued ${match![1]} under ${current!.alias}`)
    else current!.values.set(keyword, words[0]!)
  }
  close()
  if (seen.size !== written.length) fail(`${seen.size} sections for ${written.length} environments`)
}
