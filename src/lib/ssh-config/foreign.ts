/**
 * Who else decides how ona's aliases connect. Other tools write SSH config of their own (the vendor's CLI,
 * Coder, DevPod, the GitHub CLI; see ../shared/docs/coexistence-and-editors.md), and OpenSSH takes the first
 * value it obtains for each option, so a section of theirs that matches `*.gitpod.environment` can run its
 * own ProxyCommand for ona's aliases, with host-key checking off. Tools are recognised by what they write
 * (their ProxyCommand, their markers, the vendor's own file), never by position, and every finding names the
 * tool, its file:line, the effect in one line and the fix.
 *
 * Static: reads the config tree (tree.ts) and runs nothing. `ssh -G` (verify.ts) confirms the effect after a
 * write; `ona ssh-sync`, `--check` and `ona doctor` all call {@link findConnectionFindings}.
 *
 * The options that decide where and how an alias connects and how its host key is checked: HostName, User,
 * Port, HostKeyAlias, IdentitiesOnly, ProxyCommand / ProxyJump (whichever ssh obtains first), and
 * StrictHostKeyChecking, UserKnownHostsFile, and, under ona's resolve-on-connect ProxyCommand,
 * ProxyUseFdpass. A line decides an option for an alias when it is the first line ssh reads for it that
 * applies to the alias; an option ona's entry does not set (ProxyCommand without resolve-on-connect,
 * StrictHostKeyChecking...) is decided by a line after the block too. IdentityFile accumulates: a line of
 * somebody else's only adds a key, ona's is still offered (verify.ts checks it is).
 */
import {isBeginMarker, isEndMarker} from './block.js'
import {scopeApplies, type Tri} from './overrides.js'
import type {ConfigTree, Section, TreeLine} from './tree.js'

export type ToolId = 'vendor-cli' | 'coder' | 'devpod' | 'gh'

/** How each tool is named in messages, and the command that writes its config. */
export const TOOLS: Record<ToolId, {name: string; writer: string}> = {
  'vendor-cli': {name: "the vendor's CLI", writer: '`gitpod environment ssh-config`'},
  coder: {name: 'Coder', writer: '`coder config-ssh`'},
  devpod: {name: 'DevPod', writer: 'DevPod'},
  gh: {name: 'the GitHub CLI', writer: '`gh codespace ssh --config`'},
}

