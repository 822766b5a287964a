/**
 * ona's own settings: `settings.json` in the ona config directory (`~/.config/ona/settings.json` on
 * Linux; see platform `configDir`). Written by `ona ssh-sync --resolve-on-connect` / `--identity-file`,
 * read by every sync, the watcher and the ProxyCommand, so a mode chosen once persists.
 *
 * ```json
 * {"version": 1, "identityFile": "/home/me/.ssh/id_work",
 *  "origins": {"https://app.ona.com": {"resolveOnConnect": true}}}
 * ```
 * Resolve-on-connect is per API origin (one install can be set up one way, another the other); the
 * identity file is per machine.
 */
import {mkdir, readFile, rename, rm, writeFile} from 'node:fs/promises'
import path from 'node:path'

import type {Context} from './context.js'
import {OnaError} from './errors.js'
import {mkdirOwned, ownLikeDirectory} from './fs/safe-write.js'
import {applySshOptions, checkSavedSshOptions, isRefusedSshOption, isSshOptionKeyword} from './ssh-config/ssh-options.js'
import {readSmallFile} from './fs/small-file.js'

export interface OriginSettings {
  /** Host entries carry a ProxyCommand that resolves the address (and starts the environment) at connect time. */
  resolveOnConnect?: boolean
  /**
   * The SSH config file this install's block lives in, once chosen with `ona ssh-sync --ssh-config` (absolute;
   * absent: `~/.ssh/config`). Plain `ssh-sync`, `ona ssh`, watch mode and the service use it.
   */
  sshConfig?: string
  /**
   * `ona ssh-sync --friendly-aliases`: each entry also gets `<name>.ona` (the environment's name, slugged),
   * when no other environment of this install slugs to the same (see ssh-config/friendly.ts).
   */
  friendlyAliases?: boolean
  /** `ona ssh-sync --ssh-option`: options written into every entry, as `Keyword value` lines (ssh-config/ssh-options.ts). */
  sshOptions?: string[]
  /**
   * Saved option lines whose keyword this version does not know (a later ona's, `Keyword value` as saved):
   * never written into the block, kept in the file after `sshOptions` on every write (W_SSH_OPTIONS_SKIPPED).
   */
  unknownSshOptions?: string[]
  /** Keys this version does not know (a later ona's settings): kept as read and written back untouched. */
  unknown?: Record<string, unknown>
}

export interface Settings {
  /** An existing private key to use instead of ona's own; its `.pub` is what gets registered. */
  identityFile?: string
  origins: Record<string, OriginSettings>
  /** Top-level keys this version does not know (a later ona's settings): written back untouched. */
  unknown?: Record<string, unknown>
}

const KNOWN_KEYS = new Set(['version', 'identityFile', 'origins'])
const KNOWN_ORIGIN_KEYS = new Set(['resolveOnConnect', 'sshConfig', 'friendlyAliases', 'sshOptions'])

/** The entries of `object` whose keys are not in `known`; undefined when there are none. */
function unknownKeys(object: object, known: ReadonlySet<string>): Record<string, unknown> | undefined {
  const entries = Object.entries(object).filter(([key]) => !known.has(key))
  return entries.length > 0 ? Object.fromEntries(entries) : undefined
}

/**
 * A saved line a later ona could have written: `Keyword value` with a keyword this version does not know,
 * and nothing in it that could be more than one config line. Everything else keeps failing as a hand edit.
 */
function isLaterKeyword(line: unknown): line is string {
  if (typeof line !== 'string') return false
  // eslint-disable-next-line no-control-regex
  if (/[\x00-\x1f\x7f]/.test(line)) return false
  const keyword = /^\s*([A-Za-z0-9]+)(?:[ ]*=[ ]*|[ ]+)\S/.exec(line)?.[1]
  return keyword !== undefined && !isSshOptionKeyword(keyword) && !isRefusedSshOption(keyword)
}

export function settingsPath(ctx: Pick<Context, 'paths'>): string {
  return path.join(ctx.paths.configDir, 'settings.json')
}

/** The key settings are filed under: the API URL's origin (`https://app.ona.com`). */
export function apiOrigin(apiUrl: string): string {
  return new URL(apiUrl).origin
}

/**
 * Reads the settings; a missing file is the defaults. A file that is not the JSON ona writes is an error
 * naming it (never silently treated as defaults, which would flip a user's mode on the next sync).
 * Cheap: one small file read, no heavy imports, so a watcher may call it before every write to follow
 * mode changes made by another `ona`.
 */
export async function readSettings(ctx: Pick<Context, 'paths'>): Promise<Settings> {
  const file = settingsPath(ctx)
  let text: string
  try {
    text = await readSmallFile(file, 'utf8')
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return {origins: {}}
    throw new OnaError('ERR_SETTINGS', `cannot read ${file}: ${(error as Error).message}`, {details: {file}})
  }
  return parseSettings(text, file)
}

