/**
 * `ona ssh-sync`: list the caller's environments and bring the managed block of the SSH config up to date.
 * The listing happens before the file is touched; any failure there (API down, token expired, a response
 * that does not validate, an interrupted pagination) throws before a single byte is written, so a failed
 * call can never empty the block.
 */
import os from 'node:os'
import path from 'node:path'
import {fileURLToPath} from 'node:url'

import type {ApiClient} from '../api/client.js'
import type {Environment, ListEnvironmentsResult} from '../api/types.js'
import type {Context} from '../context.js'
import {isOnaError, type Warning} from '../errors.js'
import type {ReplacedFile} from '../fs/safe-write.js'
import {machineKey, plannedKeyPath, type MachineKey} from '../keys/machine-key.js'
import {isWindows} from '../platform/platform.js'
import {friendlyAliasesFor, readSettings, resolveOnConnectFor, skippedSshOptionsWarning, sshOptionsFor, withEntryPreferences, type EntryPreferences} from '../settings.js'
import {addIncludeAtTop, removeBlockFromFile, syncBlockInFile} from '../ssh-config/config-file.js'
import {isBeginMarker} from '../ssh-config/block.js'
import {readBlockEnvironments, type EntryOptions} from '../ssh-config/index.js'
import type {StaleBlock, TreeReport} from '../ssh-config/tree-check.js'
import type {UserHost} from '../ssh-config/friendly.js'
import {aliasesOf, type SshEnvironment, type ValidEnvironment} from '../ssh-config/validate.js'
import {diffEnvironments, planBlock, type Change, type FriendlyChange, type KeptEnvironment, type PendingEnvironment, type Update} from './plan.js'
import type {ManagedRead, Outcome} from './unchanged.js'
import type {TreeProbe} from '../ssh-config/tree-probes.js'
import {printable} from '../printable.js'

export interface SyncOptions {
  /** Compute and report, write nothing; the result carries a unified diff. */
  dryRun?: boolean
  /** Take this install's aliases out instead (no API call); with `all`, the whole block. */
  remove?: boolean
  /** Watch mode: see FileSyncOptions. */
  keepReplaced?: boolean
  rebase?: (currentText: string) => string
  all?: boolean
  /**
   * The API origin (scheme, host, port) whose part of the block this run owns; other installs' aliases are
   * never touched. Undefined: the whole block (only for callers that manage one install).
   */
  origin?: string
  /** When ssh does not read the managed file, add the `Include` line at the top of `~/.ssh/config`. */
  addInclude?: boolean
  /** Check every alias with the real `ssh -G` when the file holds what ona wants (ssh-sync, --check). */
  verify?: boolean
  /**
   * `--[no-]friendly-aliases`, `--ssh-option`, `--clear-ssh-options` of this run, applied over the saved
   * settings: saved by the command before a write, only shown by a dry run or --check.
   */
  preferences?: EntryPreferences
}

/** The origin (scheme, host and port) of an API URL: what owns a part of the block. */
export function originOf(apiUrl: string): string {
  return new URL(apiUrl).origin
}

/** What a sync needs besides the listing to register keys and write ProxyCommands (sync and watch pass it). */
export interface ApplyOptions extends SyncOptions {
  /** Registers the machine's key on each running environment written (skipped without it, and in dry runs). */
  client?: ApiClient
  /** The API the listing came from (default the client's); names the settings origin and the ProxyCommand's URL. */
  apiUrl?: string
  /**
   * This origin's entries as the block held them before the listing was requested (readBaseline): an
   * environment missing from the listing loses its entry only if the file still holds the same for it.
   * Undefined: the block as it is when written (nobody else wrote meanwhile).
   */
  baseline?: readonly SshEnvironment[]
  /** False when the listing is not everything (watch mode before its first listing): missing ones keep their entries. */
  complete?: boolean
  /** Environments known to be deleted (watch mode's tombstones). */
  deleted?: Iterable<string>
  /**
   * ssh-sync: the managed file as read before the listing was requested. The baseline is its block (when
   * `baseline` is not given), and a sync that would change nothing is answered from the last one that
   * found the same inputs (unchanged.ts).
   */
  before?: ManagedRead
}

/** Key registrations of one sync. */
export interface KeyReport {
  /** The private key every entry names (IdentityFile), absent when the block is empty. */
  identityFile?: string
  fingerprint?: string
  /** Environments the key was registered on by this run. */
  registered: string[]
  /** Environments that could not take the key (a warning each). */
  failed: string[]
  /** True when this run generated ona's key. */
  created?: boolean
}

/** Another tool's block that decides how ona's aliases connect. */
export interface ForeignBlock {
  tool: string
  toolName: string
  file: string
  line: number
  aliases: string[]
  effect: string
  fix: string
}

