/**
 * An editor's user settings.json (JSON with comments and trailing commas) as far as ona cares: the
 * `remote.SSH.*` values it reads, and the edits `ona ide setup` makes. Edits go through jsonc-parser's
 * `modify` + `applyEdits` (the library VS Code itself edits settings with), so comments, trailing commas,
 * the order and formatting of every other key stay exactly as they were: only the bytes of the values ona
 * adds or takes out change. Planning is pure (text in, text out); setup.ts reads and writes the file.
 *
 * This module loads jsonc-parser: import it lazily, only where editor settings are read or edited.
 */
import {readFile} from 'node:fs/promises'

import {applyEdits, findNodeAtLocation, getNodeValue, modify, parseTree, printParseErrorCode, type FormattingOptions, type Node, type ParseError} from 'jsonc-parser'

import {OnaError} from '../errors.js'
import type {Platform} from '../platform/platform.js'
import {matchPattern} from '../ssh-config/overrides.js'
import {EDITORS, userSettingsPath, type EditorId} from './editors.js'
import type {OnaAdditions} from './state.js'

/** ona's aliases, as `remote.SSH.remotePlatform` keys (wildcards work since late 2023, vscode-remote-release#9191). */
export const ALIAS_PATTERNS = ['*.gitpod.environment', '*.gitpod.remote'] as const

/** Remote-SSH's own default `remote.SSH.connectTimeout`, in seconds (Open Remote - SSH's is 60). */
export const DEFAULT_CONNECT_TIMEOUT_S = 15

/**
 * The `remote.SSH.connectTimeout` a start on connect needs, in seconds. Remote-SSH passes it to ssh as
 * `-o ConnectTimeout`, which bounds the SSH banner exchange too, through a ProxyCommand as well. The
 * ProxyCommand waits up to 600 s for a stopped environment to start and accept the key (`ona ssh-proxy
 * --timeout`'s default), after asking the API: ssh must not give up before the proxy does, which then says why.
 */
export const START_CONNECT_TIMEOUT_S = 660

const REMOTE_PLATFORM = 'remote.SSH.remotePlatform'
const CONNECT_TIMEOUT = 'remote.SSH.connectTimeout'
const CONFIG_FILE = 'remote.SSH.configFile'

/** The `remote.SSH.*` values of one settings file, as the editor would read them. */
export interface RemoteSshValues {
  /** `remote.SSH.remotePlatform` (host or pattern -> linux/windows/macOS), when it is an object. */
  remotePlatform?: Record<string, unknown>
  /** `remote.SSH.connectTimeout` as written (a number when valid). */
  connectTimeout?: unknown
  /** `remote.SSH.configFile` as written. */
  configFile?: unknown
}

export interface EditorSettings {
  editor: EditorId
  file: string
  exists: boolean
  values: RemoteSshValues
}

/**
 * Reads an editor's user settings (for `ona ide setup` and `ona doctor`). A missing file is no values;
 * a file that does not parse is ERR_IDE_SETTINGS_INVALID naming the line. Values are read as the UTF-8 the
 * editor writes (a `remote.SSH.configFile` under `/home/jürgen`); only edits work on the bytes (latin1).
 */
export async function readEditorSettings(p: Platform, editor: EditorId, file = userSettingsPath(p, editor)): Promise<EditorSettings> {
  let text: string
  try {
    text = (await readFile(file)).toString('utf8')
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return {editor, file, exists: false, values: {}}
    throw new OnaError('ERR_IDE_SETTINGS_INVALID', `cannot read ${file} (${(error as NodeJS.ErrnoException).code ?? 'unknown'})`, {hint: 'Check the permissions of the file.', details: {file}})
  }
  return {editor, file, exists: true, values: remoteSshValues(parseSettings(text, file))}
}

const BOM = '\u00EF\u00BB\u00BF'

/** The text without a UTF-8 byte-order mark (files are handled as latin1: the BOM is three chars). */
function splitBom(text: string): {bom: string; body: string} {
  return text.startsWith(BOM) ? {bom: BOM, body: text.slice(BOM.length)} : text.startsWith('\uFEFF') ? {bom: '\uFEFF', body: text.slice(1)} : {bom: '', body: text}
}

