/** The CLI's own name and version, read once from package.json (it ships beside dist/). */
import {readFileSync} from 'node:fs'

let cached: string | undefined

export function cliVersion(): string {
  if (cached === undefined) {
    try {
      const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {version?: unknown}
      cached = typeof pkg.version === 'string' ? pkg.version : '0.0.0'
    } catch {
      cached = '0.0.0'
    }
  }
  return cached
}

/** `ona/0.1.0 node/v24.x linux-x64`: names the tool and version for the server's logs. */
export function defaultUserAgent(): string {
  return `ona/${cliVersion()} node/${process.version} ${process.platform}-${process.arch}`
}
