import {Flags} from '@oclif/core'

import {BaseCommand} from '../base-command.js'
import {apiUrlFlag, syncTimeoutFlag} from '../flags.js'
import {resolveApiUrl} from '../lib/api/base-url.js'
import {createContext} from '../lib/context.js'
import {SSH_OPTION_KEYWORDS} from '../lib/ssh-config/ssh-options.js'
import type {SyncResult} from '../lib/sync/sync.js'

export default class SshSync extends BaseCommand {
  static override summary = 'write your environments as SSH aliases into ~/.ssh/config'
  static override description =
    'Lists your environments and rewrites one managed block of the SSH config with a <id>.gitpod.environment / <id>.gitpod.remote Host alias for each running one. Every byte outside the block stays as it was. A failed API call never changes the file.'

  // oclif renders the exclusive flags as `[--watch |  |  | ...]`; the modes, said plainly:
  static override usage = [
    'ssh-sync [--api-url <url>] [--ssh-config <path>] [--dry-run | --check | --remove | --watch [--interval <duration>]] [--timeout <duration>] [--json]',
    'ssh-sync [--friendly-aliases | --no-friendly-aliases] [--ssh-option <KEY=VALUE>]... [--clear-ssh-options] [--dry-run | --check]',
  ]

  static override examples = [
    '<%= config.bin %> ssh-sync',
    '<%= config.bin %> ssh-sync --dry-run',
    '<%= config.bin %> ssh-sync --check || echo "SSH aliases are out of date"',
    '<%= config.bin %> ssh-sync --watch',
    '<%= config.bin %> ssh-sync --remove',
    '<%= config.bin %> ssh-sync --remove --all',
    '<%= config.bin %> ssh-sync --ssh-config ~/.ssh/config.d/ona --add-include',
    '<%= config.bin %> ssh-sync --ssh-config ~/.ssh/config.d/ona --json',
    '<%= config.bin %> ssh-sync --friendly-aliases',
    '<%= config.bin %> ssh-sync --ssh-option ForwardAgent=yes --ssh-option "LocalForward=8080 localhost:8080"',
    '<%= config.bin %> ssh-sync --ssh-option ForwardAgent=',
  ]

  static override enableJsonFlag = true
  /** Run by bin/run.js without oclif (shell prompts and editor hooks call it often); see src/cli/oclif-lite.ts. */
  static fastPath = true

  static override flags = {
    'api-url': apiUrlFlag,
    'ssh-config': Flags.string({summary: 'SSH config file to manage (default ~/.ssh/config, or ONA_SSH_CONFIG)', helpValue: '<path>'}),
    'dry-run': Flags.boolean({summary: 'print a unified diff of the change and write nothing'}),
    check: Flags.boolean({summary: 'write nothing; exit 1 when the config is out of date', exclusive: ['dry-run']}),
    remove: Flags.boolean({summary: "take this install's aliases out of the config (the block goes with the last install)", exclusive: ['check']}),
    // Checked in run(): the fast path (src/cli/oclif-lite.ts) leaves flags with dependsOn to oclif.
    all: Flags.boolean({summary: 'with --remove: take the whole managed block out, every install'}),
    'add-include': Flags.boolean({summary: 'when ssh does not read the managed file, add its Include line at the top of ~/.ssh/config'}),
    watch: Flags.boolean({summary: 'keep the aliases current until interrupted', exclusive: ['dry-run', 'check', 'remove']}),
    // Two flags rather than allowNo: the fast path's parser (src/cli/oclif-lite.ts) knows plain booleans.
    'resolve-on-connect': Flags.boolean({
      summary: 'entries resolve the address (and start the environment) when ssh connects; saved for this API',
      description: 'Each entry keeps HostName/User/Port and adds a ProxyCommand running ona.',
      exclusive: ['no-resolve-on-connect'],
    }),
    'no-resolve-on-connect': Flags.boolean({summary: 'write plain entries again (saved for this API)'}),
    'friendly-aliases': Flags.boolean({
      summary: 'also name each entry <name>.ona (its name, slugged) when no other environment gives the same; saved for this API',
      exclusive: ['no-friendly-aliases'],
    }),
    'no-friendly-aliases': Flags.boolean({summary: 'take the <name>.ona aliases out again (saved for this API)'}),
    'ssh-option': Flags.string({
      summary: 'add an option to every entry, e.g. ForwardAgent=yes (repeatable; saved for this API; KEY= removes it)',
      description: `Keywords: ${SSH_OPTION_KEYWORDS.join(', ')}. LocalForward, RemoteForward, DynamicForward, SendEnv and SetEnv variables add up; any other keyword given again replaces its value. --dry-run and --check show the result without saving it.`,
      helpValue: '<KEY=VALUE>',
      multiple: true,
    }),
    'clear-ssh-options': Flags.boolean({summary: 'remove every saved --ssh-option of this API (with --ssh-option: replace them)'}),
    'identity-file': Flags.string({summary: 'use this existing private key (its .pub is registered) instead of ona\'s own; saved; empty to go back', helpValue: '<path>'}),
    service: Flags.boolean({summary: 'watch mode as run by `ona service`: after `ona ssh-sync --remove`, end instead of putting the block back', hidden: true}),
    // launchd's KeepAlive restarts every non-zero exit: its agent ends with 0 when the token expired (service/launchd.ts).
    'auth-exit-code': Flags.integer({summary: 'with --service: the exit code when the token expired or was revoked (default 4)', hidden: true, min: 0, max: 255}),
    timeout: syncTimeoutFlag,
    interval: Flags.string({summary: 'watch mode: time between full listings (safety net): 5m, 90s or plain seconds, at least 10s', default: '5m', helpValue: '<duration>'}),
  }

