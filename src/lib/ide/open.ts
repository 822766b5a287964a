/**
 * `ona ssh --ide <editor>`: after `ona ssh` has started the environment, registered the key and synced the
 * alias, open the editor on the alias. The environment runs by then, so no banner timeout of the editor's
 * (remote.SSH.connectTimeout) can cut a start short. The folder is `--path`, else the checkout folder the API
 * reports (`status.content.contentLocationInMachine`), else the editor's default (the home directory).
 *
 * JetBrains Gateway has no documented way to be opened on a plain SSH host (its `jetbrains-gateway://` links
 * belong to provider plugins): ona says how to connect it through the alias instead.
 */
import type {Environment} from '../api/types.js'
import type {Context} from '../context.js'
import {OnaError} from '../errors.js'
import {EDITORS, type EditorId} from './editors.js'
import {planEditor, type LaunchPlan} from './launch.js'

export interface OpenIdeOptions {
  ide: EditorId | 'jetbrains'
  alias: string
  environment: Environment
  path?: string
}

export interface OpenIdeResult {
  /** What to spawn (without a shell); absent when there is nothing to run (JetBrains: instructions printed). */
  plan?: LaunchPlan
  /** The error when the planned command turns out not to exist. */
  missing: OnaError
  /** The remote folder opened, when one was. */
  folder?: string
}

export async function openIde(ctx: Context, options: OpenIdeOptions): Promise<OpenIdeResult> {
  const folder = options.path ?? options.environment.checkoutFolder
  if (options.ide === 'jetbrains') {
    await printGatewayHowTo(ctx, options.alias, options.environment, folder)
    return {missing: new OnaError('ERR_IDE_NOT_LAUNCHABLE', 'JetBrains Gateway cannot be opened from the command line')}
  }
  const editor = EDITORS[options.ide]
  const missing = new OnaError('ERR_IDE_NOT_LAUNCHABLE', `${editor.name} (\`${editor.cli}\`) is not on PATH`, {
    hint: `In ${editor.name} run "Shell Command: Install '${editor.cli}' command in PATH", or connect with plain \`ona ssh <id>\`.`,
  })
  const plan = planEditor(ctx.platform, options.ide, {alias: options.alias, ...(folder ? {path: folder} : {})})
  if (!plan) throw missing
  if (folder && options.path === undefined) ctx.io.info(`ona: opening ${editor.name} on ${options.alias} in ${folder} (the environment's checkout)`)
  return {plan, missing, ...(folder ? {folder} : {})}
}

async function printGatewayHowTo(ctx: Context, alias: string, environment: Environment, folder: string | undefined): Promise<void> {
  const [{readSettings}, {plannedKeyPath}] = await Promise.all([import('../settings.js'), import('../keys/machine-key.js')])
  const key = plannedKeyPath(ctx, (await readSettings(ctx)).identityFile)
  const address = environment.ssh
  const lines = [
    `${alias} is running and its alias is in ${ctx.paths.sshConfig}.`,
    'JetBrains Gateway has no documented way to be opened on an SSH host from the command line; connect it like this:',
    `  Gateway > SSH Connection > New Connection: Host ${alias}, Port ${address?.port ?? 22}, Username ${address?.user ?? 'gitpod_devcontainer'}`,
    `  Authentication: "OpenSSH config and authentication agent" (Gateway reads the alias's HostName and key from ${ctx.paths.sshConfig})`,
    `    or "Key pair" with the private key ${key}`,
    ...(folder ? [`  Project directory: ${folder}`] : []),
  ]
  for (const line of lines) ctx.io.print(line)
}
