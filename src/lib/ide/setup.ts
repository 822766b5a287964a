/**
 * `ona ide setup <editor>`: puts into an editor's user settings.json what its Remote-SSH needs for ona's
 * aliases (settings.ts says what), through the same safe write as the SSH config (atomic, mode, symlinks,
 * lock, a concurrent writer's edit re-read, ownership under sudo, a one-time backup beside it), and records
 * what it added in ona's state directory (state.ts) so `--remove` takes out that and nothing else.
 */
import {stat} from 'node:fs/promises'

import type {Context} from '../context.js'
import {OnaError, isOnaError, type Warning} from '../errors.js'
import {expandHome, pathFor} from '../platform/platform.js'
import {EDITOR_IDS, EDITORS, userSettingsPath, type EditorId} from './editors.js'
import {ALIAS_PATTERNS, FRIENDLY_PATTERN, planRemove, planSetup, readEditorSettings, START_CONNECT_TIMEOUT_S, type SettingsChange} from './settings.js'
import {readIdeState, recordAdditions, type IdeState, type OnaAdditions} from './state.js'

export interface IdeSetupOptions {
  /** The editors named; empty with `all`. */
  editors: EditorId[]
  /** Every editor whose user settings.json exists. */
  all?: boolean
  dryRun?: boolean
  remove?: boolean
  /**
   * The install (API base URL) whose managed SSH config `remote.SSH.configFile` is checked against: the file
   * saved with `--ssh-config` for its origin, as sync, `ona ssh` and doctor decide it. Default as everywhere
   * (resolveApiUrl: ONA_API_URL...).
   */
  apiUrl?: string
  /** Test hook: runs after the new settings are written aside and before they replace the file (safe-write). */
  beforeRename?: () => Promise<void> | void
}

export interface EditorSetupResult {
  editor: EditorId
  name: string
  file: string
  /** Whether the settings file existed before. */
  existed: boolean
  changed: boolean
  written: boolean
  changes: SettingsChange[]
  /** With --dry-run: the unified diff of the change ('' when none). */
  diff?: string
  warnings: Warning[]
}

export interface IdeSetupResult {
  action: 'setup' | 'remove'
  dryRun: boolean
  /** Whether resolve-on-connect is on for some install (then the connect timeout is raised). */
  resolveOnConnect: boolean
  /** The remote.SSH.connectTimeout a start on connect needs, in seconds. */
  connectTimeout: number
  editors: EditorSetupResult[]
  warnings: Warning[]
}

/** The editors `--all` means: every one whose user settings.json exists on this machine. */
export async function installedEditors(ctx: Pick<Context, 'platform'>): Promise<EditorId[]> {
  const found: EditorId[] = []
  for (const id of EDITOR_IDS) {
    if (await isFile(userSettingsPath(ctx.platform, id))) found.push(id)
  }
  return found
}

async function isFile(file: string): Promise<boolean> {
  return stat(file).then((s) => s.isFile(), () => false)
}

async function isDirectory(dir: string): Promise<boolean> {
  return stat(dir).then((s) => s.isDirectory(), () => false)
}

/** Sets up (or with `remove`, takes out) ona's Remote-SSH settings in each editor named. */
export async function ideSetup(ctx: Context, options: IdeSetupOptions): Promise<IdeSetupResult> {
  const remove = options.remove ?? false
  const dryRun = options.dryRun ?? false
  let editors = [...new Set(options.editors)]
  if (options.all) {
    editors = await installedEditors(ctx)
    if (editors.length === 0) {
      const looked = EDITOR_IDS.map((id) => userSettingsPath(ctx.platform, id))
      throw new OnaError('ERR_IDE_NOT_FOUND', `no editor of the VS Code family has user settings on this machine (looked for ${looked.join(', ')})`, {details: {looked}})
    }
  }
  if (editors.length === 0) throw new OnaError('ERR_USAGE', 'no editor given', {hint: 'Name one: `ona ide setup vscode` (or cursor, windsurf, vscodium, code-insiders), or `ona ide setup --all`.'})

  const [{readSettings, useManagedFileSetting}, {resolveApiUrl}] = await Promise.all([import('../settings.js'), import('../api/base-url.js')])
  // remote.SSH.configFile is checked against the file this install's block lives in (a saved --ssh-config).
  if (!remove) await useManagedFileSetting(ctx, resolveApiUrl(options.apiUrl, ctx.env))
  const origins = Object.values((await readSettings(ctx)).origins)
  const resolveOnConnect = origins.some((o) => o.resolveOnConnect === true)
  // `<name>.ona` aliases (ona ssh-sync --friendly-aliases) get their platform too, or the editor asks for it.
  const friendlyAliases = origins.some((o) => o.friendlyAliases === true)
  const state = await readIdeState(ctx)
  const result: IdeSetupResult = {action: remove ? 'remove' : 'setup', dryRun, resolveOnConnect, connectTimeout: START_CONNECT_TIMEOUT_S, editors: [], warnings: []}
  for (const editor of editors) {
    result.editors.push(await setupOne(ctx, editor, {remove, dryRun, resolveOnConnect, friendlyAliases, state, ...(options.beforeRename ? {beforeRename: options.beforeRename} : {})}))
  }
  if (!remove && !resolveOnConnect) {
    result.warnings.push({
      code: 'W_IDE_NO_RESOLVE_ON_CONNECT',
      message: `remote.SSH.connectTimeout was left as it is: resolve-on-connect is off, so connecting does not start an environment. To start one from the editor's host list, run \`ona ssh-sync --resolve-on-connect\`, then this command again.`,
    })
  }
  return result
}

