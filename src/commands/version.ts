import {BaseCommand} from '../base-command.js'

export interface VersionResult {
  name: string
  version: string
  node: string
  platform: string
  arch: string
  userAgent: string
}

/**
 * `ona version --json` for scripts and bug reports. Plain `ona version` is rewritten to `--version` before
 * oclif runs (src/cli-argv.ts), so the two print the same line; this command answers every other form.
 */
export default class Version extends BaseCommand {
  static override hidden = true
  static override summary = 'show the version of ona, Node.js and the platform'
  static override examples = ['<%= config.bin %> version', '<%= config.bin %> version --json']
  static override enableJsonFlag = true

  async run(): Promise<VersionResult> {
    await this.parse(Version)
    this.log(this.config.userAgent)
    return {name: this.config.name, version: this.config.version, node: process.version, platform: process.platform, arch: process.arch, userAgent: this.config.userAgent}
  }
}
