/**
 * One environment's entry in the block, read and changed by itself: what the ProxyCommand (`ona ssh-proxy`)
 * does at connect time. It learns one environment's address, so it changes that entry's HostName, User and
 * Port lines and nothing else: every other byte of the file (other entries, their ProxyCommand and
 * IdentityFile lines, other installs' parts, the user's text) stays as it is. It never adds an entry (the
 * sync core decides which environments have one) and never writes the key or the options of an entry,
 * which are what the writer of the block chose; it reads them instead (see readBlockEntry).
 *
 * Whether the address may replace the entry's is decided where every writer's is (plan.ts decideEntry):
 * given the environment's statusVersion, only strictly newer information than the entry's freshness line
 * records replaces it, and the freshness line is written with the address.
 */
import {readFile} from 'node:fs/promises'

import type {SshAddress} from '../api/types.js'
import {updateFile} from '../fs/safe-write.js'
import {freshnessLine, onaEntryAlias, readFreshness} from '../ssh-config/block.js'
import {assertEditable, parseBlock} from '../ssh-config/index.js'
import {isSectionStart, parseDirective, splitLines} from '../ssh-config/scan.js'
import {validateEnvironments, type SshEnvironment} from '../ssh-config/validate.js'
import {aliasOf, decideEntry, formatAddress} from './plan.js'

/** What the block says about one environment: its last known address and the key its entry names. */
export interface BlockEntryInfo {
  /** Undefined when the entry has no complete address. */
  address?: SshAddress
  /** The entry's IdentityFile (the key the writer registered), as written (quotes removed). */
  identityFile?: string
  /** The install (API origin) whose part holds it; undefined for an entry written before installs had parts. */
  origin: string | undefined
}

const ORIGIN_LINE = /^#[ \t]*ona[ \t]+origin\b/i
const ADDRESS_KEYWORDS = new Set(['hostname', 'user', 'port'])

/**
 * The line indexes of the entry ssh reads for `alias` (the first ona Host entry for it in the block): its
 * Host line, then every line up to the next section, origin line or the END marker.
 */
function entryLines(text: string, alias: string, file?: string): {lines: ReturnType<typeof splitLines>; host: number; end: number; parsed: NonNullable<ReturnType<typeof parseBlock>>} | undefined {
  const parsed = parseBlock(text, file)
  if (!parsed) return undefined
  const lines = splitLines(text)
  // beginLine/endLine are 1-based: the block's inside is [beginLine, endLine - 1) as 0-based indexes.
  const last = parsed.location.endLine - 1
  for (let i = parsed.location.beginLine; i < last; i++) {
    const content = lines[i]!.content
    if (!isSectionStart(content)) continue
    // ona's Host line for the alias, with or without a friendly alias (block.ts): the entry ssh reads for all of them.
    if (onaEntryAlias(content) !== alias) continue
    let end = i + 1
    while (end < last && !isSectionStart(lines[end]!.content) && !ORIGIN_LINE.test(lines[end]!.content.trim())) end++
    return {lines, host: i, end, parsed}
  }
  return undefined
}

/** The part (origin) that holds `alias` first in the parsed block; null when no part does. */
function ownerOf(parsed: NonNullable<ReturnType<typeof parseBlock>>, alias: string): string | undefined | null {
  const part = parsed.parts.find((p) => p.entries.some((e) => e.alias === alias))
  return part ? part.origin : null
}

/** Pure: what the block in `text` says about the environment `environmentId` (undefined: no entry). */
export function readBlockEntry(text: string, environmentId: string, file?: string): BlockEntryInfo | undefined {
  const alias = aliasOf(environmentId)
  const found = entryLines(text, alias, file)
  if (!found) return undefined
  const values = new Map<string, string>()
  for (let i = found.host + 1; i < found.end; i++) {
    const directive = parseDirective(found.lines[i]!.content)
    const value = directive?.args[0]
    // ssh uses the first value of each keyword: so does this.
    if (directive && value !== undefined && !values.has(directive.keyword)) values.set(directive.keyword, value)
  }
  const host = values.get('hostname')
  const user = values.get('user')
  const port = Number(values.get('port') ?? '22')
  const owner = ownerOf(found.parsed, alias)
  return {
    ...(host && user && Number.isInteger(port) ? {address: {host, user, port}} : {}),
    ...(values.has('identityfile') ? {identityFile: values.get('identityfile')} : {}),
    origin: owner ?? undefined,
  }
}

/** Reads the entry from the file (latin1, as the writer does); undefined when the file or the entry is missing or unreadable. */
export async function readBlockEntryFromFile(file: string, environmentId: string): Promise<BlockEntryInfo | undefined> {
  try {
    return readBlockEntry(await readFile(file, 'latin1'), environmentId, file)
  } catch {
    return undefined
  }
}

export type EntryAddressOutcome =
  /** The entry now holds the address (changed is false when it already did). */
  | {status: 'updated'; changed: boolean}
  /** Nothing written, and why: no such entry, another install's entry, an entry without address lines, an invalid address. */
  | {status: 'skipped'; reason: string}