async function setupOne(
  ctx: Context,
  editor: EditorId,
  options: {remove: boolean; dryRun: boolean; resolveOnConnect: boolean; friendlyAliases: boolean; state: IdeState; beforeRename?: () => Promise<void> | void},
): Promise<EditorSetupResult> {
  const file = userSettingsPath(ctx.platform, editor)
  const {name} = EDITORS[editor]
  const record = options.state.files[file]
  const userDir = pathFor(ctx.platform).dirname(file)
  const existed = await isFile(file)
  const base: EditorSetupResult = {editor, name, file, existed, changed: false, written: false, changes: [], warnings: []}
  if (options.remove) {
    if (!record || !existed) {
      if (!options.dryRun && record) await recordAdditions(ctx, file, undefined)
      return base
    }
  } else if (!existed && !(await isDirectory(pathFor(ctx.platform).dirname(userDir)))) {
    // No folder of that editor at all: it is not installed (or never started). Creating one would be litter.
    throw new OnaError('ERR_IDE_NOT_FOUND', `${name} has no user settings on this machine (no ${pathFor(ctx.platform).dirname(userDir)})`, {details: {editor, file}})
  }

  let changes: SettingsChange[] = []
  let newRecord: OnaAdditions | undefined = record
  const {updateFile} = await import('../fs/safe-write.js')
  let update
  try {
    update = await updateFile(file, {
      dryRun: options.dryRun,
      ...(options.beforeRename ? {beforeRename: options.beforeRename} : {}),
      transform: (text) => {
        if (options.remove) {
          const plan = planRemove(text, file, record!)
          changes = plan.changes
          newRecord = undefined
          return plan.text
        }
        const plan = planSetup(text, file, {...(options.resolveOnConnect ? {connectTimeout: START_CONNECT_TIMEOUT_S} : {}), ...(record ? {record} : {}), ...(options.friendlyAliases ? {patterns: [...ALIAS_PATTERNS, FRIENDLY_PATTERN]} : {})})
        changes = plan.changes
        newRecord = plan.record
        return plan.text
      },
    })
  } catch (error) {
    throw settingsWriteError(error, file)
  }
  // Recorded after each file, so what ona added to one file is known even if the next one fails.
  if (!options.dryRun && (options.remove || newRecord !== record)) await recordAdditions(ctx, file, options.remove ? undefined : newRecord)
  const out: EditorSetupResult = {...base, changed: update.changed, written: update.written, changes}
  if (options.dryRun) out.diff = update.changed ? await unifiedDiff(file, update.before, update.after, options.remove) : ''
  if (!options.remove) out.warnings.push(...(await configFileWarnings(ctx, editor, file)))
  return out
}

/** safe-write's errors name the SSH config in their codes and hints: said here for a settings file. */
function settingsWriteError(error: unknown, file: string): unknown {
  if (!isOnaError(error) || !error.code.startsWith('ERR_SSH_CONFIG_')) return error
  const hints: Record<string, string> = {
    ERR_SSH_CONFIG_LOCKED: 'Another `ona ide setup` is editing this file; wait for it and run the command again.',
    ERR_SSH_CONFIG_CONFLICT: 'Another program kept changing the settings file (the editor saving it?); run the command again.',
    ERR_SSH_CONFIG_NOT_FILE: 'The settings path is not a regular file; fix it or move it away.',
    ERR_SSH_CONFIG_SYMLINK_LOOP: 'The settings path is a symlink loop; fix the link.',
  }
  const hint = hints[error.code] ?? error.hint.replace(/choose another file with --ssh-config/g, 'choose another editor').replace(/the SSH config was not changed/g, 'the settings file was not changed')
  return new OnaError('ERR_IDE_SETTINGS_WRITE', error.message, {hint, cause: error, details: {...error.details, file, cause: error.code}})
}

