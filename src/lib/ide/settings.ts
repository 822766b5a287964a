/**
 * An editor's user settings.json (JSON with comments and trailing commas) as far as ona cares: the
 * `remote.SSH.*` values it reads, and the edits `ona ide setup` makes. jsonc-parser (the library VS Code
 * itself uses) parses; the edits are ona's own and minimal: a value replaced in place, a member added in the
 * object's own layout (a line of its own at the members' indentation, or `, "key": value` on a one-line
 * object) and taken out the same way. So comments, trailing commas, the order, indentation, line endings
 * and one-line layout of everything else stay exactly as they were, and `--remove` gives back the bytes that
 * were there. (jsonc-parser's `modify` with formatting options reformats every line an edit touches: a
 * one-line file became a multi-line one.) Planning is pure (text in, text out); setup.ts reads and writes
 * the file.
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
/** The friendly aliases' pattern (`ona ssh-sync --friendly-aliases`, `<name>.ona`): set up when an install has them on. */
export const FRIENDLY_PATTERN = '*.ona'

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

const splice = (text: string, at: number, length: number, content: string) => text.slice(0, at) + content + text.slice(at + length)

/** The whitespace that starts the line `offset` is on. */
function indentOfLine(text: string, offset: number): string {
  const start = text.lastIndexOf('\n', offset - 1) + 1
  return /^[ \t]*/.exec(text.slice(start))![0]
}

/** The offset just after the line break that ends the line `offset` is on (the text's end when none). */
function nextLineStart(text: string, offset: number): number {
  const eol = text.indexOf('\n', offset)
  return eol === -1 ? text.length : eol + 1
}

/** Nothing but blanks (or a `//` comment) from `offset` to the end of its line, and a line break there. */
const restOfLineBlank = (text: string, offset: number) => /^[ \t]*(?:\/\/[^\n]*)?\r?\n/.test(text.slice(offset))

/**
 * `value` as JSON: on one line (`{"a": "linux", "b": "linux"}`) or, for an object, one member a line at
 * `indent` + `unit`, closed at `indent` (the layout VS Code writes).
 */
function formatValue(value: unknown, layout: {indent: string; unit: string; eol: string} | undefined): string {
  if (!value || typeof value !== 'object' || Array.isArray(value)) return JSON.stringify(value)
  const entries = Object.entries(value)
  if (!layout || entries.length === 0) return `{${entries.map(([k, v]) => `${JSON.stringify(k)}: ${formatValue(v, undefined)}`).join(', ')}}`
  const {indent, unit, eol} = layout
  const inner = {indent: indent + unit, unit, eol}
  return `{${eol}${entries.map(([k, v]) => `${inner.indent}${JSON.stringify(k)}: ${formatValue(v, inner)}`).join(`,${eol}`)}${eol}${indent}}`
}

/**
 * A new member in `parent`, in the object's own layout, touching no byte of the user's but a comma where
 * one is needed. In an object whose \`{\` ends its line (the usual layout) it is a line of its own, at the
 * members' indentation: first, or just after the member \`after\`; never between a value and a comment on
 * its line. In any other object (\`{"editor.fontSize": 13}\`, a one-line file) it goes last, on that line:
 * \`, "key": value\`. removeMember is the exact inverse of both.
 */
function insertMember(text: string, parent: Node, key: string, value: unknown, after?: string): string {
  const members = parent.children ?? []
  const open = parent.offset
  if (restOfLineBlank(text, open + 1)) {
    const eol = text.includes('\r\n') ? '\r\n' : '\n'
    const parentIndent = indentOfLine(text, open)
    const indent = members.length > 0 ? indentOfLine(text, members[0]!.offset) : parentIndent + unitOf(text)
    const unit = indent.length > parentIndent.length && indent.startsWith(parentIndent) ? indent.slice(parentIndent.length) : unitOf(text)
    const member = `${indent}${JSON.stringify(key)}: ${formatValue(value, {indent, unit, eol})}`
    const anchor = after === undefined ? undefined : members.find((m) => m.children?.[0]?.value === after)
    if (!anchor) return splice(text, nextLineStart(text, open), 0, `${member}${members.length > 0 ? ',' : ''}${eol}`)
    const end = anchor.offset + anchor.length
    const comma = /^[ \t]*,/.exec(text.slice(end))
    const rest = comma ? end + comma[0].length : end
    if (restOfLineBlank(text, rest)) {
      // After a comma: the new line keeps one (a next member, or the user's trailing comma). After the last
      // member without one: a comma right after its value, and the new member last, without.
      const withLine = splice(text, nextLineStart(text, rest), 0, `${member}${comma ? ',' : ''}${eol}`)
      return comma ? withLine : splice(withLine, end, 0, ',')
    }
  }
  const last = members.at(-1)
  const member = `${JSON.stringify(key)}: ${formatValue(value, undefined)}`
  return last ? splice(text, last.offset + last.length, 0, `, ${member}`) : splice(text, open + 1, 0, member)
}