const PROBLEMS: Record<string, string> = {
  InvalidSymbol: 'unexpected character',
  InvalidNumberFormat: 'invalid number',
  PropertyNameExpected: 'a property name (in double quotes) is expected',
  ValueExpected: 'a value is expected',
  ColonExpected: "a ':' is expected",
  CommaExpected: "a ',' is expected",
  CloseBraceExpected: "a '}' is expected",
  CloseBracketExpected: "a ']' is expected",
  EndOfFileExpected: 'text after the end of the settings object',
  InvalidCommentToken: 'invalid comment',
  UnexpectedEndOfComment: 'a comment is not closed',
  UnexpectedEndOfString: 'a string is not closed',
  UnexpectedEndOfNumber: 'a number is cut off',
  InvalidUnicode: 'invalid \\u escape',
  InvalidEscapeCharacter: 'invalid escape character',
  InvalidCharacter: 'invalid character in a string',
}

function lineAndColumn(text: string, offset: number): {line: number; column: number} {
  const before = text.slice(0, offset)
  const line = before.split('\n').length
  return {line, column: offset - before.lastIndexOf('\n')}
}

/**
 * The settings object's syntax tree; undefined for an empty file. Any syntax error (VS Code reads around
 * some, ona never edits a file it cannot read whole) and a top level that is not an object are
 * ERR_IDE_SETTINGS_INVALID with the file, line and column.
 */
export function parseSettings(text: string, file: string): Node | undefined {
  const {body} = splitBom(text)
  const errors: ParseError[] = []
  const tree = parseTree(body, errors, {allowTrailingComma: true, disallowComments: false, allowEmptyContent: true})
  const first = errors[0]
  if (first) {
    const {line, column} = lineAndColumn(body, first.offset)
    const code = printParseErrorCode(first.error)
    throw new OnaError('ERR_IDE_SETTINGS_INVALID', `${file}:${line}:${column}: ${PROBLEMS[code] ?? code}`, {
      hint: `Fix line ${line} of ${file} (the editor marks it when you open the file), then run the command again; the file was not changed.`,
      details: {file, line, column, problem: code},
    })
  }
  if (tree !== undefined && tree.type !== 'object') {
    const {line} = lineAndColumn(body, tree.offset)
    throw new OnaError('ERR_IDE_SETTINGS_INVALID', `${file}:${line}: the settings are not a JSON object`, {details: {file, line}})
  }
  return tree
}

function valueAt(tree: Node | undefined, path: string[]): unknown {
  if (!tree) return undefined
  const node = findNodeAtLocation(tree, path)
  return node === undefined ? undefined : getNodeValue(node)
}

/** The remote.SSH values of a parsed settings tree. */
export function remoteSshValues(tree: Node | undefined): RemoteSshValues {
  const values: RemoteSshValues = {}
  const platform = valueAt(tree, [REMOTE_PLATFORM])
  if (platform && typeof platform === 'object' && !Array.isArray(platform)) values.remotePlatform = platform as Record<string, unknown>
  const timeout = valueAt(tree, [CONNECT_TIMEOUT])
  if (timeout !== undefined) values.connectTimeout = timeout
  const configFile = valueAt(tree, [CONFIG_FILE])
  if (configFile !== undefined) values.configFile = configFile
  return values
}

/** The file's own indentation and line ending, for what ona inserts (VS Code writes tabs by default). */
export function formattingOf(text: string): FormattingOptions {
  const eol = text.includes('\r\n') ? '\r\n' : '\n'
  const indented = /^([ \t]+)\S/m.exec(text)
  if (!indented || indented[1]!.startsWith('\t')) return {insertSpaces: false, tabSize: 4, eol}
  return {insertSpaces: true, tabSize: indented[1]!.length, eol}
}

/** One line of what setup or remove did (or would do) to a settings file. */
export interface SettingsChange {
  /** The setting, with the sub-key for remotePlatform: `remote.SSH.remotePlatform["*.gitpod.environment"]`. */
  setting: string
  action: 'added' | 'raised' | 'kept' | 'removed' | 'restored' | 'skipped'
  value?: unknown
  previous?: unknown
  /** Why, for kept and skipped. */
  reason?: string
}

export interface SetupPlan {
  text: string
  changes: SettingsChange[]
  /** The record of what ona has added to this file, after this change. */
  record: OnaAdditions
}

const platformKey = (pattern: string) => `${REMOTE_PLATFORM}[${JSON.stringify(pattern)}]`

/**
 * One modify + applyEdits. A new key goes first in its object when the object's `{` ends its line (the
 * usual layout), so no line of the user's is split: at the end, jsonc-parser would insert it between the
 * last value and a comment on the same line. Otherwise it goes last, as VS Code's own settings editor does.
 */