async function unifiedDiff(file: string, before: string, after: string, remove: boolean): Promise<string> {
  const {createTwoFilesPatch} = await import('diff')
  // The texts are latin1 (one char per byte): shown as the UTF-8 they are.
  const utf8 = (text: string) => Buffer.from(text, 'latin1').toString('utf8')
  return createTwoFilesPatch(file, file, utf8(before), utf8(after), 'current', remove ? 'after ona ide setup --remove' : 'after ona ide setup', {context: 3})
}

/**
 * The file an editor's `remote.SSH.configFile` names (`~` expanded), and whether ssh, given it with `-F` as
 * Remote-SSH does, sees ona's block: the managed file itself or an Include of it. `-F` skips the system
 * config, so only that file and what it Includes count. For `ona ide setup` and `ona doctor` alike.
 */
export async function configFileReach(ctx: Pick<Context, 'platform' | 'paths'>, configFile: string): Promise<{named: string; reads: boolean}> {
  const named = expandHome(ctx.platform, configFile.trim(), ctx.paths.home)
  const [{readConfigTree, placesOf}, {resolveTarget}, {passwdOf}] = await Promise.all([import('../ssh-config/tree.js'), import('../fs/safe-write.js'), import('../platform/passwd.js')])
  try {
    const {realPath} = await resolveTarget(ctx.paths.sshConfig)
    const tree = await readConfigTree({home: ctx.paths.home, userConfig: named, systemConfig: null, userHome: passwdOf(ctx.platform)})
    return {named, reads: placesOf(tree, realPath).length > 0}
  } catch {
    return {named, reads: false}
  }
}

/**
 * When the editor's `remote.SSH.configFile` names a file in which ssh does not see ona's block (not the
 * managed file, and no Include of it), its host list has no ona aliases: a warning with the fix.
 */
async function configFileWarnings(ctx: Context, editor: EditorId, file: string): Promise<Warning[]> {
  let configFile: unknown
  try {
    configFile = (await readEditorSettings(ctx.platform, editor, file)).values.configFile
  } catch {
    return []
  }
  if (typeof configFile !== 'string' || configFile.trim() === '') return []
  const {named, reads} = await configFileReach(ctx, configFile)
  if (reads) return []
  const {name} = EDITORS[editor]
  return [
    {
      code: 'W_IDE_CONFIG_FILE',
      message: `${name}'s remote.SSH.configFile is ${configFile}, and ssh reading it does not see ona's block in ${ctx.paths.sshConfig}: ${name}'s host list has no ona aliases. Add \`Include ${ctx.paths.sshConfig}\` at the top of ${named}, or run \`ona ssh-sync --ssh-config ${named}\`.`,
      file,
    },
  ]
}

function describeValue(value: unknown): string {
  return JSON.stringify(value) ?? String(value)
}

/** The human report: per editor its file, one line per setting, and what happened. */
export function formatIdeSetup(result: IdeSetupResult, home?: string): string[] {
  const tilde = (file: string) => (home && (file.startsWith(`${home}/`) || file.startsWith(`${home}\\`)) ? `~${file.slice(home.length)}` : file)
  const lines: string[] = []
  for (const editor of result.editors) {
    lines.push(`${editor.name}: ${tilde(editor.file)}`)
    for (const c of editor.changes) {
      const value = `${c.setting} = ${describeValue(c.value)}`
      const detail = c.action === 'raised' || c.action === 'restored' ? ` (was ${describeValue(c.previous)})` : c.reason ? ` (${c.reason})` : ''
      lines.push(`  ${c.action.padEnd(9)}${value}${detail}`)
    }
    const done =
      result.action === 'remove'
        ? !editor.changed
          ? editor.changes.length === 0 ? 'nothing of ona\'s to take out' : 'unchanged'
          : result.dryRun ? 'would be written (dry run: nothing was changed)' : 'ona\'s values taken out'
        : !editor.changed
          ? 'up to date'
          : result.dryRun ? 'would be written (dry run: nothing was changed)' : `updated; \`ona ide setup ${editor.editor} --remove\` takes ona's values out again`
    lines.push(`  ${done}`)
  }
  return lines
}