export interface SyncResult {
  sshConfig: string
  /** The file that was (or would be) written, when the config is a symlink. */
  realPath: string
  /** True when the file on disk differs (or, with dryRun/check, would differ) from the wanted text. */
  changed: boolean
  written: boolean
  dryRun: boolean
  removedBlock: boolean
  /** `--remove` without `--all`: the install whose aliases were taken out (the block stays for others). */
  removedOrigin?: string
  /** Aliases in the block after this run. */
  environments: number
  added: Change[]
  updated: Update[]
  removed: Change[]
  /** Entries this run left as they were. */
  unchanged: number
  /** Friendly aliases that came, moved or went (`--friendly-aliases`). */
  aliased: FriendlyChange[]
  kept: KeptEnvironment[]
  /** Starting environments with no address known yet (no alias until they have one). */
  pending: PendingEnvironment[]
  warnings: Warning[]
  /** Whether a plain `ssh <alias>` (no -F) reads the managed file. */
  readBySsh: boolean
  /** Whether `~/.ssh/config` under $HOME reads it (the same as readBySsh unless sshUserConfig is set). */
  readByHomeConfig: boolean
  /**
   * The user config a plain ssh reads: `.ssh/config` in the password database's home, which is not
   * `~/.ssh/config` under $HOME when $HOME was moved (containers, `sudo -E`); sync then says so.
   */
  sshUserConfig?: string
  /** When it does not: the Include line to add to ~/.ssh/config. */
  includeLine?: string
  /** Where `--add-include` put the Include line. */
  includeAdded?: string
  /** Other ona blocks ssh reads (stale copies): `--check` fails on them. */
  staleBlocks: StaleBlock[]
  /** Other tools' blocks that decide how ona's aliases connect (W_FOREIGN_CONFIG): `--check` fails on them. */
  foreignBlocks: ForeignBlock[]
  /** Aliases checked with the real `ssh -G` (differences are W_SSH_DIFFERS warnings), now or, unchanged, before. */
  verified: number
  /** Of those, the ones whose last answer was reused: nothing ssh reads for them changed (verify-cache.ts). */
  verifiedFromCache: number
  backup?: string
  /** Unified diff of the config (dryRun only). */
  diff?: string
  /**
   * A running `ona ssh-sync --watch` on the same config, and what it does about this command: it stops
   * (`--remove`: it would put the block back otherwise) or follows (a sync, e.g. with new settings).
   */
  watcher?: {pid: number; action: 'stopped' | 'told-to-stop' | 'not-stopped' | 'follows'}
  /** `--remove --all` that stopped several watchers (one per install): all of them, `watcher` the first. */
  watchers?: Array<{pid: number; action: 'stopped' | 'told-to-stop' | 'not-stopped' | 'follows'}>
  /** Watch mode only (keepReplaced): the file the rename replaced, still open, and the text written. */
  replaced?: ReplacedFile
  after?: string
  writtenStat?: {ino: number; size: number; mtimeMs: number}
  /** Whether the entries carry the resolve-on-connect ProxyCommand. */
  resolveOnConnect: boolean
  /** Where the managed file came from (ssh-sync only): --ssh-config, ONA_SSH_CONFIG, the saved setting, ona's block found in the tree, or the default. */
  sshConfigFrom?: Context['paths']['sshConfigFrom']
  keys: KeyReport
  /** Environment ids kept although the listing lacked them: another writer wrote them after the baseline (see plan.ts). */
  unsure?: string[]
}

/**
 * Creates the API client for the configured management plane, with the stored token. The command's
 * deadline (ctx.deadline) bounds every call, and a terminal shows what a slow call waits for.
 */
export async function connect(ctx: Context, apiUrl: string): Promise<ApiClient> {
  const [{resolveToken}, {createApiClient}, {debugSink, waitOptions}, {rememberingListings}, {withCachedSubject}] = await Promise.all([
    import('../auth/token.js'),
    import('../api/client.js'),
    import('../auth/session.js'),
    import('../completion/environments.js'),
    import('../api/subject-cache.js'),
  ])
  const {token} = await resolveToken(ctx, apiUrl)
  // ONA_DEBUG=1 prints one line per request, as login and whoami do (never the token).
  const client = await createApiClient({baseUrl: apiUrl, token, env: ctx.env, debug: debugSink(ctx), ...(await waitOptions(ctx))})
  // A listing names the token's subject id kept from an earlier run: one round trip (subject-cache.ts).
  // Each listing also feeds shell completion (`ona ssh <TAB>`), which then never asks the API itself.
  return rememberingListings(ctx.platform, apiUrl, withCachedSubject(client, {stateDir: ctx.paths.stateDir, token}))
}

const RUNNING = new Set(['ENVIRONMENT_PHASE_RUNNING', 'ENVIRONMENT_PHASE_UPDATING'])
const ON_THE_WAY = new Set(['ENVIRONMENT_PHASE_CREATING', 'ENVIRONMENT_PHASE_STARTING', 'ENVIRONMENT_PHASE_UNSPECIFIED'])

/** ona's launcher (bin/run.js) by absolute path, for the ProxyCommand. */
export function onaLauncher(): string {
  return fileURLToPath(new URL('../../../bin/run.js', import.meta.url))
}

/**
 * The per-entry options from the settings: the key each entry offers and, with resolve-on-connect for
 * this API, the ProxyCommand. The key is created here on first need (unless dry run): only when the
 * block will hold an entry, so an account with nothing running creates nothing.
 */