function edit(text: string, path: Array<string>, value: unknown, after?: string): string {
  const tree = parseTree(text, [], {allowTrailingComma: true, disallowComments: false, allowEmptyContent: true})
  // The object the new key lands in: the nearest one that exists (jsonc-parser creates the ones below it).
  let parent: Node | undefined
  for (let depth = path.length - 1; tree && depth >= 0 && !parent; depth--) parent = depth === 0 ? tree : findNodeAtLocation(tree, path.slice(0, depth))
  const first = parent?.type === 'object' && /^[ \t]*\r?\n/.test(text.slice(parent.offset + 1))
  const getInsertionIndex = (properties: string[]) => (first ? (after === undefined ? 0 : properties.indexOf(after) + 1) : properties.length)
  return applyEdits(text, modify(text, path, value, {formattingOptions: formattingOf(text), getInsertionIndex}))
}

/**
 * The settings with ona's values in: each alias pattern mapped to linux in `remote.SSH.remotePlatform`, and,
 * when `connectTimeout` is given, `remote.SSH.connectTimeout` raised to it (a larger value is kept; a value
 * ona did not write is remembered in the record to be put back by --remove). `record` is what ona added
 * before; the result's record adds this change. A key the user set is never recorded.
 */
export function planSetup(text: string, file: string, options: {connectTimeout?: number; record?: OnaAdditions}): SetupPlan {
  const {bom, body: original} = splitBom(text)
  const before = options.record ?? {remotePlatform: []}
  const record: OnaAdditions = {...before, remotePlatform: [...before.remotePlatform]}
  const changes: SettingsChange[] = []
  let body = original
  const tree = parseSettings(original, file)
  const values = remoteSshValues(tree)
  const rawPlatform = valueAt(tree, [REMOTE_PLATFORM])

  if (rawPlatform !== undefined && (rawPlatform === null || typeof rawPlatform !== 'object' || Array.isArray(rawPlatform))) {
    changes.push({setting: REMOTE_PLATFORM, action: 'skipped', value: rawPlatform, reason: 'it is not an object, so it was left alone'})
  } else {
    const created = rawPlatform === undefined
    const missing = ALIAS_PATTERNS.filter((pattern) => values.remotePlatform?.[pattern] === undefined)
    // A new object is written whole; keys added to the user's object go in one after the other.
    if (created) body = edit(body, [REMOTE_PLATFORM], Object.fromEntries(missing.map((pattern) => [pattern, 'linux'])))
    let after: string | undefined
    for (const pattern of ALIAS_PATTERNS) {
      const current = values.remotePlatform?.[pattern]
      if (current === undefined) {
        if (!created) body = edit(body, [REMOTE_PLATFORM, pattern], 'linux', after)
        after = pattern
        changes.push({setting: platformKey(pattern), action: 'added', value: 'linux'})
        if (!record.remotePlatform.includes(pattern)) record.remotePlatform.push(pattern)
        if (created) record.remotePlatformCreated = true
      } else {
        after = pattern
        changes.push({setting: platformKey(pattern), action: 'kept', value: current, ...(current === 'linux' ? {} : {reason: 'set to another platform, not by ona'})})
      }
    }
  }

  if (options.connectTimeout !== undefined) {
    const needed = options.connectTimeout
    const current = values.connectTimeout
    if (current !== undefined && typeof current !== 'number') {
      changes.push({setting: CONNECT_TIMEOUT, action: 'skipped', value: current, reason: 'it is not a number, so it was left alone'})
    } else if (current === undefined || current < needed) {
      body = edit(body, [CONNECT_TIMEOUT], needed)
      changes.push({setting: CONNECT_TIMEOUT, action: current === undefined ? 'added' : 'raised', value: needed, ...(current === undefined ? {} : {previous: current})})
      // Raising ona's own older value keeps the user's original for --remove.
      const ours = record.connectTimeout !== undefined && record.connectTimeout.value === current
      const previous = ours ? record.connectTimeout!.previous : current
      record.connectTimeout = {value: needed, ...(previous === undefined ? {} : {previous})}
    } else {
      changes.push({setting: CONNECT_TIMEOUT, action: 'kept', value: current, reason: `at least the ${needed} s a start needs`})
    }
  }
  return {text: body === original ? text : bom + body, changes, record}
}

/**
 * The settings without what ona added (`record`): a remotePlatform key still mapped to linux, the
 * connectTimeout still at ona's value (the user's earlier value put back). A value the user changed since is
 * theirs and stays.
 */
