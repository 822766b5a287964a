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
import {applySshOptions, checkSavedSshOptions} from './ssh-config/ssh-options.js'

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
}

export interface Settings {
  /** An existing private key to use instead of ona's own; its `.pub` is what gets registered. */
  identityFile?: string
  origins: Record<string, OriginSettings>
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
    text = await readFile(file, 'utf8')
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
  if (object.identityFile !== undefined) {
    if (typeof object.identityFile !== 'string' || object.identityFile === '') throw new OnaError('ERR_SETTINGS', `${file}: "identityFile" must be a non-empty string`, {details: {file}})
    settings.identityFile = object.identityFile
  }
  if (object.origins !== undefined) {
    if (!object.origins || typeof object.origins !== 'object' || Array.isArray(object.origins)) {
      throw new OnaError('ERR_SETTINGS', `${file}: "origins" must be an object`, {details: {file}})
    }
    for (const [origin, value] of Object.entries(object.origins as Record<string, unknown>)) {
      const entry = (value ?? {}) as {resolveOnConnect?: unknown; sshConfig?: unknown; friendlyAliases?: unknown; sshOptions?: unknown}
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
      const optionProblem = entry.sshOptions === undefined ? undefined : checkSavedSshOptions(entry.sshOptions)
      if (optionProblem !== undefined) throw new OnaError('ERR_SETTINGS', `${file}: "origins.${origin}.sshOptions" ${optionProblem}`, {details: {file}})
      settings.origins[origin] = {
        ...(entry.resolveOnConnect === undefined ? {} : {resolveOnConnect: entry.resolveOnConnect}),
        ...(entry.sshConfig === undefined ? {} : {sshConfig: entry.sshConfig as string}),
        ...(entry.friendlyAliases === undefined ? {} : {friendlyAliases: entry.friendlyAliases}),
        ...(entry.sshOptions === undefined ? {} : {sshOptions: [...(entry.sshOptions as string[])]}),
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
  const data: Record<string, unknown> = {version: 1}
  if (settings.identityFile) data.identityFile = settings.identityFile
  data.origins = settings.origins
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