async function entryOptions(ctx: Context, listing: ListEnvironmentsResult, options: ApplyOptions): Promise<{entry: EntryOptions; key?: MachineKey; resolveOnConnect: boolean; warnings: Warning[]}> {
  const apiUrl = options.apiUrl ?? options.client?.baseUrl
  const saved = await readSettings(ctx)
  const settings = options.preferences && apiUrl !== undefined ? withEntryPreferences(saved, apiUrl, options.preferences) : saved
  const resolveOnConnect = apiUrl !== undefined && resolveOnConnectFor(settings, apiUrl)
  const needed = listing.environments.some((e) => RUNNING.has(e.phase) || ON_THE_WAY.has(e.phase) || (resolveOnConnect && e.phase === 'ENVIRONMENT_PHASE_STOPPED'))
  const windows = isWindows(ctx.platform)
  const sshOptions = apiUrl === undefined ? [] : sshOptionsFor(settings, apiUrl)
  const mine = {windows, ...(sshOptions.length > 0 ? {sshOptions} : {}), ...(apiUrl !== undefined && friendlyAliasesFor(settings, apiUrl) ? {friendlyAliases: true} : {})}
  const proxy = resolveOnConnect && apiUrl ? {proxyCommand: {node: process.execPath, script: onaLauncher(), apiUrl, sshConfig: ctx.paths.sshConfig, configDir: ctx.paths.configDir}} : {}
  const skipped = apiUrl === undefined ? undefined : skippedSshOptionsWarning(settings, apiUrl)
  const warnings = skipped ? [skipped] : []
  if (!needed) return {entry: {...mine, ...proxy}, resolveOnConnect, warnings}
  if (options.dryRun) return {entry: {...mine, identityFile: plannedKeyPath(ctx, settings.identityFile), ...proxy}, resolveOnConnect, warnings}
  const key = await machineKey(ctx, {identityFile: settings.identityFile})
  return {entry: {...mine, identityFile: key.privateKeyPath, ...proxy}, key, resolveOnConnect, warnings}
}

/** Registers the key on each running environment (4 at a time); a failure is a warning, never a failed sync. */
async function registerKeys(client: ApiClient, environments: readonly Environment[], key: MachineKey): Promise<{registered: string[]; failed: string[]; warnings: Warning[]}> {
  const {ensureKeyRegistered} = await import('../environments/keys.js')
  const registered: string[] = []
  const failed: string[] = []
  const warnings: Warning[] = []
  const queue = environments.filter((e) => RUNNING.has(e.phase) && e.ssh)
  const worker = async () => {
    for (let env = queue.shift(); env; env = queue.shift()) {
      try {
        const result = await ensureKeyRegistered(client, env, key)
        if (result.status === 'registered') registered.push(env.id)
        if (result.warning) {
          failed.push(env.id)
          warnings.push(result.warning)
        }
      } catch (error) {
        // Out of time: the whole sync stops before the file is touched (a deadline never rewrites the block).
        if (!isOnaError(error) || error.code === 'ERR_DEADLINE_EXCEEDED') throw error
        failed.push(env.id)
        warnings.push({code: 'W_KEY_NOT_REGISTERED', message: `could not register ona's SSH key on environment ${env.id}: ${error.message} (the aliases were written; the next sync tries again)`})
      }
    }
  }
  await Promise.all(Array.from({length: 4}, worker))
  return {registered: registered.sort(), failed: failed.sort(), warnings}
}