export function planRemove(text: string, file: string, record: OnaAdditions): {text: string; changes: SettingsChange[]} {
  const {bom, body: original} = splitBom(text)
  let body = original
  const changes: SettingsChange[] = []
  const values = remoteSshValues(parseSettings(original, file))
  for (const pattern of record.remotePlatform) {
    const current = values.remotePlatform?.[pattern]
    if (current === undefined) continue
    if (current === 'linux') {
      body = edit(body, [REMOTE_PLATFORM, pattern], undefined)
      changes.push({setting: platformKey(pattern), action: 'removed', value: current})
    } else {
      changes.push({setting: platformKey(pattern), action: 'kept', value: current, reason: 'changed since ona set it'})
    }
  }
  if (record.remotePlatformCreated) {
    const left = valueAt(parseSettings(body, file), [REMOTE_PLATFORM])
    if (left && typeof left === 'object' && !Array.isArray(left) && Object.keys(left).length === 0) body = edit(body, [REMOTE_PLATFORM], undefined)
  }
  if (record.connectTimeout) {
    const current = values.connectTimeout
    if (current === record.connectTimeout.value) {
      const previous = record.connectTimeout.previous
      body = edit(body, [CONNECT_TIMEOUT], previous)
      changes.push(previous === undefined ? {setting: CONNECT_TIMEOUT, action: 'removed', value: current} : {setting: CONNECT_TIMEOUT, action: 'restored', value: previous, previous: current})
    } else if (current !== undefined) {
      changes.push({setting: CONNECT_TIMEOUT, action: 'kept', value: current, reason: 'changed since ona set it'})
    }
  }
  return {text: body === original ? text : bom + body, changes}
}

/** The editor's display name (for messages). */
export function editorName(editor: EditorId): string {
  return EDITORS[editor].name
}

/**
 * The platform an editor takes from `remote.SSH.remotePlatform` for `host`: its own key first, else the
 * first wildcard key (`*`, `?`) that matches it; undefined when none does (the editor asks).
 */
export function remotePlatformOf(values: RemoteSshValues, host: string): unknown {
  const platforms = values.remotePlatform
  if (!platforms) return undefined
  if (Object.hasOwn(platforms, host)) return platforms[host]
  const key = Object.keys(platforms).find((k) => /[*?]/.test(k) && matchPattern(host, k, true))
  return key === undefined ? undefined : platforms[key]
}

/** What an editor's remote.SSH values mean for ona's aliases (for `ona doctor` and `ona ide setup`). */
export interface RemoteSshCheck {
  /** Every host checked (default: ona's two alias patterns) maps to linux: no platform question, the right server. */
  remotePlatformSet: boolean
  /** The hosts with no entry: the editor asks for their platform on each new one. */
  remotePlatformMissing: string[]
  /** The hosts mapped to something else than linux: the editor sets up the wrong server on a Linux environment. */
  remotePlatformOther: Array<{host: string; platform: unknown}>
  /** The connect timeout in effect, in seconds (the default when unset or not a number). */
  connectTimeout: number
  /** Whether that is long enough for a start on connect (START_CONNECT_TIMEOUT_S). */
  connectTimeoutEnough: boolean
  /** `remote.SSH.configFile` when set to a non-empty string. */
  configFile?: string
}

/**
 * Pure: checks values read with readEditorSettings. `hosts`: the names the editor will connect to (ona's
 * aliases of the environments at hand); default ona's two alias patterns, the keys `ona ide setup` writes.
 */
export function checkRemoteSsh(values: RemoteSshValues, options: {hosts?: readonly string[]; defaultTimeout?: number} = {}): RemoteSshCheck {
  const connectTimeout = typeof values.connectTimeout === 'number' ? values.connectTimeout : options.defaultTimeout ?? DEFAULT_CONNECT_TIMEOUT_S
  const hosts = options.hosts ?? ALIAS_PATTERNS
  const platforms = hosts.map((host) => ({host, platform: remotePlatformOf(values, host)}))
  return {
    remotePlatformSet: platforms.every((p) => p.platform === 'linux'),
    remotePlatformMissing: platforms.filter((p) => p.platform === undefined).map((p) => p.host),
    remotePlatformOther: platforms.filter((p) => p.platform !== undefined && p.platform !== 'linux'),
    connectTimeout,
    connectTimeoutEnough: connectTimeout >= START_CONNECT_TIMEOUT_S,
    ...(typeof values.configFile === 'string' && values.configFile.trim() !== '' ? {configFile: values.configFile} : {}),
  }
}
