/**
 * Resolves hosts with the real OpenSSH client (`ssh -G`), which applies the config exactly as ssh would.
 * Used to prove that the block changes nothing for the user's hosts and that the aliases resolve as meant.
 */
import {execFile} from 'node:child_process'

export interface Resolved {
  code: number
  /** Lowercased key -> values (multi-valued keys keep every value). */
  values: Map<string, string[]>
  raw: string
  stderr: string
}

export function sshResolve(configPath: string, host: string, extraArgs: string[] = []): Promise<Resolved> {
  return new Promise((resolve) => {
    execFile('ssh', ['-G', '-F', configPath, ...extraArgs, '--', host], {timeout: 15_000, env: {...process.env, SSH_AUTH_SOCK: ''}}, (error, stdout, stderr) => {
      const values = new Map<string, string[]>()
      for (const line of stdout.split('\n')) {
        const space = line.indexOf(' ')
        if (space <= 0) continue
        const key = line.slice(0, space).toLowerCase()
        values.set(key, [...(values.get(key) ?? []), line.slice(space + 1)])
      }
      const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0
      resolve({code, values, raw: stdout, stderr})
    })
  })
}

/** Runs promises with at most `limit` at a time (ssh -G on a two-core machine). */
export async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array(items.length)
  let next = 0
  await Promise.all(
    Array.from({length: Math.min(limit, items.length)}, async () => {
      while (next < items.length) {
        const i = next++
        results[i] = await fn(items[i]!)
      }
    }),
  )
  return results
}