/** One full sync from a listing already fetched (watch mode calls this with its own listing). */
export async function applyListing(ctx: Context, listing: ListEnvironmentsResult, options: ApplyOptions = {}): Promise<SyncResult> {
  const file = ctx.paths.sshConfig
  const {entry, key, resolveOnConnect, warnings: settingsWarnings} = await entryOptions(ctx, listing, options)
  const keyReport: KeyReport = {registered: [], failed: [], ...(entry.identityFile ? {identityFile: entry.identityFile} : {}), ...(key ? {fingerprint: key.fingerprint} : {}), ...(key?.created ? {created: true} : {})}
  const keyWarnings: Warning[] = []
  if (key && options.client && !options.dryRun) {
    const outcome = await registerKeys(options.client, listing.environments, key)
    keyReport.registered = outcome.registered
    keyReport.failed = outcome.failed
    keyWarnings.push(...outcome.warnings)
  }
  const assemble = (outcome: Outcome, extra: Partial<SyncResult> = {}): SyncResult => ({
    sshConfig: file,
    realPath: outcome.realPath,
    changed: outcome.changed,
    written: outcome.written,
    dryRun: Boolean(options.dryRun),
    removedBlock: false,
    environments: outcome.environments,
    added: outcome.added,
    updated: outcome.updated,
    removed: outcome.removed,
    unchanged: outcome.unchanged,
    aliased: outcome.aliased,
    kept: outcome.kept,
    pending: outcome.pending,
    warnings: [...settingsWarnings, ...outcome.planWarnings, ...keyWarnings, ...outcome.warnings],
    verified: outcome.verified,
    verifiedFromCache: outcome.verifiedFromCache,
    readBySsh: outcome.readBySsh,
    readByHomeConfig: outcome.readByHomeConfig,
    sshUserConfig: outcome.sshUserConfig,
    includeLine: outcome.includeLine,
    includeAdded: outcome.includeAdded,
    staleBlocks: outcome.staleBlocks,
    foreignBlocks: outcome.foreignBlocks,
    backup: outcome.backup,
    ...extra,
    resolveOnConnect,
    keys: keyReport,
    ...(outcome.unsure.length > 0 ? {unsure: outcome.unsure} : {}),
  })

  // A plain ssh-sync (not watch mode, not `ona ssh`): the last no-op sync with the same inputs answers.
  const before = options.before
  const recall = before && !options.addInclude && !options.keepReplaced && !options.rebase && options.baseline === undefined && options.complete !== false && options.deleted === undefined
    ? await unchangedInputs(ctx, before, listing, entry, options)
    : undefined
  if (recall) {
    const outcome = await recall.module.recallUnchanged(ctx.paths.stateDir, recall.scope, recall.key, {managedFile: file, before: before!, userHome: (await import('../platform/passwd.js')).passwdOf(ctx.platform), env: ctx.env})
    if (outcome) {
      const {debugSink} = await import('../auth/session.js')
      debugSink(ctx)?.(`ssh-sync: the listing, the settings, ${file}, every file of the config tree and ssh are as at the last sync: its findings are reused`)
      // Every answer is one kept from before: nothing ssh reads for any alias changed.
      return assemble({...outcome, verifiedFromCache: outcome.verified}, options.dryRun ? {diff: ''} : {})
    }
  }
  const baseline = options.baseline ?? (before ? baselineOf(before.text, file, options.origin) : undefined)
  const probes: TreeProbe[] | undefined = recall ? [] : undefined

  let previous: SshEnvironment[] = []
  let kept: KeptEnvironment[] = []
  let pending: PendingEnvironment[] = []
  let planWarnings: Warning[] = []
  let unsure: string[] = []
  // Entries of an earlier ona's block (no origin lines) that this install lists become its own.
  const listed = new Set([...listing.environments.map((e) => e.id.toLowerCase()), ...listing.problems.map((p) => p.environmentId.toLowerCase())])
  // Friendly aliases are unique among every environment this install knows: the listing's (stopped ones
  // too) and the block's own entries (a name the listing lacks, as in `ona ssh`'s partial view).
  const names = new Map<string, string>()
  const userHosts = entry.friendlyAliases ? await userHostsInTree(ctx, probes) : undefined
  const result = await syncBlockInFile(
    file,
    (current) => {
      previous = readBlockEnvironments(current, {file, origin: options.origin, listed})
      names.clear()
      for (const env of previous) if (env.name !== undefined) names.set(env.id.toLowerCase(), env.name)
      for (const env of listing.environments) if (env.name) names.set(env.id.toLowerCase(), env.name)
      // Decided here, under the write lock, against what the file holds now (plan.ts: merge by freshness).
      const plan = planBlock(listing.environments, previous, listing.problems, {keepStopped: resolveOnConnect, baseline, complete: options.complete, deleted: options.deleted})
      kept = plan.kept
      pending = plan.pending
      planWarnings = plan.warnings
      unsure = plan.unsure
      return plan.desired
    },
    {dryRun: options.dryRun, keepReplaced: options.keepReplaced, rebase: options.rebase, entry, origin: options.origin, listed, overrides: false, names, ...(userHosts ? {userHosts} : {})},
  )
  const tree = await checkTree(ctx, result.file.realPath, result.file.after, result.written, probes)
  let includeAdded: string | undefined
  if (options.addInclude && !tree.readByUserConfig && tree.includeLine) {
    await addIncludeAtTop(ctx.paths.userSshConfig, tree.includeLine, {dryRun: options.dryRun})
    includeAdded = ctx.paths.userSshConfig
    if (!options.dryRun) Object.assign(tree, await checkTree(ctx, result.file.realPath, result.file.after, result.written))
  }
  let verified: Awaited<ReturnType<typeof verifyWithSsh>> | undefined
  const onDisk = result.file.written || !result.file.changed
  // Verified as `ssh -F ~/.ssh/config` reads it when $HOME is not ssh's own home (configFileFor).
  if (options.verify && onDisk && tree.readByUserConfig && result.written.length > 0) {
    verified = await verifyWithSsh(ctx, tree, result.file.after, result.written.flatMap((e) => aliasesOf(e)), {cache: {realPath: result.file.realPath, origin: options.origin}})
  }
  // One warning per line that decides a value, not one per alias; lines the tree check named are not repeated.
  const differences = verified ? (await import('../ssh-config/verify.js')).groupDifferences(verified.warnings, tree.covered) : []
  const outcome: Outcome = {
    realPath: result.file.realPath,
    changed: result.file.changed,
    written: result.file.written,
    environments: result.written.length,
    ...diffEnvironments(previous, result.written),
    kept,
    pending,
    planWarnings,
    warnings: [
      ...result.warnings,
      ...tree.warnings.filter((w) => !(includeAdded && w.code === 'W_NOT_INCLUDED')),
      ...differences,
      ...(verified?.note ? [{code: 'W_VERIFY_SKIPPED', message: verified.note}] : []),
    ],
    verified: verified?.checked ?? 0,
    verifiedFromCache: verified?.cached ?? 0,
    // A dry run's Include would make ssh read it only when $HOME's ~/.ssh/config is the one ssh reads.
    readBySsh: tree.readBySsh || (includeAdded !== undefined && Boolean(options.dryRun) && path.resolve(tree.sshUserConfig) === path.resolve(ctx.paths.userSshConfig)),
    readByHomeConfig: tree.readByUserConfig || (includeAdded !== undefined && Boolean(options.dryRun)),
    sshUserConfig: tree.sshUserConfig,
    includeLine: tree.includeLine,
    includeAdded,
    staleBlocks: tree.staleBlocks,
    foreignBlocks: foreignBlocksOf(tree),
    backup: result.file.backupPath,
    unsure,
  }
  // Kept for the next sync when this one changed nothing, read the same file it started from and verified
  // all it had to (ssh -G answered for every alias, and nothing in the tree makes an answer depend on the moment).
  const complete = verified === undefined || verified.complete
  // Nor when a file of the tree changed so shortly before it was read that it could change again unseen (tree-probes.ts).
  const settled = probes !== undefined && !probes.some((p) => (p.kind === 'file' || p.kind === 'dir') && p.racy)
  if (recall && probes && settled && !result.file.changed && !result.file.written && complete && result.file.before === before!.text) {
    await recall.module.rememberUnchanged(ctx.paths.stateDir, recall.scope, recall.key, probes, outcome)
  }
  return assemble(outcome, {
    diff: options.dryRun ? await unifiedDiff(file, result.file.before, result.file.after) : undefined,
    ...(options.keepReplaced ? {replaced: result.file.replaced, after: result.file.after, writtenStat: result.file.writtenStat} : {}),
  })
}

