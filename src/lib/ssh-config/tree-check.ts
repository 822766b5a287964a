/**
 * What the config tree means for the managed block (answers built on tree.ts):
 * - which lines ssh reads before the block and that win over it, in any file (file:line named);
 * - whether ssh reads the managed file at all, and under which condition (an Include inside a Host/Match);
 * - other ona blocks elsewhere in the tree (a stale copy read first makes ssh use old addresses).
 */
import path from 'node:path'

import type {Warning} from '../errors.js'
import {findBlock, isBeginMarker} from './block.js'
import {attributeLines, findConnectionFindings, type ConnectionFinding} from './foreign.js'
import {findOverridesInLines, scopeApplies} from './overrides.js'
import {includeLineFor, placesOf, readConfigTree, type ConfigTree} from './tree.js'
import type {TreeProbe} from './tree-probes.js'
import {aliasesOf, type ValidEnvironment} from './validate.js'

export interface StaleBlock {
  file: string
  line: number
  /** Whether ssh reads it before the managed block (its aliases then win). */
  before: boolean
}

export interface TreeReport {
  /**
   * The managed file is read by a plain `ssh <alias>` (no `-F`): through the user config ssh itself reads,
   * `.ssh/config` in the password database's home (`sshUserConfig`), which is not $HOME's when $HOME was
   * moved (containers, `sudo -E`).
   */
  readBySsh: boolean
  /** The managed file is read through `userConfig` ($HOME's `~/.ssh/config`): what `ssh -F <userConfig>` reads. */
  readByUserConfig: boolean
  /** When it is not: the line that makes `~/.ssh/config` read it. */
  includeLine?: string
  staleBlocks: StaleBlock[]
  /** Other tools' blocks that decide how ona's aliases connect (`--check` fails on them), and the user's lines that do. */
  connection: ConnectionFinding[]
  /** `file:line` (as ssh -G's checks name them) of every line a warning here already names. */
  covered: Set<string>
  warnings: Warning[]
  tree: ConfigTree
}

export interface TreeCheckOptions {
  home: string
  /** The file `ona` manages, as the user named it (used in messages). */
  managedFile: string
  managedRealPath: string
  /** The managed file's text as it is (or is about to be) on disk. */
  managedText: string
  environments: readonly ValidEnvironment[]
  /** `~/.ssh/config` under $HOME. */
  userConfig: string
  /** The user config a plain ssh reads (passwd.ts sshUserConfig); default `userConfig`. */
  sshUserConfig?: string
  systemConfig: string | null
  /** The password database for `~user` in Include lines. */
  userHome?: (name: string) => string | undefined
  /** Filled with what the tree reads looked at (tree-probes.ts). */
  probes?: TreeProbe[]
  /** The environment ssh runs with (for the probes). */
  env?: NodeJS.ProcessEnv
}