/** Each tool's ProxyCommand, which is what its sections have in common whatever their Host pattern. */
const PROXY_SIGNATURES: ReadonlyArray<readonly [ToolId, RegExp]> = [
  ['vendor-cli', /(?:^|[\s"'/\\])(?:gitpod|ona)(?:\.exe)?["']?\s+(?:environment|env)\s+ssh\b/i],
  ['coder', /(?:^|[\s"'/\\])coder(?:\.exe)?["']?\s(?:.*\s)?ssh\s+--stdio\b/i],
  ['devpod', /(?:^|[\s"'/\\])devpod(?:\.exe)?["']?\s(?:.*\s)?ssh\s+--stdio\b/i],
  ['gh', /(?:^|[\s"'/\\])gh(?:\.exe)?["']?\s+(?:cs|codespaces?)\s+ssh\b/i],
]

/** Marker comments around a tool's block: [tool, start, end]. */
const MARKERS: ReadonlyArray<readonly [ToolId, RegExp, RegExp]> = [
  ['coder', /^#\s*-*\s*START-CODER\b/i, /^#\s*-*\s*END-CODER\b/i],
  ['devpod', /^#\s*DevPod\s+Start\b/i, /^#\s*DevPod\s+End\b/i],
]

/** The file the vendor's CLI writes (`~/.ssh/gitpod/config`, newer builds `~/.ssh/ona/config`). */
const VENDOR_FILE = /[\\/]\.ssh[\\/](?:gitpod|ona)[\\/]config$/i

/** The tool a ProxyCommand value belongs to. */
export function toolOfProxyCommand(value: string): ToolId | undefined {
  return PROXY_SIGNATURES.find(([, re]) => re.test(value))?.[0]
}

/**
 * Who wrote each line of the tree, by index into `tree.lines`: a tool, `'ona'` (inside an ona block), or
 * undefined (the user's own). A tool owns the whole section (Host/Match line to the next) that holds its
 * ProxyCommand, everything between its markers, and the vendor's own file.
 */
export function attributeLines(tree: ConfigTree): Array<ToolId | 'ona' | undefined> {
  const ownSection = (line: TreeLine): Section | undefined => {
    const section = line.scope.at(-1)
    return section && section.file === line.file ? section : undefined
  }
  // A section is keyed by its object; the lines of a file before its first section by the file's index.
  const sectionTool = new Map<Section | number, ToolId>()
  for (const line of tree.lines) {
    if (line.directive?.keyword !== 'proxycommand') continue
    const tool = toolOfProxyCommand(line.directive.args.join(' '))
    if (tool) sectionTool.set(ownSection(line) ?? line.fileIndex, tool)
  }
  const result: Array<ToolId | 'ona' | undefined> = []
  const inMarkers = new Map<number, ToolId | 'ona'>()
  for (const line of tree.lines) {
    const trimmed = line.content.trim()
    const open = inMarkers.get(line.fileIndex)
    if (trimmed.startsWith('#')) {
      if (isBeginMarker(trimmed)) inMarkers.set(line.fileIndex, 'ona')
      for (const [tool, start] of MARKERS) if (start.test(trimmed)) inMarkers.set(line.fileIndex, tool)
      const closes = (open === 'ona' && isEndMarker(trimmed)) || MARKERS.some(([tool, , end]) => open === tool && end.test(trimmed))
      result.push(inMarkers.get(line.fileIndex))
      if (closes) inMarkers.delete(line.fileIndex)
      continue
    }
    const file = tree.files[line.fileIndex]
    result.push(open ?? sectionTool.get(ownSection(line) ?? line.fileIndex) ?? (file && (VENDOR_FILE.test(file.realPath) || VENDOR_FILE.test(file.path)) ? 'vendor-cli' : undefined))
  }
  return result
}

/** One option a finding's lines set, and what it does to ona's aliases. */
export interface ConnectionSetting {
  /** As written in configs (`ProxyCommand`). */
  option: string
  value: string
  file: string
  line: number
  /** Read before ona's block. */
  before: boolean
  effect: string
}

export interface ConnectionFinding {
  /** W_FOREIGN_CONFIG: a tool's block; W_OVERRIDE: one of the user's own lines. */
  code: 'W_FOREIGN_CONFIG' | 'W_OVERRIDE'
  tool?: ToolId
  toolName?: string
  /** Where to look: the tool's Host/Match line (or its first line that decides), or the user's line. */
  file: string
  line: number
  /** That line's text, trimmed. */
  text: string
  settings: ConnectionSetting[]
  /** The ona aliases it decides (or, with certainty 'maybe', may decide: a Match ssh evaluates when it runs). */
  aliases: string[]
  certainty: Exclude<Tri, 'no'>
  /** The `Include` line that makes ssh read the tool's file, when it is another file. */
  includedFrom?: {file: string; line: number; text: string}
  /** One line: what ssh does for the aliases because of it. */
  effect: string
  /** One line: what to do. */
  fix: string
  /** What is found and its effect, without the fix: `message` is `${summary}; ${fix}` (doctor puts the fix in its hint). */
  summary: string
  message: string
}

export interface FindingOptions {
  /** ona's aliases to check (both of each environment). */
  aliases: readonly string[]
  /** The real path of the file holding ona's block; default the first ona block in the tree. */
  managedRealPath?: string
}

/** The option names as configs spell them; a group is decided by whichever of its options ssh reads first. */
const NAMES: Record<string, string> = {
  hostname: 'HostName',
  user: 'User',
  port: 'Port',
  hostkeyalias: 'HostKeyAlias',
  identitiesonly: 'IdentitiesOnly',
  proxycommand: 'ProxyCommand',
  proxyjump: 'ProxyJump',
  stricthostkeychecking: 'StrictHostKeyChecking',
  userknownhostsfile: 'UserKnownHostsFile',
  proxyusefdpass: 'ProxyUseFdpass',
}
const GROUP_OF: Record<string, string> = {proxyjump: 'proxycommand'}
/** Options ona always sets in its entries: the user's own lines for them are overrides.ts's W_OVERRIDE. */
const BLOCK_KEYS = new Set(['hostname', 'user', 'port', 'hostkeyalias'])

const words = (value: string) => value.replace(/["']/g, '').trim().split(/\s+/).join(' ')

/** What a value does to an alias that ona wrote `mine` for (undefined: nothing ona's promise depends on). */
export function judgeSetting(keyword: string, args: readonly string[], mine: ReadonlyMap<string, string> | undefined): string | undefined {
  const value = args.join(' ')
  const first = (args[0] ?? '').toLowerCase()
  const own = mine?.get(keyword)
  switch (keyword) {
    case 'hostname':
    case 'user':
    case 'port':
    case 'hostkeyalias': {
      if (own === undefined) return undefined
      const same = keyword === 'hostname' ? first === own.toLowerCase() : args[0] === own
      return same ? undefined : `${NAMES[keyword]} ${args[0] ?? ''} instead of ona's ${own}`
    }
    case 'identitiesonly':
      return own?.toLowerCase() === 'yes' && !['yes', 'true'].includes(first) ? `IdentitiesOnly ${args[0] ?? ''}: ssh may offer other keys before ona's` : undefined
    case 'proxycommand': {
      const ours = mine?.get('proxycommand')
      if (first === 'none') return ours ? "no ProxyCommand: ssh skips ona's, which resolves the address and starts the environment" : undefined
      if (ours !== undefined && words(ours) === words(value)) return undefined
      return `ssh connects through \`${value}\`${ours ? " instead of ona's ProxyCommand" : " instead of straight to ona's address"}`
    }
    case 'proxyjump':
      if (first === 'none') return mine?.get('proxycommand') ? "no ProxyCommand: ssh skips ona's" : undefined
      return `ssh jumps through ${value}${mine?.get('proxycommand') ? " instead of ona's ProxyCommand" : ''}`
    case 'stricthostkeychecking':
      return ['no', 'off', 'false'].includes(first) ? `host-key checking off (StrictHostKeyChecking ${args[0]})` : undefined
    case 'userknownhostsfile':
      return ['/dev/null', 'nul'].includes(first) ? `host keys never kept (UserKnownHostsFile ${args[0]})` : undefined
    case 'proxyusefdpass':
      return mine?.get('proxycommand') && ['yes', 'true'].includes(first) ? "ProxyUseFdpass yes: ona's ProxyCommand passes no descriptor, so ssh cannot connect" : undefined
    default:
      return undefined
  }
}

/** The first ona block of `realPath` (or of the tree): [from, to) indices into tree.lines, or undefined. */
export function onaBlockRange(tree: ConfigTree, realPath?: string): {from: number; to: number} | undefined {
  for (const [i, line] of tree.lines.entries()) {
    if (!isBeginMarker(line.content)) continue
    if (realPath !== undefined && tree.files[line.fileIndex]?.realPath !== realPath) continue
    for (let j = i + 1; j < tree.lines.length; j++) {
      const end = tree.lines[j]!
      if (end.fileIndex === line.fileIndex && isEndMarker(end.content)) return {from: i, to: j + 1}
    }
    return undefined
  }
  return undefined
}

/** What ona's block sets for each alias: lowercase keyword -> the line's arguments joined by a space. */
export function blockValues(tree: ConfigTree, range: {from: number; to: number} | undefined): Map<string, Map<string, string>> {
  const result = new Map<string, Map<string, string>>()
  if (!range) return result
  let current: Map<string, string> | undefined
  for (let i = range.from; i < range.to; i++) {
    const directive = tree.lines[i]!.directive
    if (!directive) continue
    if (directive.keyword === 'host') {
      current = new Map()
      for (const alias of directive.args) result.set(alias, current)
    } else if (current && !current.has(directive.keyword)) {
      current.set(directive.keyword, directive.args.join(' '))
    }
  }
  return result
}

/** A path as one shell word for a command the user copies: quoted only when it needs to be. */
function shellWord(value: string): string {
  if (/^[\w@%+=:,./\\~-]+$/.test(value)) return value
  return /["$`]/.test(value) ? `'${value.replace(/'/g, "'\\''")}'` : `"${value}"`
}

function count(aliases: readonly string[], all: number): string {
  if (aliases.length === all && all > 1) return `every ona alias (${all})`
  return aliases.length === 1 ? aliases[0]! : `${aliases.length} ona aliases`
}

/**
 * Every line of another tool's block, and every line of the user's own for an option ona's entries do not
 * set (ProxyCommand, StrictHostKeyChecking...), that decides how one of `aliases` connects. A tool's block is
 * one finding (its lines as `settings`); a user's line is one finding per line. The user's own lines for
 * HostName/User/Port/HostKeyAlias before the block are overrides.ts's, not repeated here.
 */
export function findConnectionFindings(tree: ConfigTree, options: FindingOptions): ConnectionFinding[] {
  if (options.aliases.length === 0) return []
  const owners = attributeLines(tree)
  const range = onaBlockRange(tree, options.managedRealPath)
  const written = blockValues(tree, range)
  const candidates: number[] = []
  for (const [i, line] of tree.lines.entries()) {
    if (line.directive && NAMES[line.directive.keyword] !== undefined) candidates.push(i)
  }
  // Per offending group (a tool's section, or the user's line): the lines and aliases it decides.
  const groups = new Map<string, {tool?: ToolId; head: TreeLine; fileIndex: number; settings: Map<number, ConnectionSetting>; aliases: Set<string>; maybe: boolean}>()
  const inBlock = (i: number) => range !== undefined && i >= range.from && i < range.to
  // A line of ona's block only marks its option decided for the aliases its section applies to, in any
  // order within the block. Sections that name aliases literally (ona's own `Host <alias>` lines) are looked
  // up by alias instead of matched against every alias: with N environments that scan was N x N matches.
  const outside = candidates.filter((i) => !inBlock(i))
  const blockAny: number[] = []
  const blockByAlias = new Map<string, number[]>()
  for (const i of candidates) {
    if (!inBlock(i)) continue
    const scope = tree.lines[i]!.scope
    const literal = scope.length === 1 && scope[0]!.kind === 'host' && scope[0]!.args.every((a) => !/[*?!]/.test(a))
    if (!literal) blockAny.push(i)
    else {
      for (const a of new Set(scope[0]!.args)) {
        const lines = blockByAlias.get(a)
        if (lines) lines.push(i)
        else blockByAlias.set(a, [i])
      }
    }
  }
  // -1 stands for the block, where ssh reads it.
  const order = range === undefined ? outside : [...outside.filter((j) => j < range.from), -1, ...outside.filter((j) => j >= range.to)]
  for (const alias of options.aliases) {
    const mine = written.get(alias)
    const decided = new Set<string>()
    const open = new Set<string>()
    const blockLines = [...blockAny, ...(blockByAlias.get(alias) ?? [])]
    for (const i of order) {
      if (i === -1) {
        // ona's own entry sets it: nothing read later changes it.
        for (const j of blockLines) {
          const keyword = tree.lines[j]!.directive!.keyword
          if (scopeApplies(tree.lines[j]!.scope, alias) === 'yes') decided.add(GROUP_OF[keyword] ?? keyword)
        }
        continue
      }
      const line = tree.lines[i]!
      const keyword = line.directive!.keyword
      const group = GROUP_OF[keyword] ?? keyword
      if (decided.has(group)) continue
      const applies = scopeApplies(line.scope, alias)
      if (applies === 'no') continue
      const owner = owners[i]
      if (applies === 'yes') decided.add(group)
      if (owner === 'ona') continue
      if (owner === undefined && BLOCK_KEYS.has(keyword)) continue
      const effect = judgeSetting(keyword, line.directive!.args, mine)
      if (effect === undefined) continue
      if (open.has(`${group}:${i}`)) continue
      open.add(`${group}:${i}`)
      const section = line.scope.at(-1)
      const head = owner !== undefined && section && section.file === line.file ? section : undefined
      const key = owner === undefined ? `line:${i}` : head ? `section:${line.fileIndex}:${head.line}` : `file:${line.fileIndex}`
      let entry = groups.get(key)
      if (!entry) {
        const headLine = head ? tree.lines.find((l) => l.fileIndex === line.fileIndex && l.line === head.line) ?? line : line
        entry = {tool: owner, head: headLine, fileIndex: line.fileIndex, settings: new Map(), aliases: new Set(), maybe: false}
        groups.set(key, entry)
      }
      entry.settings.set(i, {option: NAMES[keyword]!, value: line.directive!.args.join(' '), file: line.file, line: line.line, before: range === undefined || i < range.from, effect})
      entry.aliases.add(alias)
      if (applies === 'maybe') entry.maybe = true
    }
  }
  const findings: ConnectionFinding[] = []
  for (const group of groups.values()) {
    const settings = [...group.settings.entries()].sort(([a], [b]) => a - b).map(([, s]) => s)
    const aliases = [...group.aliases].sort()
    const effect = [...new Set(settings.map((s) => s.effect))].join('; ')
    const file = tree.files[group.fileIndex]!
    const who = count(aliases, options.aliases.length)
    const may = group.maybe ? 'may decide' : 'decides'
    // Moving it below the block helps only when ona's entries set every option it sets.
    const setByOna = (s: ConnectionSetting) => aliases.every((a) => written.get(a)?.has(GROUP_OF[s.option.toLowerCase()] ?? s.option.toLowerCase()))
    const movable = settings.every((s) => s.before && setByOna(s))
    const unset = [...new Set(settings.filter((s) => !setByOna(s)).map((s) => s.option))]
    if (group.tool) {
      const tool = TOOLS[group.tool]
      const includedFrom = file.includedFrom
      const where = includedFrom ? `\`${includedFrom.text}\` (${includedFrom.file}:${includedFrom.line})` : `its \`${group.head.content.trim()}\` section`
      const section = group.head.directive?.keyword === 'host' || group.head.directive?.keyword === 'match' ? `\`${group.head.content.trim()}\` ` : ''
      // ona's block in another file than the tool's section: ona managing the tool's file instead writes its
      // block there, above the file's first Host or Match line (where a new block goes), so above the section.
      // Only for a section that starts with its Host or Match line, and never in the vendor CLI's own file,
      // which that CLI writes. Like moving, it helps only when ona's entries set every option the section sets.
      const onaFile = range === undefined ? undefined : tree.lines[range.from]!.fileIndex
      const vendorFile = VENDOR_FILE.test(file.realPath) || VENDOR_FILE.test(file.path)
      const manage = onaFile !== undefined && onaFile !== group.fileIndex && section !== '' && !vendorFile
        ? `, or let ona manage that file instead (\`ona ssh-sync --ssh-config ${shellWord(file.path)}\` writes its block above the file's first Host or Match line)`
        : ''
      const onaInclude = onaFile === undefined || onaFile === group.fileIndex ? undefined : tree.files[onaFile]!.includedFrom
      const fix = movable
        ? includedFrom
          ? `move ${where} below ona's block${manage}`
          : onaInclude?.file === file.path
            ? `move \`${onaInclude.text}\` (${onaInclude.file}:${onaInclude.line}), which reads ona's block, above line ${group.head.line}${manage}`
            : `move ona's block above line ${group.head.line}${manage}`
        : `remove ${where}${unset.length > 0 ? ` (ona's entries do not set ${unset.join(', ')}, so ssh applies it wherever it is read)` : ''}`
      const summary = `a block of ${tool.name} (${tool.writer})${section ? `, ${section.trim()},` : ''} ${may} how ${who} connect${aliases.length === 1 ? 's' : ''}: ${effect}`
      findings.push({
        code: 'W_FOREIGN_CONFIG',
        tool: group.tool,
        toolName: tool.name,
        file: group.head.file,
        line: group.head.line,
        text: group.head.content.trim(),
        settings,
        aliases,
        certainty: group.maybe ? 'maybe' : 'yes',
        ...(includedFrom ? {includedFrom} : {}),
        effect,
        fix,
        summary,
        message: `${summary}; ${fix}`,
      })
    } else {
      const s = settings[0]!
      const section = group.head.scope.at(-1)
      const scope = section ? `under \`${section.text}\` (${section.file === s.file ? `line ${section.line}` : `${section.file}:${section.line}`})` : 'a global line (before any Host or Match)'
      const fix = movable ? "move ona's block above it, or limit that section to other hosts" : 'limit that section to other hosts, or remove the line'
      const summary = `\`${group.head.content.trim()}\`, ${scope}, ${may} how ${who} connect${aliases.length === 1 ? 's' : ''}: ${effect}`
      findings.push({
        code: 'W_OVERRIDE',
        file: s.file,
        line: s.line,
        text: group.head.content.trim(),
        settings,
        aliases,
        certainty: group.maybe ? 'maybe' : 'yes',
        effect,
        fix,
        summary,
        message: `${summary}; ${fix}`,
      })
    }
  }
  return findings.sort((a, b) => tree.lines.findIndex((l) => l.file === a.file && l.line === a.line) - tree.lines.findIndex((l) => l.file === b.file && l.line === b.line))
}
