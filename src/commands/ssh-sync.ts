import {Flags} from '@oclif/core'

import {BaseCommand} from '../base-command.js'
import {apiUrlFlag, syncTimeoutFlag} from '../flags.js'
import {resolveApiUrl} from '../lib/api/base-url.js'
import {createContext} from '../lib/context.js'
import type {SyncResult} from '../lib/sync/sync.js'

export default class SshSync extends BaseCommand {
  static override summary = 'write your environments as SSH aliases into ~/.ssh/config'
  static override description =
    'Lists your environments and rewrites one managed block of the SSH config with a <id>.gitpod.environment / <id>.gitpod.remote Host alias for each running one. Every byte outside the block stays as it was. A failed API call never changes the file.'

  // oclif renders the exclusive flags as `[--watch |  |  | ...]`; the modes, said plainly:
  static override usage = ['ssh-sync [--api-url <url>] [--ssh-config <path>] [--dry-run | --check | --remove | --watch [--interval <duration>]] [--timeout <duration>] [--json]']

  static override examples = [
    '<%= config.bin %> ssh-sync',
    '<%= config.bin %> ssh-sync --dry-run',
    '<%= config.bin %> ssh-sync --check || echo "SSH aliases are out of date"',
    '<%= config.bin %> ssh-sync --watch',
    '<%= config.bin %> ssh-sync --remove',
    '<%= config.bin %> ssh-sync --remove --all',
    '<%= config.bin %> ssh-sync --ssh-config ~/.ssh/config.d/ona --add-include',
    '<%= config.bin %> ssh-sync --ssh-config ~/.ssh/config.d/ona --json',
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
    })
    if (!this.jsonEnabled()) {
      if (flags['dry-run'] && result.diff) this.io.print(result.diff.trimEnd())
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