/** The indentation one level adds in this file (a tab unless its first indented line says otherwise). */
function unitOf(text: string): string {
  const {insertSpaces, tabSize} = formattingOf(text)
  return insertSpaces ? ' '.repeat(tabSize ?? 4) : '\t'
}

/**
 * `parent` without its member `key`: a member on a line of its own goes with its line (and, when it was the
 * last, the comma before it); one on a line with others goes with the comma that joins it to them.
 */
function removeMember(text: string, parent: Node, key: string): string {
  const members = parent.children ?? []
  const index = members.findIndex((m) => m.children?.[0]?.value === key)
  if (index === -1) return text
  const member = members[index]!
  const start = member.offset
  const end = member.offset + member.length
  const lineStart = text.lastIndexOf('\n', start - 1) + 1
  const tail = /^[ \t]*(,)?[ \t]*\r?\n/.exec(text.slice(end))
  const previous = members[index - 1]
  if (tail && /^[ \t]*$/.test(text.slice(lineStart, start))) {
    const withoutLine = splice(text, lineStart, end + tail[0].length - lineStart, '')
    if (tail[1] || !previous) return withoutLine
    const comma = /^[ \t]*,/.exec(text.slice(previous.offset + previous.length))
    return comma ? splice(withoutLine, previous.offset + previous.length + comma[0].length - 1, 1, '') : withoutLine
  }
  if (previous) return splice(text, previous.offset + previous.length, end - previous.offset - previous.length, '')
  const next = members[index + 1]
  return next ? splice(text, parent.offset + 1, next.offset - parent.offset - 1, '') : splice(text, parent.offset + 1, end - parent.offset - 1, '')
}

/**
 * Sets (undefined: removes) the value at `path` with the fewest bytes changed: a value replaced in place, a
 * member added or taken out in the object's own layout (insertMember, removeMember). Only a file with no
 * object at all (empty, or comments only) gets a new one written whole, through jsonc-parser.
 */
function edit(text: string, path: Array<string>, value: unknown, after?: string): string {
  const tree = parseTree(text, [], {allowTrailingComma: true, disallowComments: false, allowEmptyContent: true})
  if (!tree) return value === undefined ? text : applyEdits(text, modify(text, path, value, {formattingOptions: formattingOf(text)}))
  const parent = path.length === 1 ? tree : findNodeAtLocation(tree, path.slice(0, -1))
  const key = path.at(-1)!
  if (parent?.type !== 'object') throw new Error(`no object at ${path.slice(0, -1).join('.')}`)
  const existing = findNodeAtLocation(parent, [key])
  if (value === undefined) return removeMember(text, parent, key)
  if (existing) return splice(text, existing.offset, existing.length, formatValue(value, undefined))
  return insertMember(text, parent, key, value, after)
}

/**
 * The settings with ona's values in: each alias pattern mapped to linux in `remote.SSH.remotePlatform`, and,
 * when `connectTimeout` is given, `remote.SSH.connectTimeout` raised to it (a larger value is kept; a value
 * ona did not write is remembered in the record to be put back by --remove). `record` is what ona added
 * before; the result's record adds this change. A key the user set is never recorded.
 */
export function planSetup(text: string, file: string, options: {connectTimeout?: number; record?: OnaAdditions; patterns?: readonly string[]}): SetupPlan {
  const patterns = options.patterns ?? ALIAS_PATTERNS
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
    const missing = patterns.filter((pattern) => values.remotePlatform?.[pattern] === undefined)
    // A new object is written whole; keys added to the user's object go in one after the other.
    if (created) body = edit(body, [REMOTE_PLATFORM], Object.fromEntries(missing.map((pattern) => [pattern, 'linux'])))
    let after: string | undefined
    for (const pattern of patterns) {
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
