/**
 * How to open VS Code (or a fork: Cursor, Windsurf, VSCodium, Insiders; see editors.ts) on an SSH alias on
 * each platform, as a plan ({command, args}) that a caller spawns without a shell. Planning is pure (the file
 * system check is injected) so every branch is tested on Linux. Below, `code` stands for the editor's launcher
 * (`cursor`, `codium`...) and `vscode://` for its URL scheme.
 *
 * - Windows: `code` on PATH is `code.cmd`, which `spawn` cannot run without a shell (Node refuses batch
 *   files since CVE-2024-27980). It runs through `cmd.exe /d /s /c` with every argument quoted and its
 *   metacharacters escaped twice (once for cmd's own line, once for the batch file's `%*`), as
 *   cross-spawn does. Without `code`, the `vscode://` URL goes to the registered handler via rundll32.
 * - macOS: `code` is only on PATH after "Shell Command: Install 'code' command in PATH"; without it the
 *   `vscode://` URL is handed to `open`, which starts the VS Code app.
 * - Elsewhere: `code` on PATH, or nothing.
 */
import {statSync} from 'node:fs'

import {envValue, isMac, isWindows, pathFor, type Platform} from '../platform/platform.js'
import {EDITORS, type EditorId} from './editors.js'

export interface LaunchPlan {
  command: string
  args: string[]
  /** Windows only: pass args to CreateProcess exactly as built (they are already quoted for cmd.exe). */
  windowsVerbatimArguments?: boolean
  /** How VS Code is reached: its CLI, the CLI's batch file through cmd.exe, or the URL handler. */
  via: 'code' | 'cmd' | 'url'
}

export type IsFile = (file: string) => boolean

export const isFileOnDisk: IsFile = (file) => {
  try {
    return statSync(file).isFile()
  } catch {
    return false
  }
}

/** The first `name` on PATH, trying each PATHEXT extension on Windows (`code` -> `code.cmd`). */
export function findOnPath(p: Platform, name: string, isFile: IsFile = isFileOnDisk): string | undefined {
  const sep = pathFor(p)
  const dirs = (envValue(p, 'PATH') ?? '').split(isWindows(p) ? ';' : ':').filter((d) => d !== '')
  const exts = isWindows(p) ? (envValue(p, 'PATHEXT') ?? '.COM;.EXE;.BAT;.CMD').split(';').filter((e) => e !== '') : ['']
  for (const raw of dirs) {
    // Windows PATH entries may be quoted ("C:\Program Files\x\bin").
    const dir = isWindows(p) ? raw.replace(/^"(.*)"$/, '$1') : raw
    for (const ext of exts) {
      const candidate = sep.join(dir, name + ext.toLowerCase())
      if (isFile(candidate)) return candidate
    }
  }
  return undefined
}

/** `vscode://vscode-remote/ssh-remote+<alias><path>`: what VS Code's URL handler opens on a remote. */
export function vscodeRemoteUrl(alias: string, remotePath?: string): string {
  return editorRemoteUrl('vscode', alias, remotePath)
}

/** The same URL in the editor's own scheme (`cursor://...`, `vscodium://...`). */
export function editorRemoteUrl(editor: EditorId, alias: string, remotePath?: string): string {
  const folder = remotePath === undefined || remotePath === '' ? '/' : remotePath.startsWith('/') ? remotePath : `/${remotePath}`
  return `${EDITORS[editor].urlScheme}://vscode-remote/ssh-remote+${encodeURIComponent(alias)}${encodeURI(folder).replace(/[?#]/g, encodeURIComponent)}`
}

const CMD_META = /([()\][%!^"`<>&|;, *?])/g

/**
 * Quotes one argument for a batch file run by `cmd.exe /d /s /c "..."`: the CRT's rules for quotes and
 * trailing backslashes, then every cmd metacharacter escaped with `^` (twice when a batch file re-reads
 * it through `%*`).
 */
export function quoteForCmd(arg: string, doubleEscape = true): string {
  let quoted = arg.replace(/(\\*)"/g, '$1$1\\"').replace(/(\\*)$/, '$1$1')
  quoted = `"${quoted}"`.replace(CMD_META, '^$1')
  return doubleEscape ? quoted.replace(CMD_META, '^$1') : quoted
}

/** planEditor for VS Code itself. */
export function planVsCode(p: Platform, target: {alias: string; path?: string}, isFile: IsFile = isFileOnDisk): LaunchPlan | undefined {
  return planEditor(p, 'vscode', target, isFile)
}

/**
 * The plan that opens `editor` on `alias` (optionally in `remotePath`), or undefined when this machine has
 * no way to. Arguments with line breaks or NUL are refused by the caller before this point.
 */
export function planEditor(p: Platform, editor: EditorId, target: {alias: string; path?: string}, isFile: IsFile = isFileOnDisk): LaunchPlan | undefined {
  const args = ['--remote', `ssh-remote+${target.alias}`, ...(target.path ? [target.path] : [])]
  const code = findOnPath(p, EDITORS[editor].cli, isFile)
  if (isWindows(p)) {
    const root = envValue(p, 'SystemRoot') ?? 'C:\\Windows'
    if (code && /\.(cmd|bat)$/i.test(code)) {
      const comspec = envValue(p, 'ComSpec') ?? pathFor(p).join(root, 'System32', 'cmd.exe')
      const line = [quoteForCmd(code, false), ...args.map((a) => quoteForCmd(a))].join(' ')
      return {command: comspec, args: ['/d', '/s', '/c', `"${line}"`], windowsVerbatimArguments: true, via: 'cmd'}
    }
    if (code) return {command: code, args, via: 'code'}
    const rundll32 = pathFor(p).join(root, 'System32', 'rundll32.exe')
    return {command: rundll32, args: ['url.dll,FileProtocolHandler', editorRemoteUrl(editor, target.alias, target.path)], via: 'url'}
  }
  if (code) return {command: code, args, via: 'code'}
  if (isMac(p)) return {command: '/usr/bin/open', args: [editorRemoteUrl(editor, target.alias, target.path)], via: 'url'}
  return undefined
}
