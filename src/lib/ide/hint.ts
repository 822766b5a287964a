/**
 * The note `ona ssh-sync --resolve-on-connect` gives once on a machine where VS Code (or a fork) has user
 * settings: Remote-SSH gives up on a connection after remote.SSH.connectTimeout (15 s by default), and a
 * start takes longer, so starting an environment from the editor's host list needs `ona ide setup`. Shown
 * once (remembered in the state directory), and not for an editor ona has already set up. Light: no
 * jsonc-parser, only a few stat calls, as `ona ssh-sync` is on a fast path.
 */
import {stat} from 'node:fs/promises'

import type {Context} from '../context.js'
import {EDITOR_IDS, EDITORS, userSettingsPath, type EditorId} from './editors.js'
import {isSetUp, readIdeState, updateIdeState} from './state.js'

/** The note to show now (and remembered as shown), or undefined. */
export async function ideSetupHint(ctx: Pick<Context, 'paths' | 'platform'>): Promise<string | undefined> {
  const state = await readIdeState(ctx)
  if (state.hintShown) return undefined
  const editors: EditorId[] = []
  for (const id of EDITOR_IDS) {
    const file = userSettingsPath(ctx.platform, id)
    const exists = await stat(file).then((s) => s.isFile(), () => false)
    if (exists && !isSetUp(state, file)) editors.push(id)
  }
  if (editors.length === 0) return undefined
  try {
    await updateIdeState(ctx, (current) => {
      current.hintShown = true
    })
  } catch {
    // Not remembered: the note comes again next time, which is better than never.
  }
  const names = editors.map((id) => EDITORS[id].name)
  const named = names.length === 1 ? names[0]! : `${names.slice(0, -1).join(', ')} and ${names.at(-1)!}`
  const command = editors.length === 1 ? `ona ide setup ${editors[0]}` : 'ona ide setup --all'
  return `${named} ${editors.length === 1 ? 'has' : 'have'} user settings here: for a stopped environment to start when you pick it in the editor's Remote-SSH host list, run \`${command}\` once (Remote-SSH gives up after remote.SSH.connectTimeout, 15 s by default, and a start takes longer)`
}