/** The block's entries of this origin in a text read before the listing; none when it cannot be parsed (the safe side). */
function baselineOf(text: string, file: string, origin: string | undefined): SshEnvironment[] {
  try {
    return readBlockEnvironments(text, {file, origin})
  } catch {
    return []
  }
}

/**
 * The key of everything a sync's outcome depends on besides the config tree (unchanged.ts): the listing,
 * the entry options (the settings), the managed file's text, the paths, the ssh binary and the user.
 */
async function unchangedInputs(ctx: Context, before: ManagedRead, listing: ListEnvironmentsResult, entry: EntryOptions, options: ApplyOptions) {
  const [module, {sshIdentity}, {sshUserConfig}] = await Promise.all([import('./unchanged.js'), import('../ssh-config/verify-cache.js'), import('../platform/passwd.js')])
  const ssh = ctx.env.ONA_SSH || 'ssh'
  const key = module.unchangedKey(before, listing, {
    origin: options.origin ?? '',
    verify: Boolean(options.verify),
    entry,
    paths: ctx.paths,
    platform: ctx.platform.name,
    sshUserConfig: sshUserConfig(ctx.platform),
    user: localUser(),
    ssh: [ssh, (await sshIdentity(ssh, ctx.env)) ?? null],
  })
  return {module, key, scope: module.scopeOf(before.realPath, options.origin)}
}

/**
 * This origin's entries in the block as the file holds them now: read before a listing is requested, it is
 * the baseline that listing's absences are judged against (ApplyOptions.baseline). A file that cannot be
 * read or parsed gives none (then no entry is taken for gone: the safe side).
 */
export async function readBaseline(ctx: Context, origin: string | undefined): Promise<SshEnvironment[]> {
  try {
    return baselineOf((await readManagedFile(ctx)).text, ctx.paths.sshConfig, origin)
  } catch {
    return []
  }
}

/**
 * The literal Host names the user's config defines in the files ssh reads besides the managed one (whose
 * own lines applyBlock reads under the write lock): a friendly alias must not take one of them over.
 */
async function userHostsInTree(ctx: Context, probes?: TreeProbe[]): Promise<Map<string, UserHost>> {
  const {literalHostNames} = await import('../ssh-config/friendly.js')
  const {realPath, text} = await readManagedFile(ctx)
  const {tree} = await checkTree(ctx, realPath, text, [], probes)
  const hosts = new Map<string, UserHost>()
  for (const line of tree.lines) {
    if (line.directive?.keyword !== 'host' || tree.files[line.fileIndex]?.realPath === realPath) continue
    for (const name of literalHostNames(line.directive.args)) if (!hosts.has(name)) hosts.set(name, {file: line.file, line: line.line, text: line.content.trim()})
  }
  return hosts
}

/**
 * The managed file as it is on disk (through symlinks), latin1 as the writer handles it, '' when missing,
 * with the identity of what was read (ssh-sync's start: unchanged.ts).
 */
async function readManagedFile(ctx: Context): Promise<ManagedRead> {
  const [{resolveTarget}, {readManaged}] = await Promise.all([import('../fs/safe-write.js'), import('./unchanged.js')])
  return readManaged((await resolveTarget(ctx.paths.sshConfig)).realPath)
}

/** The whole of `ona ssh-sync` (without --watch). */
export async function syncSshConfig(ctx: Context, options: SyncOptions & {apiUrl: string; client?: ApiClient}): Promise<SyncResult> {
  const withOrigin = {...options, origin: options.origin ?? originOf(options.apiUrl), verify: options.verify ?? true}
  // The file this install's block lives in: --ssh-config, ONA_SSH_CONFIG, else what was chosen before.
  const {useManagedFileSetting, rememberManagedFile} = await import('../settings.js')
  await useManagedFileSetting(ctx, options.apiUrl)
  if (options.remove) return {...(await removeFromConfig(ctx, withOrigin)), sshConfigFrom: ctx.paths.sshConfigFrom}
  const client = options.client ?? (await connect(ctx, options.apiUrl))
  // Read before the listing is asked for: an entry another writer adds meanwhile is not taken for gone.
  // (Its block is parsed only when the sync is not answered from the last one: unchanged.ts.)
  const before = await readManagedFile(ctx)
  const listing = await client.listEnvironments()
  const result = {...(await applyListing(ctx, listing, {...withOrigin, client, before})), sshConfigFrom: ctx.paths.sshConfigFrom}
  // Chosen once (--ssh-config, or an earlier one's block found in the tree): plain syncs, `ona ssh`, watch
  // mode and the service use it from now on.
  if (!options.dryRun) await rememberManagedFile(ctx, options.apiUrl)
  if (!options.dryRun) {
    // A running watcher rewrites the block under the settings this command may have just changed.
    const {tellWatcher, recordRemoved} = await import('../watch/lock.js')
    // This install's aliases are wanted again: its service may keep them current from now on.
    await recordRemoved(ctx, withOrigin.origin, false)
    const watcher = await tellWatcher(ctx, withOrigin.origin, {action: 'resync', reason: 'ona ssh-sync ran (settings may have changed)'})
    if (watcher) result.watcher = {pid: watcher.pid, action: 'follows'}
  }
  return result
}