/** Pure: the settings in a file's text (see readSettings). */
export function parseSettings(text: string, file = 'settings.json'): Settings {
  let raw: unknown
  try {
    raw = JSON.parse(text)
  } catch {
    throw new OnaError('ERR_SETTINGS', `${file} is not valid JSON`, {details: {file}})
  }
  if (!raw || typeof raw !== 'object' || Array.isArray(raw)) throw new OnaError('ERR_SETTINGS', `${file} does not hold a JSON object`, {details: {file}})
  const object = raw as {identityFile?: unknown; origins?: unknown}
  const settings: Settings = {origins: {}}
  const unknown = unknownKeys(object, KNOWN_KEYS)
  if (unknown) settings.unknown = unknown
  if (object.identityFile !== undefined) {
    if (typeof object.identityFile !== 'string' || object.identityFile === '') throw new OnaError('ERR_SETTINGS', `${file}: "identityFile" must be a non-empty string`, {details: {file}})
    settings.identityFile = object.identityFile
  }
  if (object.origins !== undefined) {
    if (!object.origins || typeof object.origins !== 'object' || Array.isArray(object.origins)) {
      throw new OnaError('ERR_SETTINGS', `${file}: "origins" must be an object`, {details: {file}})
    }
    for (const [origin, value] of Object.entries(object.origins as Record<string, unknown>)) {
      const entry = (value && typeof value === 'object' && !Array.isArray(value) ? value : {}) as {resolveOnConnect?: unknown; sshConfig?: unknown; friendlyAliases?: unknown; sshOptions?: unknown}
      if (entry.resolveOnConnect !== undefined && typeof entry.resolveOnConnect !== 'boolean') {
        throw new OnaError('ERR_SETTINGS', `${file}: "origins.${origin}.resolveOnConnect" must be true or false`, {details: {file}})
      }
      if (entry.sshConfig !== undefined && (typeof entry.sshConfig !== 'string' || entry.sshConfig === '')) {
        throw new OnaError('ERR_SETTINGS', `${file}: "origins.${origin}.sshConfig" must be a non-empty path`, {details: {file}})
      }
      if (entry.friendlyAliases !== undefined && typeof entry.friendlyAliases !== 'boolean') {
        throw new OnaError('ERR_SETTINGS', `${file}: "origins.${origin}.friendlyAliases" must be true or false`, {details: {file}})
      }
      // Written into every entry: checked as strictly as `--ssh-option` itself (a hand edit must not inject config text).
      // A line with a keyword a later ona added is set aside, never written into the block, and kept in the file.
      const later = Array.isArray(entry.sshOptions) ? entry.sshOptions.filter((line) => isLaterKeyword(line)) : []
      const readable = Array.isArray(entry.sshOptions) ? entry.sshOptions.filter((line) => !isLaterKeyword(line)) : entry.sshOptions
      const optionProblem = readable === undefined ? undefined : checkSavedSshOptions(readable)
      if (optionProblem !== undefined) throw new OnaError('ERR_SETTINGS', `${file}: "origins.${origin}.sshOptions" ${optionProblem}`, {details: {file}})
      const unknownHere = unknownKeys(entry, KNOWN_ORIGIN_KEYS)
      settings.origins[origin] = {
        ...(entry.resolveOnConnect === undefined ? {} : {resolveOnConnect: entry.resolveOnConnect}),
        ...(entry.sshConfig === undefined ? {} : {sshConfig: entry.sshConfig as string}),
        ...(entry.friendlyAliases === undefined ? {} : {friendlyAliases: entry.friendlyAliases}),
        ...((readable as string[] | undefined)?.length ? {sshOptions: [...(readable as string[])]} : {}),
        ...(later.length > 0 ? {unknownSshOptions: later} : {}),
        ...(unknownHere ? {unknown: unknownHere} : {}),
      }
    }
  }
  return settings
}

/** Whether entries for this API URL resolve on connect. */
export function resolveOnConnectFor(settings: Settings, apiUrl: string): boolean {
  return settings.origins[apiOrigin(apiUrl)]?.resolveOnConnect === true
}

/** Whether entries for this API URL also get a friendly `<name>.ona` alias. */
export function friendlyAliasesFor(settings: Settings, apiUrl: string): boolean {
  return settings.origins[apiOrigin(apiUrl)]?.friendlyAliases === true
}

/** The `--ssh-option` lines saved for this API URL (empty: none). */
export function sshOptionsFor(settings: Settings, apiUrl: string): string[] {
  return settings.origins[apiOrigin(apiUrl)]?.sshOptions ?? []
}

