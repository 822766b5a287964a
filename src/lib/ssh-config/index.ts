/**
 * The block engine: environments in, new SSH config text out. Pure and synchronous; the file layer
 * (`config-file.ts`) does the reading, checking and atomic writing.
 */
import {OnaError, type Warning} from '../errors.js'
import {findBlock, hasBom, removeBlock, renderBlockLines, sortByAlias, spliceBlock} from './block.js'
import {findOverrides} from './overrides.js'
import {validateEnvironments, type Rejection, type SshEnvironment, type ValidEnvironment} from './validate.js'

export {BEGIN_MARKER, END_MARKER, findBlock, renderBlockLines} from './block.js'
export {ENVIRONMENT_SUFFIX, REMOTE_SUFFIX, validateEnvironments} from './validate.js'
export type {Rejection, SshEnvironment, ValidEnvironment} from './validate.js'

export interface ApplyResult {
  /** The whole new text of the file. */
  text: string
  changed: boolean
  /** The environments written into the block, sorted as in the block. */
  written: ValidEnvironment[]
  /** Environments left out because a value failed validation. */
  skipped: Rejection[]
  warnings: Warning[]
  /** The rendered block lines (no line endings), for checks and display. */
  blockLines: string[]
}

/** Refuses text OpenSSH cannot read at all for a reason the tool can name (a BOM breaks the first line). */
export function assertEditable(text: string, file = 'the SSH config'): void {
  if (hasBom(text)) {
    throw new OnaError('ERR_SSH_CONFIG_BOM', `${file} starts with a byte-order mark, which OpenSSH rejects ("Bad configuration option" on line 1)`, {
      details: {file},
    })
  }
}

/**
 * Renders the environments as the managed block and splices it into `text`. Bytes outside the block are
 * unchanged; invalid environments are skipped with a warning naming them; the user's lines that win over the
 * block are reported as warnings. Throws OnaError for malformed markers or a BOM (the text is then not used).
 */
export function applyBlock(text: string, environments: readonly SshEnvironment[], options: {file?: string} = {}): ApplyResult {
  assertEditable(text, options.file)
  const {valid, rejected} = validateEnvironments(environments)
  const written = sortByAlias(valid)
  const blockLines = renderBlockLines(written)
  const next = spliceBlock(text, blockLines, options.file)
  const location = findBlock(next, options.file)!
  const warnings: Warning[] = rejected.map((r) => ({
    code: 'W_SKIPPED',
    message: `environment ${JSON.stringify(r.id)} was skipped: ${r.reason}`,
    file: options.file,
  }))
  warnings.push(...findOverrides(next, location.start, location.end, written, options.file))
  return {text: next, changed: next !== text, written, skipped: rejected, warnings, blockLines}
}

/** Takes the block out; the exact inverse of the first insertion. */
export function removeManagedBlock(text: string, options: {file?: string} = {}): {text: string; changed: boolean} {
  const next = removeBlock(text, options.file)
  return {text: next, changed: next !== text}
}

/**
 * Reads the environments currently in the block (for "added/updated/removed" reports). Only the block's own
 * rendering is understood; a hand-edited block yields what can be read and the rest is simply replaced.
 */
export function readBlockEnvironments(text: string, options: {file?: string} = {}): SshEnvironment[] {
  const location = findBlock(text, options.file)
  if (!location) return []
  const result: SshEnvironment[] = []
  let current: Partial<SshEnvironment> | undefined
  for (const raw of text.slice(location.start, location.end).split(/\r?\n/)) {
    const line = raw.trim()
    const host = /^Host\s+(\S+)\.gitpod\.environment\s/.exec(line)
    if (host) {
      if (current?.id) result.push(current as SshEnvironment)
      current = {id: host[1]!, host: '', user: '', port: 22}
      continue
    }
    if (!current) continue
    const kv = /^(HostName|User|Port)\s+(\S+)$/.exec(line)
    if (kv?.[1] === 'HostName') current.host = kv[2]!
    else if (kv?.[1] === 'User') current.user = kv[2]!
    else if (kv?.[1] === 'Port') current.port = Number(kv[2])
  }
  if (current?.id) result.push(current as SshEnvironment)
  return result
}