function foreignBlocksOf(tree: TreeReport): ForeignBlock[] {
  return tree.connection.flatMap((f) => (f.tool ? [{tool: f.tool, toolName: f.toolName!, file: f.file, line: f.line, aliases: f.aliases, effect: f.effect, fix: f.fix}] : []))
}

/** The config tree with the managed file as written: overrides from any file, whether ssh reads it, stale blocks. */
async function checkTree(ctx: Context, realPath: string, text: string, written: readonly ValidEnvironment[], probes?: TreeProbe[]): Promise<TreeReport & {sshUserConfig: string}> {
  const [{checkConfigTree}, {passwdOf, sshUserConfig}] = await Promise.all([import('../ssh-config/tree-check.js'), import('../platform/passwd.js')])
  // Which home ssh reads its config from is decided here, for sync, `ona ssh` (sshConfigArgs) and doctor.
  const own = sshUserConfig(ctx.platform)
  const report = await checkConfigTree({
    sshUserConfig: own,
    userHome: passwdOf(ctx.platform),
    home: ctx.paths.home,
    managedFile: ctx.paths.sshConfig,
    managedRealPath: realPath,
    managedText: text,
    environments: written,
    userConfig: ctx.paths.userSshConfig,
    systemConfig: ctx.paths.systemSshConfig,
    probes,
    env: ctx.env,
  })
  return {...report, sshUserConfig: own}
}

/**
 * The real `ssh -G` for every alias written, when the file on disk holds the wanted text (after a write,
 * or in --check of a current config) and ssh reads it: differences become warnings.
 */
async function verifyWithSsh(
  ctx: Context,
  tree: TreeReport,
  text: string,
  aliases: readonly string[],
  options: {signal?: AbortSignal; cache?: {realPath: string; origin?: string; blockAliases?: ReadonlySet<string>}} = {},
): Promise<{warnings: Warning[]; note?: string; checked: number; cached: number; complete: boolean}> {
  const [{configFileFor, verifyAliases, writtenValues}, {passwdOf, sshUserConfig}] = await Promise.all([import('../ssh-config/verify.js'), import('../platform/passwd.js')])
  const configFile = configFileFor(ctx.paths.userSshConfig, sshUserConfig(ctx.platform))
  // An empty ONA_SSH is unset, as verifyAliases and `ona ssh` read it.
  const ssh = ctx.env.ONA_SSH || 'ssh'
  // What ssh -G found last time, for the aliases whose entry and tree are unchanged (verify-cache.ts).
  let cached: {module: typeof import('../ssh-config/verify-cache.js'); cache: import('../ssh-config/verify-cache.js').VerifyCache; key?: string; entries: Map<string, string>} | undefined
  let check: readonly string[] = aliases
  const reused = new Map<string, Warning[]>()
  if (options.cache) {
    const module = await import('../ssh-config/verify-cache.js')
    const values = writtenValues(text)
    const entries = new Map(aliases.map((a) => [a, module.entryHash(values.get(a))]))
    const [key, cache] = await Promise.all([
      module.treeFingerprint({tree: tree.tree, managedRealPath: options.cache.realPath, managedText: text, ssh, env: ctx.env, home: ctx.paths.home, configFile, user: localUser(), userHome: passwdOf(ctx.platform)}),
      module.loadVerifyCache(ctx.paths.stateDir, `${options.cache.realPath}\u0000${options.cache.origin ?? ''}`),
    ])
    const planned = module.plan(cache, key, entries)
    check = planned.check
    for (const [alias, warnings] of planned.reused) reused.set(alias, warnings)
    cached = {module, cache, key, entries}
  }
  const result = check.length === 0
    ? {warnings: [] as Warning[], checked: 0, skipped: undefined}
    : await verifyAliases({userHome: passwdOf(ctx.platform), text, aliases: check, signal: options.signal, tree: tree.tree, configFile, home: ctx.paths.home, env: ctx.env})
  // Every alias answered (none skipped, none failed: a failed `ssh -G` is asked again next time), with
  // nothing in the tree that makes an answer depend on the moment: what verify-cache keeps, and what a
  // no-op sync's outcome may be kept with (unchanged.ts).
  const complete = cached?.key !== undefined && result.skipped === undefined && result.checked === check.length
  if (complete && cached?.key !== undefined && check.length > 0) {
    const byAlias = new Map<string, Warning[]>(reused)
    for (const alias of check) byAlias.set(alias, [])
    for (const w of result.warnings) if (w.alias !== undefined) byAlias.get(w.alias)?.push(w)
    await cached.module.saveVerifyCache(cached.cache, cached.key, cached.entries, byAlias, options.cache?.blockAliases)
  }
  return {warnings: [...[...reused.values()].flat(), ...result.warnings], note: result.skipped, checked: result.checked + reused.size, cached: reused.size, complete}
}