  async run(): Promise<SyncResult | undefined> {
    const {flags} = await this.parse(SshSync)
    if (flags.all && !flags.remove) {
      const {OnaError} = await import('../lib/errors.js')
      throw new OnaError('ERR_USAGE', '--all only goes with --remove', {hint: 'Run `ona ssh-sync --remove --all` to take the whole managed block out.'})
    }
    const {parseTimeFlag} = await import('../lib/deadline.js')
    const intervalMs = parseTimeFlag(flags.interval, '--interval', {minMs: 10_000}).ms
    // Watch mode runs until interrupted: only the one-shot forms get the overall deadline.
    const ctx = createContext({io: this.io, sshConfig: flags['ssh-config'], ...(flags.watch ? {} : {oneShot: {timeout: flags.timeout, json: this.jsonEnabled()}})})
    const apiUrl = resolveApiUrl(flags['api-url'], ctx.env)
    const {syncSshConfig, formatSyncResult, connect} = await import('../lib/sync/sync.js')
    const resolveOnConnect = flags['resolve-on-connect'] ? true : flags['no-resolve-on-connect'] ? false : undefined
    if (resolveOnConnect !== undefined || flags['identity-file'] !== undefined) {
      const {saveConnectSettings} = await import('../lib/settings.js')
      await saveConnectSettings(ctx, {apiUrl, resolveOnConnect, identityFile: flags['identity-file']})
    }
    // Friendly aliases and --ssh-option: saved before a write (watch mode and the service follow them); a dry
    // run or --check only shows them. A refused option stops here, before anything is read or written.
    const friendlyAliases = flags['friendly-aliases'] ? true : flags['no-friendly-aliases'] ? false : undefined
    const preferences = {
      ...(friendlyAliases === undefined ? {} : {friendlyAliases}),
      ...(flags['ssh-option'] === undefined ? {} : {sshOptions: flags['ssh-option']}),
      ...(flags['clear-ssh-options'] ? {clearSshOptions: true} : {}),
    }
    const preview = Boolean(flags['dry-run'] || flags.check)
    let saved: string | undefined
    if (Object.keys(preferences).length > 0) {
      const {apiOrigin, readSettings, saveEntryPreferences, withEntryPreferences} = await import('../lib/settings.js')
      if (preview) withEntryPreferences(await readSettings(ctx), apiUrl, preferences)
      else {
        const mine = (await saveEntryPreferences(ctx, apiUrl, preferences)).origins[apiOrigin(apiUrl)]
        // What every later sync of this API (watch mode, the service, `ona ssh`) writes from now on.
        saved = [
          ...(friendlyAliases === undefined ? [] : [`friendly aliases ${friendlyAliases ? 'on' : 'off'}`]),
          ...(flags['ssh-option'] === undefined && !flags['clear-ssh-options'] ? [] : [`ssh options: ${mine?.sshOptions?.join(', ') || 'none'}`]),
        ].join('; ')
      }
    }


    if (flags.watch) {
      // The file this install's block lives in (a --ssh-config chosen once is remembered): the service runs this.
      const {useManagedFileSetting} = await import('../lib/settings.js')
      await useManagedFileSetting(ctx, apiUrl)
      // Before the watcher's own work: a small young generation and no optimising tiers (watch/runtime.ts).
      const {applyWatcherRuntimeFlags} = await import('../lib/watch/runtime.js')
      applyWatcherRuntimeFlags()
      const {watchSshConfig} = await import('../lib/watch/watch.js')
      // A service's watcher that stops on an authentication error records why for `ona service status`.
      const serviceStop = async (error: unknown): Promise<boolean> => {
        const {isOnaError, EXIT} = await import('../lib/errors.js')
        if (!flags.service || !isOnaError(error) || error.exitCode !== EXIT.AUTH) return false
        const {recordServiceExit} = await import('../lib/service/exit-record.js')
        await recordServiceExit(ctx, {origin: new URL(apiUrl).origin, sshConfig: ctx.paths.sshConfig}, {code: error.code, exit: error.exitCode, message: error.message, hint: error.hint, at: new Date().toISOString()})
        if (flags['auth-exit-code'] === undefined) return false
        await this.catch(error)
        process.exitCode = flags['auth-exit-code']
        return true
      }
      let client: Awaited<ReturnType<typeof connect>>
      try {
        client = await connect(ctx, apiUrl)
      } catch (error) {
        if (await serviceStop(error)) return undefined
        throw error
      }
      const abort = new AbortController()
      const stop = () => abort.abort()
      // Ctrl-Break and a closed console window (SIGHUP) on Windows must release the locks too.
      const {shutdownSignals} = await import('../lib/platform/platform.js')
      const signals = shutdownSignals(ctx.platform)
      for (const signal of signals) process.once(signal, stop)
      const {createWatchReporter} = await import('../lib/watch/output.js')
      const json = this.jsonEnabled()
      // Nothing is printed before the lock is held: a refused second watcher says only why.
      const reporter = createWatchReporter(ctx, {json})
      try {
        await watchSshConfig(ctx, {client, signal: abort.signal, intervalMs, reporter, service: flags.service})
      } catch (error) {
        const {isOnaError} = await import('../lib/errors.js')
        if (await serviceStop(error)) return undefined
        // Once the watcher ran, its own error event (line or JSON object) has been printed on stdout.
        if (!isOnaError(error) || error.code === 'ERR_WATCH_RUNNING' || !json) throw error
        process.exitCode = error.exitCode
      } finally {
        for (const signal of signals) process.off(signal, stop)
      }
      return undefined
    }

    const result = await syncSshConfig(ctx, {
      apiUrl,
      dryRun: flags['dry-run'] || flags.check,
      remove: flags.remove,
      all: flags.all,
      addInclude: flags['add-include'],
      ...(preview && Object.keys(preferences).length > 0 ? {preferences} : {}),
    })
    if (!this.jsonEnabled()) {
      if (flags['dry-run'] && result.diff) this.io.print(result.diff.trimEnd())
      if (saved) this.io.print(`saved    for this API: ${saved}`)
      for (const line of formatSyncResult(result, ctx.paths.home, {check: flags.check, remove: flags.remove})) this.io.print(line)
      for (const w of result.warnings) this.io.warn(w.file && w.line ? `${w.file}:${w.line}: ${w.message}` : w.message)
      if (resolveOnConnect === true && !result.dryRun) {
        // Once per machine: VS Code's host list cannot start an environment until its connect timeout is raised.
        const {ideSetupHint} = await import('../lib/ide/hint.js')
        const hint = await ideSetupHint(ctx)
        if (hint) this.io.info(`note: ${hint}`)
      }
    }
    if (flags.check && result.changed) {
      process.exitCode = 1
      if (!this.jsonEnabled()) this.io.info('the SSH config is out of date: run `ona ssh-sync`')
    } else if (flags.check && result.foreignBlocks.length > 0) {
      // ssh would connect the way another tool says (its ProxyCommand, host-key checking off): not "current".
      process.exitCode = 1
      const tools = [...new Set(result.foreignBlocks.map((b) => b.toolName))]
      if (!this.jsonEnabled()) this.io.info(`${tools.join(' and ')} decide${tools.length === 1 ? 's' : ''} how ona's aliases connect: the SSH config is not current`)
    } else if (flags.check && result.staleBlocks.length > 0) {
      // A stale copy of the block elsewhere in the tree makes ssh use old addresses: not "current".
      process.exitCode = 1
      if (!this.jsonEnabled()) this.io.info(`ssh also reads ${result.staleBlocks.length === 1 ? 'another ona block' : `${result.staleBlocks.length} other ona blocks`}: the SSH config is not current`)
    }
    return result
  }
}
