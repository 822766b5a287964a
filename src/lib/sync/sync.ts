/**
 * `ona ssh-sync`: list the caller's environments and bring the managed block of the SSH config up to date.
 * The listing happens before the file is touched; any failure there (API down, token expired, a response
 * that does not validate, an interrupted pagination) throws before a single byte is written, so a failed
 * call can never empty the block.
 */
import type {ApiClient} from '../api/client.js'
import type {ListEnvironmentsResult} from '../api/types.js'
import type {Context} from '../context.js'
import type {Warning} from '../errors.js'
import type {ReplacedFile} from '../fs/safe-write.js'
import {removeBlockFromFile, syncBlockInFile} from '../ssh-config/config-file.js'
import {readBlockEnvironments} from '../ssh-config/index.js'
import type {SshEnvironment} from '../ssh-config/validate.js'
import {diffEnvironments, planBlock, type Change, type KeptEnvironment, type PendingEnvironment, type Update} from './plan.js'

export interface SyncOptions {
  /** Compute and report, write nothing; the result carries a unified diff. */
  dryRun?: boolean
  /** Take the whole block out instead (no API call). */
  remove?: boolean
  /** Watch mode: see FileSyncOptions. */
  keepReplaced?: boolean
  rebase?: (currentText: string) => string
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
  /** Aliases in the block after this run. */
  environments: number
  added: Change[]
  updated: Update[]
  removed: Change[]
  kept: KeptEnvironment[]
  /** Starting environments with no address known yet (no alias until they have one). */
  pending: PendingEnvironment[]
  warnings: Warning[]
  backup?: string
  /** Unified diff of the config (dryRun only). */
  diff?: string
  /** Watch mode only (keepReplaced): the file the rename replaced, still open, and the text written. */
  replaced?: ReplacedFile
  after?: string
  writtenStat?: {ino: number; size: number; mtimeMs: number}
}

/** Creates the API client for the configured management plane, with the stored token. */
export async function connect(ctx: Context, apiUrl: string): Promise<ApiClient> {
  const [{resolveToken}, {createApiClient}, {debugSink}] = await Promise.all([
    import('../auth/token.js'),
    import('../api/client.js'),
    import('../auth/session.js'),
  ])
  const {token} = await resolveToken(ctx, apiUrl)
  // ONA_DEBUG=1 prints one line per request, as login and whoami do (never the token).
  return createApiClient({baseUrl: apiUrl, token, env: ctx.env, debug: debugSink(ctx)})
}

/** One full sync from a listing already fetched (watch mode calls this with its own listing). */
export async function applyListing(ctx: Context, listing: ListEnvironmentsResult, options: SyncOptions = {}): Promise<SyncResult> {
  const file = ctx.paths.sshConfig
  let previous: SshEnvironment[] = []
  let kept: KeptEnvironment[] = []
  let pending: PendingEnvironment[] = []
  let planWarnings: Warning[] = []
  const result = await syncBlockInFile(
    file,
    (current) => {
      previous = readBlockEnvironments(current, {file})
      const plan = planBlock(listing.environments, previous, listing.problems)
      kept = plan.kept
      pending = plan.pending
      planWarnings = plan.warnings
      return plan.desired
    },
    {dryRun: options.dryRun, keepReplaced: options.keepReplaced, rebase: options.rebase},
  )
  const changes = diffEnvironments(previous, result.written)
  return {
    sshConfig: file,
    realPath: result.file.realPath,
    changed: result.file.changed,
    written: result.file.written,
    dryRun: Boolean(options.dryRun),
    removedBlock: false,
    environments: result.written.length,
    ...changes,
    kept,
    pending,
    warnings: [...planWarnings, ...result.warnings],
    backup: result.file.backupPath,
    diff: options.dryRun ? await unifiedDiff(file, result.file.before, result.file.after) : undefined,
    ...(options.keepReplaced ? {replaced: result.file.replaced, after: result.file.after, writtenStat: result.file.writtenStat} : {}),
  }
}

/** The whole of `ona ssh-sync` (without --watch). */
export async function syncSshConfig(ctx: Context, options: SyncOptions & {apiUrl: string; client?: ApiClient}): Promise<SyncResult> {
  if (options.remove) return removeFromConfig(ctx, options)
  const client = options.client ?? (await connect(ctx, options.apiUrl))
  const listing = await client.listEnvironments()
  return applyListing(ctx, listing, options)
}

async function removeFromConfig(ctx: Context, options: SyncOptions): Promise<SyncResult> {
  const file = ctx.paths.sshConfig
  const result = await removeBlockFromFile(file, {dryRun: options.dryRun})
  const previous = readBlockEnvironments(result.before, {file})
  return {
    sshConfig: file,
    realPath: result.realPath,
    changed: result.changed,
    written: result.written,
    dryRun: Boolean(options.dryRun),
    removedBlock: result.changed,
    environments: 0,
    ...diffEnvironments(previous, []),
    kept: [],
    pending: [],
    warnings: [],
    diff: options.dryRun ? await unifiedDiff(file, result.before, result.after) : undefined,
  }
}

async function unifiedDiff(file: string, before: string, after: string): Promise<string> {
  if (before === after) return ''
  const {createTwoFilesPatch} = await import('diff')
  return createTwoFilesPatch(file, file, before, after, 'current', 'after ona ssh-sync', {context: 3})
}

/** The human report: one line per change, nothing alarming when nothing changed. */
export function formatSyncResult(result: SyncResult, home?: string): string[] {
  const shown = home && result.sshConfig.startsWith(`${home}/`) ? `~${result.sshConfig.slice(home.length)}` : result.sshConfig
  const lines: string[] = []
  const verb = result.dryRun ? 'would be ' : ''
  for (const a of result.added) lines.push(`added    ${a.alias}  ${a.address}`)
  for (const u of result.updated) lines.push(`updated  ${u.alias}  ${u.from} -> ${u.to}`)
  for (const r of result.removed) lines.push(`removed  ${r.alias}  ${r.address}`)
  for (const k of result.kept) {
    const why = k.reason === 'invalid-address' ? 'the API sent an invalid address' : `it is ${k.phase.replace('ENVIRONMENT_PHASE_', '').toLowerCase()}`
    lines.push(`kept     ${k.alias}  ${k.address} (last known address: ${why})`)
  }
  for (const p of result.pending) lines.push(`waiting  ${p.alias}  (${p.phase.replace('ENVIRONMENT_PHASE_', '').toLowerCase()}: no SSH address yet)`)
  if (result.removedBlock) lines.push(`${shown}: the ona block ${verb}removed`)
  else if (!result.changed) lines.push(`${shown} is up to date (${result.environments} environment${result.environments === 1 ? '' : 's'})`)
  else if (result.dryRun) lines.push(`${shown} would be updated (dry run: nothing written)`)
  else lines.push(`${shown} updated (${result.environments} environment${result.environments === 1 ? '' : 's'})${result.backup ? `; original kept in ${result.backup}` : ''}`)
  return lines
}