function localUser(): string {
  try {
    return os.userInfo().username
  } catch {
    return ''
  }
}

/** What one verification of the file on disk found (watch mode reports it as it comes). */
export interface DiskVerification {
  /** Aliases ssh -G answered for. */
  checked: number
  /** The aliases asked about (both of each environment). */
  aliases: string[]
  warnings: Warning[]
  /** Why nothing (or not everything) was checked: no ssh, a `Match exec`, out of time. */
  note?: string
  /** Of `checked`, the aliases whose last answer was reused: nothing ssh reads for them changed (verify-cache.ts). */
  cached?: number
}

/**
 * `ssh -G` for some of this origin's aliases as the managed file is on disk now (watch mode, after its
 * writes): `environmentAliases` names environments by their `.gitpod.environment` alias (both of each
 * one's aliases are checked); undefined checks all of them. Nothing is checked when ssh does not read the
 * file (the write already warned about that).
 */
export async function verifyConfigOnDisk(
  ctx: Context,
  options: {origin?: string; environmentAliases?: readonly string[]; signal?: AbortSignal} = {},
): Promise<DiskVerification> {
  const {ENVIRONMENT_SUFFIX, REMOTE_SUFFIX} = await import('../ssh-config/validate.js')
  const file = ctx.paths.sshConfig
  const {realPath, text} = await readManagedFile(ctx)
  const tree = await checkTree(ctx, realPath, text, [])
  if (!tree.readByUserConfig) return {checked: 0, aliases: [], warnings: []}
  const wanted = options.environmentAliases === undefined ? undefined : new Set(options.environmentAliases)
  const namesOf = (e: SshEnvironment) => [`${e.id}${ENVIRONMENT_SUFFIX}`, `${e.id}${REMOTE_SUFFIX}`, ...(e.friendlyAlias === undefined ? [] : [e.friendlyAlias])]
  const block = readBlockEnvironments(text, {file, origin: options.origin})
  const aliases = block.filter((e) => wanted === undefined || wanted.has(`${e.id}${ENVIRONMENT_SUFFIX}`)).flatMap(namesOf)
  if (aliases.length === 0) return {checked: 0, aliases, warnings: []}
  // The same cache as ssh-sync (issue 21): an alias whose entry, tree and ssh are as at its last check is
  // not run again (a watcher's start after a sync, a block put back as it was); what changed is checked.
  const cache = {realPath, origin: options.origin, blockAliases: new Set(block.flatMap(namesOf))}
  const result = await verifyWithSsh(ctx, tree, text, aliases, {signal: options.signal, cache})
  return {checked: result.checked, aliases, warnings: result.warnings, note: result.note, cached: result.cached}
}

async function removeFromConfig(ctx: Context, options: SyncOptions & {origin: string}): Promise<SyncResult> {
  const file = ctx.paths.sshConfig
  // A running watcher would put the block back within seconds: it is stopped first (it finishes a write in
  // progress and writes nothing after), then the block is taken out.
  // Only this install's watcher (another install's keeps its own part current); with --all, every one.
  let watchers: Array<NonNullable<SyncResult['watcher']>> = []
  if (!options.dryRun) {
    const {tellWatcher, stopAllWatchers, recordRemoved} = await import('../watch/lock.js')
    // Recorded first: a service started later (the next login) must not put the aliases back either.
    await recordRemoved(ctx, options.origin, true, {all: options.all})
    const message = {action: 'stop', reason: 'the block was removed by `ona ssh-sync --remove`'} as const
    const answers = options.all ? await stopAllWatchers(ctx, message) : [await tellWatcher(ctx, options.origin, message)]
    // `unconfirmed`: an earlier ona's holder whose command line could not be read (Windows): sent nothing.
    watchers = answers.filter((a) => a !== undefined).map((a) => ({pid: a.pid, action: a.state === 'stopped' ? 'stopped' : a.state === 'unconfirmed' ? 'not-stopped' : 'told-to-stop'}))
  }
  const origin = options.all ? undefined : options.origin
  const result = await removeBlockFromFile(file, {dryRun: options.dryRun, origin})
  const previous = readBlockEnvironments(result.before, {file, origin})
  return {
    sshConfig: file,
    realPath: result.realPath,
    changed: result.changed,
    written: result.written,
    dryRun: Boolean(options.dryRun),
    removedBlock: result.changed && !result.after.split(/\r?\n/).some((line) => isBeginMarker(line)),
    removedOrigin: origin,
    environments: 0,
    ...diffEnvironments(previous, []),
    kept: [],
    pending: [],
    // Sections the user wrote inside the block are moved out, not deleted: said as sync says it.
    warnings: result.warnings,
    readBySsh: true,
    readByHomeConfig: true,
    staleBlocks: [],
    foreignBlocks: [],
    verified: 0,
    verifiedFromCache: 0,
    diff: options.dryRun ? await unifiedDiff(file, result.before, result.after) : undefined,
    resolveOnConnect: false,
    keys: {registered: [], failed: []},
    ...(watchers[0] ? {watcher: watchers[0]} : {}),
    ...(watchers.length > 1 ? {watchers} : {}),
  }
}

async function unifiedDiff(file: string, before: string, after: string): Promise<string> {
  if (before === after) return ''
  const {createTwoFilesPatch} = await import('diff')
  return createTwoFilesPatch(file, file, before, after, 'current', 'after ona ssh-sync', {context: 3})
}