/** W_SSH_OPTIONS_SKIPPED: the saved option lines for this API URL that this version cannot read (none: undefined). */
export function skippedSshOptionsWarning(settings: Settings, apiUrl: string): {code: string; message: string} | undefined {
  const skipped = settings.origins[apiOrigin(apiUrl)]?.unknownSshOptions ?? []
  if (skipped.length === 0) return undefined
  return {
    code: 'W_SSH_OPTIONS_SKIPPED',
    message: `saved SSH option${skipped.length === 1 ? '' : 's'} ${skipped.map((l) => JSON.stringify(l)).join(', ')} ${skipped.length === 1 ? 'is' : 'are'} not known to this version of ona: not written into the entries, kept in settings.json (a later ona wrote ${skipped.length === 1 ? 'it' : 'them'}; update ona to use ${skipped.length === 1 ? 'it' : 'them'})`,
  }
}

/** What `ona ssh-sync --[no-]friendly-aliases`, `--ssh-option` and `--clear-ssh-options` ask for. */
export interface EntryPreferences {
  friendlyAliases?: boolean
  /** `KEY=VALUE` (or `KEY=` to remove the keyword's values), in order. */
  sshOptions?: readonly string[]
  clearSshOptions?: boolean
}

/**
 * The origin's settings with `preferences` applied, without saving (a dry run shows what they would write).
 * Throws ERR_SSH_OPTION for an option that is refused.
 */
export function withEntryPreferences(settings: Settings, apiUrl: string, preferences: EntryPreferences): Settings {
  const origin = apiOrigin(apiUrl)
  const entry: OriginSettings = {...settings.origins[origin]}
  if (preferences.friendlyAliases !== undefined) entry.friendlyAliases = preferences.friendlyAliases
  if (preferences.clearSshOptions || (preferences.sshOptions?.length ?? 0) > 0) {
    const options = applySshOptions(entry.sshOptions ?? [], preferences.sshOptions ?? [], preferences.clearSshOptions)
    if (options.length > 0) entry.sshOptions = options
    else delete entry.sshOptions
    // Clearing asks for no options at all, a later ona's included.
    if (preferences.clearSshOptions) delete entry.unknownSshOptions
  }
  return {...settings, origins: {...settings.origins, [origin]: entry}}
}

/** Saves `preferences` for this API URL's origin (see withEntryPreferences); returns the settings saved. */
export async function saveEntryPreferences(ctx: Pick<Context, 'paths'>, apiUrl: string, preferences: EntryPreferences): Promise<Settings> {
  const origin = apiOrigin(apiUrl)
  return updateSettings(ctx, (settings) => {
    settings.origins[origin] = withEntryPreferences(settings, apiUrl, preferences).origins[origin]!
  })
}

/** Applies `change` to the current settings and writes them atomically (mode 0600); returns the result. */
export async function updateSettings(ctx: Pick<Context, 'paths'>, change: (settings: Settings) => void): Promise<Settings> {
  const settings = await readSettings(ctx)
  change(settings)
  const file = settingsPath(ctx)
  const temporary = `${file}.${process.pid}.tmp`
  const data: Record<string, unknown> = {...settings.unknown, version: 1}
  if (settings.identityFile) data.identityFile = settings.identityFile
  data.origins = Object.fromEntries(Object.entries(settings.origins).map(([origin, entry]) => [origin, savedOrigin(entry)]))
  try {
    await mkdirOwned(path.dirname(file))
    await writeFile(temporary, `${JSON.stringify(data, null, 2)}\n`, {mode: 0o600})
    await ownLikeDirectory(temporary)
    await rename(temporary, file)
  } catch (error) {
    await rm(temporary, {force: true})
    throw new OnaError('ERR_SETTINGS', `cannot write ${file}: ${(error as Error).message}`, {details: {file}})
  }
  return settings
}

/** One origin as settings.json holds it: a later ona's keys and option lines back where they were read from. */
function savedOrigin(entry: OriginSettings): Record<string, unknown> {
  const {unknown, unknownSshOptions, sshOptions, ...known} = entry
  const options = [...(sshOptions ?? []), ...(unknownSshOptions ?? [])]
  return {...unknown, ...known, ...(options.length > 0 ? {sshOptions: options} : {})}
}

/**
 * Saves what `ona ssh-sync --[no-]resolve-on-connect` and `--identity-file` choose. An identity file must
 * exist (it is checked by reading its public key); an empty one goes back to ona's own key.
 */
export async function saveConnectSettings(
  ctx: Pick<Context, 'paths' | 'platform' | 'env'>,
  options: {apiUrl: string; resolveOnConnect?: boolean; identityFile?: string},
): Promise<Settings> {
  let identityFile: string | undefined
  if (options.identityFile !== undefined && options.identityFile.trim() !== '') {
    const [{expandHome}, {readPublicKey}] = await Promise.all([import('./platform/platform.js'), import('./keys/machine-key.js')])
    identityFile = path.resolve(expandHome(ctx.platform, options.identityFile, ctx.paths.home))
    await readPublicKey(identityFile)
  }
  return updateSettings(ctx, (settings) => {
    if (options.resolveOnConnect !== undefined) {
      const origin = apiOrigin(options.apiUrl)
      settings.origins[origin] = {...settings.origins[origin], resolveOnConnect: options.resolveOnConnect}
    }
    if (options.identityFile !== undefined) {
      if (identityFile) settings.identityFile = identityFile
      else delete settings.identityFile
    }
  })
}