/** Reads the tree with the managed file's new text and reports what it means for the block. */
export async function checkConfigTree(options: TreeCheckOptions): Promise<TreeReport> {
  const tree = await readConfigTree({
    home: options.home,
    userConfig: options.userConfig,
    systemConfig: options.systemConfig,
    texts: new Map([[options.managedRealPath, options.managedText]]),
    userHome: options.userHome,
    probes: options.probes,
    env: options.env,
  })
  const warnings: Warning[] = tree.problems.map((message) => ({code: 'W_SSH_CONFIG_TREE', message}))
  const places = placesOf(tree, options.managedRealPath)
  const place = places[0]
  const display = (file: string) => (file === place?.path ? options.managedFile : file)
  const report: TreeReport = {readBySsh: place !== undefined, readByUserConfig: place !== undefined, staleBlocks: [], connection: [], covered: new Set(), warnings, tree}

  if (options.sshUserConfig !== undefined && path.resolve(options.sshUserConfig) !== path.resolve(options.userConfig)) {
    // $HOME is not the home ssh reads its config from: does that config read the managed file?
    const own = await readConfigTree({home: options.home, userConfig: options.sshUserConfig, systemConfig: options.systemConfig, texts: new Map([[options.managedRealPath, options.managedText]]), userHome: options.userHome, probes: options.probes, env: options.env})
    report.readBySsh = placesOf(own, options.managedRealPath).length > 0
  }
  if (!place) {
    report.includeLine = includeLineFor(options.managedFile, options.home)
    warnings.push({
      code: 'W_NOT_INCLUDED',
      message: `ssh does not read ${options.managedFile}: nothing in ${options.userConfig} Includes it, so its aliases work only with \`ssh -F\`; add \`${report.includeLine}\` at the top of ${options.userConfig} (or run \`ona ssh-sync --add-include\`)`,
      file: options.managedFile,
    })
  } else if (place.scope.length > 0 && options.environments.length > 0) {
    const section = place.scope.at(-1)!
    const aliases = options.environments.map((e) => e.environmentAlias)
    const notAll = aliases.filter((a) => scopeApplies(place.scope, a) !== 'yes')
    if (notAll.length > 0) {
      warnings.push({
        code: 'W_INCLUDE_CONDITIONAL',
        message: `${place.includedFrom!.file} line ${place.includedFrom!.line} Includes ${options.managedFile} under \`${section.text}\` (${section.file}:${section.line}), so ssh ${notAll.length === aliases.length ? 'does not read the block for the ona aliases' : `may skip the block for ${notAll.length} ona aliases`}; move \`${place.includedFrom!.text}\` above every Host and Match line`,
        file: place.includedFrom!.file,
        line: place.includedFrom!.line,
      })
    }
  }

  let blockFrom = -1
  let blockTo = -1
  if (place) {
    const location = findBlock(options.managedText, options.managedFile)
    const index = tree.files.indexOf(place)
    if (location) {
      blockFrom = tree.lines.findIndex((l) => l.fileIndex === index && l.line === location.beginLine)
      blockTo = tree.lines.findIndex((l) => l.fileIndex === index && l.line === location.endLine) + 1
    }
    if (blockFrom !== -1) {
      const aliases = options.environments.flatMap((e) => aliasesOf(e))
      report.connection = findConnectionFindings(tree, {aliases, managedRealPath: options.managedRealPath})
      // A line in another tool's block is that block's finding; a line in another ona block is W_STALE_BLOCK's
      // (never "your own entry").
      const owners = attributeLines(tree)
      const owned = new Set(tree.lines.flatMap((l, i) => (owners[i] !== undefined && (i < blockFrom || i >= blockTo) ? [`${l.file}:${l.line}`] : [])))
      for (const w of findOverridesInLines(tree.lines, blockFrom, blockTo, options.environments, place.path)) {
        if (w.file !== undefined && owned.has(`${w.file}:${w.line}`)) continue
        if (w.file !== undefined) report.covered.add(`${w.file}:${w.line}`)
        warnings.push({...w, file: w.file === undefined ? undefined : display(w.file)})
      }
      for (const finding of report.connection) {
        for (const setting of finding.settings) report.covered.add(`${setting.file}:${setting.line}`)
        warnings.push(findingWarning(finding, display))
      }
    }
  }

  const seen = new Set<string>()
  for (const [index, line] of tree.lines.entries()) {
    const file = tree.files[line.fileIndex]!
    if (file.realPath === options.managedRealPath || !isBeginMarker(line.content)) continue
    const key = `${file.realPath}:${line.line}`
    if (seen.has(key)) continue
    seen.add(key)
    const before = blockFrom === -1 || index < blockFrom
    report.staleBlocks.push({file: line.file, line: line.line, before})
    warnings.push({
      code: 'W_STALE_BLOCK',
      message: `line ${line.line} of ${line.file} starts another ona block, which ssh reads ${blockFrom === -1 ? 'while the managed file is not read' : before ? 'before the managed one: its aliases win over the current addresses' : 'after the managed one'}; take it out with \`ona ssh-sync --ssh-config ${line.file} --remove --all\``,
      file: line.file,
      line: line.line,
    })
  }
  return report
}

/** A connection finding as the warning sync prints and `--json` carries (every alias and line kept). */
export function findingWarning(finding: ConnectionFinding, display: (file: string) => string = (f) => f): Warning {
  const single = finding.settings.length === 1 ? finding.settings[0] : undefined
  return {
    code: finding.code,
    message: finding.message,
    file: display(finding.file),
    line: finding.line,
    ...(finding.tool ? {tool: finding.tool} : {}),
    ...(single ? {option: single.option, actual: single.value} : {}),
    aliases: finding.aliases,
    effect: finding.effect,
    fix: finding.fix,
    settings: finding.settings.map((s) => ({option: s.option, value: s.value, file: display(s.file), line: s.line, effect: s.effect})),
  }
}