/**
 * The human report: one line per change, nothing alarming when nothing changed. `check` (`--check`) and
 * `remove` (`--remove`) say what the last line means for those runs.
 */
export function formatSyncResult(result: SyncResult, home?: string, mode: {check?: boolean; remove?: boolean} = {}): string[] {
  const tilde = (file: string) => (home && file.startsWith(`${home}/`) ? `~${file.slice(home.length)}` : file)
  const shown = tilde(result.sshConfig)
  const lines: string[] = []
  const verb = result.dryRun ? 'would be ' : ''
  // Aliases, addresses and phases come from the API: each is made printable (the --json result keeps them raw).
  const p = (text: string) => printable(text)
  for (const a of result.added) lines.push(`added    ${p(a.alias)}  ${p(a.address)}`)
  for (const u of result.updated) lines.push(`updated  ${p(u.alias)}  ${p(u.from)} -> ${p(u.to)}`)
  for (const r of result.removed) lines.push(`removed  ${p(r.alias)}  ${p(r.address)}`)
  for (const a of result.aliased) {
    if (a.to !== undefined) lines.push(`alias    ${p(a.to)} -> ${p(a.alias)}${a.from === undefined ? '' : ` (was ${p(a.from)})`}`)
    else lines.push(`alias    ${p(a.from ?? '')} removed (${p(a.alias)})`)
  }
  for (const k of result.kept) {
    const why =
      k.reason === 'invalid-address' ? 'the API sent an invalid address'
      : k.reason === 'unreadable' ? 'the API sent a record ona could not read'
      : k.reason === 'stopped' ? `it is ${p(k.phase.replace('ENVIRONMENT_PHASE_', '').toLowerCase())}; ssh starts it through ona`
      : `it is ${p(k.phase.replace('ENVIRONMENT_PHASE_', '').toLowerCase())}`
    lines.push(`kept     ${p(k.alias)}  ${p(k.address)} (last known address: ${why})`)
  }
  if (result.keys.created && result.keys.identityFile) lines.push(`created  SSH key ${tilde(result.keys.identityFile)} (${result.keys.fingerprint})`)
  if (result.keys.registered.length > 0) {
    lines.push(`key      registered on ${result.keys.registered.length} environment${result.keys.registered.length === 1 ? '' : 's'} (${result.keys.fingerprint})`)
  }
  for (const w of result.pending) lines.push(`waiting  ${p(w.alias)}  (${p(w.phase.replace('ENVIRONMENT_PHASE_', '').toLowerCase())}: no SSH address yet)`)
  for (const watcher of result.watchers ?? (result.watcher ? [result.watcher] : [])) {
    if (watcher.action === 'stopped') lines.push(`stopped the running \`ona ssh-sync --watch\` (pid ${watcher.pid}) so that it does not put the block back`)
    if (watcher.action === 'told-to-stop') lines.push(`told the running \`ona ssh-sync --watch\` (pid ${watcher.pid}) to stop; it writes nothing more`)
    if (watcher.action === 'not-stopped') lines.push(`pid ${watcher.pid} holds the lock of an earlier ona's \`ona ssh-sync --watch\`, but ona could not confirm it is that watcher and sent it nothing: if it is, end it by hand (on Windows \`taskkill /PID ${watcher.pid}\`), or it may put the block back`)
  }
  if (home && result.sshUserConfig !== undefined && path.resolve(result.sshUserConfig) !== path.resolve(home, '.ssh', 'config') && !result.removedBlock && result.removedOrigin === undefined) {
    lines.push(`ssh reads ${result.sshUserConfig} (from this user's home in the password database), not ~/.ssh/config under $HOME${home ? ` (${home})` : ''}${result.readBySsh ? '' : ': a plain `ssh <alias>` does not see these aliases; `ona ssh` names ~/.ssh/config with -F'}`)
  }
  if (result.includeAdded) lines.push(`${result.includeAdded}: ${verb === '' ? 'added' : 'would add'} \`${result.includeLine}\` at the top, so ssh reads ${shown}`)
  if (result.sshConfigFrom === 'found') lines.push(`${shown} holds this install's ona block (nothing names a file, and ~/.ssh/config holds none): ona manages that file${result.dryRun ? '' : ' from now on'}`)
  if (mode.remove && !result.changed) lines.push(`${shown}: nothing to remove (${result.removedOrigin === undefined ? 'no ona block' : `no aliases of ${result.removedOrigin}`})`)
  else if (result.removedBlock) lines.push(`${shown}: the ona block ${verb}removed`)
  else if (result.removedOrigin !== undefined && result.changed) lines.push(`${shown}: the aliases of ${result.removedOrigin} ${verb}removed (other installs' aliases stay)`)
  else if (!result.changed) lines.push(`${shown} is up to date (${result.environments} environment${result.environments === 1 ? '' : 's'})`)
  else if (mode.check) lines.push(`${shown} is out of date (${result.environments} environment${result.environments === 1 ? '' : 's'}); nothing written`)
  else if (result.dryRun) lines.push(`${shown} would be updated (dry run: nothing written)`)
  else lines.push(`${shown} updated (${result.environments} environment${result.environments === 1 ? '' : 's'})${result.backup ? `; original kept in ${result.backup}` : ''}`)
  if (result.watcher?.action === 'follows') lines.push(`the running \`ona ssh-sync --watch\` (pid ${result.watcher.pid}) follows: it keeps the block this way`)
  return lines
}