const decided = new WeakSet<object>()

/**
 * Points `ctx.paths.sshConfig` at the file this install's block lives in when nothing on the command line or
 * in the environment names one: the origin's saved `sshConfig`, else (an install set up before the setting
 * existed, e.g. with the README's `--ssh-config ~/.ssh/ona.conf --add-include`) the one file of the config
 * tree ssh reads that holds an ona block with this origin's part, when `~/.ssh/config` itself holds none.
 * Decided once per process: sync, `ona ssh`, watch mode and the service all call it, the first call decides.
 */
export async function useManagedFileSetting(ctx: Pick<Context, 'paths' | 'platform'>, apiUrl: string): Promise<void> {
  if (ctx.paths.sshConfigFrom !== 'default' || decided.has(ctx.paths)) return
  decided.add(ctx.paths)
  const settings = await readSettings(ctx)
  const saved = settings.origins[apiOrigin(apiUrl)]?.sshConfig
  if (saved !== undefined) {
    ctx.paths.sshConfig = saved
    ctx.paths.sshConfigFrom = 'setting'
    return
  }
  const found = await blockElsewhere(ctx, apiOrigin(apiUrl))
  if (found !== undefined) {
    ctx.paths.sshConfig = found
    ctx.paths.sshConfigFrom = 'found'
  }
}

/** The one other file of the tree holding ona's block with `origin`'s part, when `~/.ssh/config` holds no block. */
async function blockElsewhere(ctx: Pick<Context, 'paths' | 'platform'>, origin: string): Promise<string | undefined> {
  const {isBeginMarker} = await import('./ssh-config/block.js')
  const own = await readFile(ctx.paths.sshConfig, 'latin1').catch(() => '')
  if (own.split('\n').some((line) => isBeginMarker(line))) return undefined
  // Only a file that ssh reads (Included) can be where an earlier `--ssh-config` put the block.
  if (!/^[ \t]*include[ \t=]/im.test(own)) return undefined
  const [{readConfigTree}, {passwdOf}, {onaBlockRange}] = await Promise.all([import('./ssh-config/tree.js'), import('./platform/passwd.js'), import('./ssh-config/foreign.js')])
  const tree = await readConfigTree({home: ctx.paths.home, userConfig: ctx.paths.sshConfig, systemConfig: null, userHome: passwdOf(ctx.platform)})
  const files = new Set<string>()
  for (const [index, file] of tree.files.entries()) {
    if (index === 0) continue
    const range = onaBlockRange(tree, file.realPath)
    if (!range) continue
    const lines = tree.lines.slice(range.from, range.to).map((l) => l.content.trim().toLowerCase())
    // Only a block that names this install: an older one without origin lines may be a stale copy (W_STALE_BLOCK).
    if (lines.some((l) => l === `# ona origin ${origin}`.toLowerCase())) files.add(file.path)
  }
  return files.size === 1 ? [...files][0] : undefined
}

/**
 * After a write of the block: the managed file, when it was chosen on the command line (`--ssh-config`) or
 * found in the tree (useManagedFileSetting), is saved for the origin, so plain `ona ssh-sync`, `ona ssh`,
 * watch mode and the service use it from then on. Called by `ona ssh-sync` and `ona ssh` alike;
 * ONA_SSH_CONFIG (the environment) is never saved.
 */
export async function rememberManagedFile(ctx: Pick<Context, 'paths'>, apiUrl: string): Promise<void> {
  if (ctx.paths.sshConfigFrom === 'flag' || ctx.paths.sshConfigFrom === 'found') await saveManagedFile(ctx, apiUrl, ctx.paths.sshConfig)
}

/** Saves the file this install's block lives in (none: it is `~/.ssh/config`, the default). */
export async function saveManagedFile(ctx: Pick<Context, 'paths'>, apiUrl: string, file: string): Promise<void> {
  const origin = apiOrigin(apiUrl)
  const absolute = path.resolve(file)
  const current = (await readSettings(ctx)).origins[origin]?.sshConfig
  const wanted = absolute === path.resolve(ctx.paths.userSshConfig) ? undefined : absolute
  if (current === wanted) return
  await updateSettings(ctx, (settings) => {
    const entry = {...settings.origins[origin]}
    if (wanted === undefined) delete entry.sshConfig
    else entry.sshConfig = wanted
    settings.origins[origin] = entry
  })
}