/** Where the address comes from: the environment's statusVersion (and display name) when the API told it. */
export interface EntryAddressOptions {
  environmentId: string
  origin: string
  address: SshAddress
  /**
   * The environment's statusVersion with this address: the entry is replaced only when it is newer than
   * the entry's freshness (decideEntry), and the freshness line is written with it. Without it the address
   * is written and the entry's freshness becomes unknown (its freshness line is dropped).
   */
  statusVersion?: bigint
  name?: string
}

/**
 * Pure: `text` with the HostName, User and Port lines of `environmentId`'s entry set to `address`, each line
 * keeping its indentation and keyword spelling, and its freshness line set. Only the entry ssh reads (the
 * first for the alias), only in `origin`'s part or the part written before installs had parts (whose
 * ProxyCommand ran this), only when `statusVersion` is newer than what the entry records.
 */
export function replaceEntryAddress(text: string, options: EntryAddressOptions & {file?: string}): {text: string; outcome: EntryAddressOutcome} {
  const skipped = (reason: string) => ({text, outcome: {status: 'skipped', reason} as const})
  assertEditable(text, options.file)
  const {valid, rejected} = validateEnvironments([{id: options.environmentId, ...options.address}])
  if (!valid[0]) return skipped(`the address is not written: ${rejected[0]?.reason ?? 'invalid'}`)
  const alias = aliasOf(options.environmentId)
  const found = entryLines(text, alias, options.file)
  if (!found) return skipped(`the block has no entry for ${alias}`)
  const owner = ownerOf(found.parsed, alias)
  if (owner !== undefined && owner !== null && owner !== options.origin) return skipped(`${alias} is in the part of ${owner}`)
  const wanted = new Map([
    ['hostname', valid[0].host],
    ['user', valid[0].user],
    ['port', String(valid[0].port)],
  ])
  const replaced = new Map<number, string>()
  const held = new Map<string, string>()
  for (let i = found.host + 1; i < found.end; i++) {
    const content = found.lines[i]!.content
    const directive = parseDirective(content)
    if (!directive || !ADDRESS_KEYWORDS.has(directive.keyword) || !wanted.has(directive.keyword)) continue
    held.set(directive.keyword, directive.args[0] ?? '')
    const [, indent, keyword] = /^([ \t]*)([^\s=]+)/.exec(content)!
    replaced.set(i, `${indent}${keyword} ${wanted.get(directive.keyword)}`)
    // Only the first of each (the one ssh uses); a repeated line is left as the user wrote it.
    wanted.delete(directive.keyword)
  }
  if (wanted.size > 0) return skipped(`the entry for ${alias} has no ${[...wanted.keys()].join('/')} line`)
  // The entry's freshness line, just above its Host line (see block.ts).
  const above = found.lines[found.host - 1]
  const fresh = above === undefined ? undefined : readFreshness(above.content)
  const current = {host: held.get('hostname')!, user: held.get('user')!, port: Number(held.get('port'))}
  if (formatAddress(current) === formatAddress(valid[0])) return {text, outcome: {status: 'updated', changed: false}}
  if (options.statusVersion !== undefined) {
    const onFile: SshEnvironment = {id: options.environmentId, ...current, ...fresh}
    const fate = decideEntry(onFile, {kind: 'record', env: {id: options.environmentId, phase: 'ENVIRONMENT_PHASE_RUNNING', statusVersion: options.statusVersion, ssh: options.address, ...(options.name ? {name: options.name} : {})}})
    if (fate.action !== 'write') return skipped(`its entry holds newer information (statusVersion ${fresh?.statusVersion} against ${options.statusVersion})`)
  }
  const line = options.statusVersion === undefined ? undefined : freshnessLine({statusVersion: options.statusVersion, ...(options.name ? {name: options.name} : {})})
  const eol = found.lines[found.host]!.eol
  const next = found.lines
    .map((l) => {
      const content = replaced.get(l.index) ?? l.content
      if (fresh && l === above) return line === undefined ? '' : `${line}${l.eol}`
      if (!fresh && line !== undefined && l.index === found.host) return `${line}${eol}${content}${l.eol}`
      return content + l.eol
    })
    .join('')
  return {text: next, outcome: {status: 'updated', changed: next !== text}}
}

/**
 * Writes `address` into `environmentId`'s entry of the managed file (see replaceEntryAddress), under the
 * config's write lock, atomically, re-reading when another program changed the file meanwhile. The lock is
 * waited for at most `lockTimeoutMs` (default 2 s): the caller is on its way to connect.
 */
export async function updateEntryAddress(file: string, options: EntryAddressOptions & {lockTimeoutMs?: number}): Promise<EntryAddressOutcome> {
  let outcome: EntryAddressOutcome = {status: 'skipped', reason: 'not read'}
  await updateFile(file, {
    lockTimeoutMs: options.lockTimeoutMs ?? 2000,
    transform: (current, exists) => {
      if (!exists) {
        outcome = {status: 'skipped', reason: `${file} does not exist`}
        return current
      }
      const result = replaceEntryAddress(current, {...options, file})
      outcome = result.outcome
      return result.text
    },
  })
  return outcome
}
