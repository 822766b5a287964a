/**
 * The editors of the VS Code family that ona sets up and opens: VS Code and the forks that read the same
 * `remote.SSH.*` settings and take the same `--remote ssh-remote+<alias>` argument. Pure: paths are derived
 * from an injected {@link Platform}, so the Windows and macOS rules are tested on Linux.
 */
import {envValue, homeDir, isMac, isWindows, pathFor, type Platform} from '../platform/platform.js'

export const EDITOR_IDS = ['vscode', 'cursor', 'windsurf', 'vscodium', 'code-insiders'] as const
export type EditorId = (typeof EDITOR_IDS)[number]

export interface Editor {
  id: EditorId
  /** How people call it. */
  name: string
  /** Its folder under the platform's application-data directory (`Code`, `Cursor`...). */
  folder: string
  /** Its command-line launcher (`code`; `code.cmd` on Windows). */
  cli: string
  /** The URL scheme its app registers (`vscode://vscode-remote/ssh-remote+<alias>/<path>`). */
  urlScheme: string
}

export const EDITORS: Readonly<Record<EditorId, Editor>> = {
  vscode: {id: 'vscode', name: 'VS Code', folder: 'Code', cli: 'code', urlScheme: 'vscode'},
  cursor: {id: 'cursor', name: 'Cursor', folder: 'Cursor', cli: 'cursor', urlScheme: 'cursor'},
  windsurf: {id: 'windsurf', name: 'Windsurf', folder: 'Windsurf', cli: 'windsurf', urlScheme: 'windsurf'},
  vscodium: {id: 'vscodium', name: 'VSCodium', folder: 'VSCodium', cli: 'codium', urlScheme: 'vscodium'},
  'code-insiders': {id: 'code-insiders', name: 'VS Code Insiders', folder: 'Code - Insiders', cli: 'code-insiders', urlScheme: 'vscode-insiders'},
}

export function isEditorId(value: string): value is EditorId {
  return (EDITOR_IDS as readonly string[]).includes(value)
}

/**
 * The directory Electron apps keep their user data in: `%APPDATA%` on Windows, `~/Library/Application
 * Support` on macOS, `$XDG_CONFIG_HOME` (default `~/.config`) elsewhere. A relative XDG value is ignored.
 */
export function appDataDir(p: Platform): string {
  const sep = pathFor(p)
  const home = homeDir(p)
  if (isWindows(p)) {
    const appData = envValue(p, 'APPDATA')
    return appData && sep.isAbsolute(appData) ? appData : sep.join(home, 'AppData', 'Roaming')
  }
  if (isMac(p)) return sep.join(home, 'Library', 'Application Support')
  const xdg = p.env.XDG_CONFIG_HOME
  return xdg && xdg.trim() !== '' && sep.isAbsolute(xdg) ? xdg : sep.join(home, '.config')
}

/** The editor's user `settings.json` (the default profile's): e.g. `~/.config/Code/User/settings.json` on Linux. */
export function userSettingsPath(p: Platform, editor: EditorId): string {
  return pathFor(p).join(appDataDir(p), EDITORS[editor].folder, 'User', 'settings.json')
}
