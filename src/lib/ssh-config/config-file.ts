/**
 * The block engine applied to a file on disk: read, splice, check, write atomically (see fs/safe-write.ts).
 */
import {OnaError, type Warning} from '../errors.js'
import {updateFile, type UpdateResult} from '../fs/safe-write.js'
import {expectedEntryValues, type EntryOptions} from './entry.js'
import {ENVIRONMENT_SUFFIX, REMOTE_SUFFIX, type SshEnvironment, type ValidEnvironment} from './validate.js'
import {applyBlock, assertEditable, removeManagedBlock, type ApplyResult} from './index.js'
import {detectEol} from './scan.js'

type SSHConfigModule = typeof import('ssh-config').default

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
  /** Report the file's own override lines (default true; the sync core checks the whole tree instead). */
  overrides?: boolean
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
 * returns what was written, with warnings. The rendered block is re-read with the `ssh-config` parser before
 * anything is written: it must hold exactly one Host entry of two aliases per environment and nothing else.
 */
export async function syncBlockInFile(
  file: string,
  environments: readonly SshEnvironment[] | ((currentText: string) => readonly SshEnvironment[]),
  options: FileSyncOptions = {},
): Promise<FileSyncResult> {
  let applied: ApplyResult | undefined
  const {default: SSHConfig} = await import('ssh-config')
  const result = await updateFile(file, {
    dryRun: options.dryRun,
    backup: options.backup,
    beforeRename: options.beforeRename,
    keepReplaced: options.keepReplaced,
    transform: (onDisk) => {
      const current = options.rebase ? options.rebase(onDisk) : onDisk
      // A function sees the text as it is on disk at this attempt (it may differ from an earlier read).
      const wanted = typeof environments === 'function' ? environments(current) : environments
      applied = applyBlock(current, wanted, {file, entry: options.entry, origin: options.origin, overrides: options.overrides})
      checkRenderedBlock(SSHConfig, applied.blockLines, applied.written, options.entry)
      return applied.text
    },
  })
  return {file: result, written: applied?.written ?? [], warnings: applied?.warnings ?? []}
}

/**
 * Takes the managed block out of `file` (with an origin: only that origin's part, the block going with the
 * last part); a file without one is left untouched.
 */
export async function removeBlockFromFile(file: string, options: {dryRun?: boolean; origin?: string} = {}): Promise<UpdateResult> {
  return updateFile(file, {dryRun: options.dryRun, transform: (current, exists) => (exists ? removeManagedBlock(current, {file, origin: options.origin}).text : current)})
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
      if (current.split(/\r?\n/).some((line) => line.trim() === includeLine)) return current
      const eol = detectEol(current)
      return `# added by \`ona ssh-sync --add-include\`: the aliases ona manages${eol}${includeLine}${eol}${current}`
    },
  })
}

/**
 * Defence in depth against config injection: parse the block with an independent parser and compare with
 * what was meant to be written. Validation should make this impossible to fail; if it ever does, the
 * error stops the write (it runs inside the transform, before anything reaches the disk).
 */
export function checkRenderedBlock(SSHConfig: SSHConfigModule, blockLines: readonly string[], written: readonly ValidEnvironment[], entry: EntryOptions = {}): void {
  const parsed = SSHConfig.parse(blockLines.join('\n'))
  const sections = parsed.filter((line) => line.type === SSHConfig.DIRECTIVE)
  const expected = new Map(written.map((env) => [env.environmentAlias, env]))
  const fail = (why: string) => {
    throw new OnaError('ERR_INTERNAL', `the rendered SSH config block failed its check: ${why}`)
  }
  if (sections.length !== written.length) fail(`${sections.length} sections for ${written.length} environments`)
  for (const section of sections) {
    if (section.type !== SSHConfig.DIRECTIVE || section.param.toLowerCase() !== 'host' || !('config' in section)) fail('a section is not a Host entry')
    const patterns = Array.isArray(section.value) ? section.value.map((v) => (typeof v === 'string' ? v : v.val)) : [String(section.value)]
    const env = expected.get(patterns[0] ?? '')
    if (!env || patterns.length !== 2 || patterns[1] !== env.remoteAlias || !patterns[0]!.endsWith(ENVIRONMENT_SUFFIX) || !patterns[1]!.endsWith(REMOTE_SUFFIX)) {
      fail(`unexpected Host patterns ${JSON.stringify(patterns)}`)
    }
    const values = new Map<string, string>()
    for (const line of (section as unknown as {config: Array<{type: number; param?: string; value?: unknown}>}).config) {
      if (line.type !== SSHConfig.DIRECTIVE) continue
      const param = String(line.param).toLowerCase()
      if (values.has(param)) fail(`${line.param} twice under ${patterns[0]}`)
      // A ProxyCommand is argv: the tokens as an IDE that spawns it without a shell would get them.
      if (param === 'proxycommand' && Array.isArray(line.value)) {
        values.set(param, (line.value as Array<{val: string}>).map((v) => v.val).join('\u0000'))
        continue
      }
      if (typeof line.value !== 'string') fail(`a multi-valued ${line.param} under ${patterns[0]}`)
      values.set(param, String(line.value))
    }
    const want = new Map([
      ['hostname', env!.host],
      ['user', env!.user],
      ['port', String(env!.port)],
      ['hostkeyalias', env!.environmentAlias],
      ...expectedEntryValues(env!, entry),
    ])
    if (values.size !== want.size || [...want].some(([k, v]) => values.get(k) !== v)) fail(`unexpected values under ${patterns[0]}`)
  }
}
