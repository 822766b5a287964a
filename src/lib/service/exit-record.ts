/**
 * Why the watcher a service ran last stopped for good: an expired or revoked token (or no token at all).
 * Written by `ona ssh-sync --watch --service` as it ends with an authentication error, read by `ona service
 * status`. The service manager may not keep the exit code (launchd, where the watcher ends with 0 so that
 * KeepAlive does not restart it), and a watcher that fails before it runs (no token) writes no watcher
 * status, so this small file in the state dir is what tells "stopped: log in again" on every platform.
 */
import {createHash} from 'node:crypto'
import fs from 'node:fs/promises'
import path from 'node:path'

import type {Context} from '../context.js'
import {mkdirOwned, ownLikeDirectory} from '../fs/safe-write.js'
import type {ServiceTarget} from './naming.js'

export interface ServiceExit {
  code: string
  exit: number
  message: string
  hint: string
  at: string
}

export function exitRecordPath(stateDir: string, target: Pick<ServiceTarget, 'origin' | 'sshConfig'>): string {
  const key = createHash('sha256').update(`${target.origin}\n${target.sshConfig}`).digest('hex').slice(0, 16)
  return path.join(stateDir, `service-${key}.exit.json`)
}

/** Best effort: a state dir that cannot be written must not hide the error being reported. */
export async function recordServiceExit(ctx: Context, target: Pick<ServiceTarget, 'origin' | 'sshConfig'>, record: ServiceExit): Promise<void> {
  const file = exitRecordPath(ctx.paths.stateDir, target)
  try {
    // Under sudo on someone's home: the directory and the record belong to that home's owner.
    await mkdirOwned(path.dirname(file))
    const temp = `${file}.${process.pid}.tmp`
    await fs.writeFile(temp, `${JSON.stringify(record)}\n`, {mode: 0o600})
    await ownLikeDirectory(temp)
    await fs.rename(temp, file)
  } catch {
    // The log line says it already.
  }
}

export async function readServiceExit(stateDir: string, target: Pick<ServiceTarget, 'origin' | 'sshConfig'>): Promise<ServiceExit | undefined> {
  try {
    const value = JSON.parse(await fs.readFile(exitRecordPath(stateDir, target), 'utf8')) as Partial<ServiceExit>
    if (typeof value.code === 'string' && typeof value.exit === 'number' && typeof value.at === 'string') {
      return {code: value.code, exit: value.exit, message: String(value.message ?? ''), hint: String(value.hint ?? ''), at: value.at}
    }
  } catch {
    // None, or unreadable: nothing to tell.
  }
  return undefined
}

export async function clearServiceExit(stateDir: string, target: Pick<ServiceTarget, 'origin' | 'sshConfig'>): Promise<void> {
  await fs.rm(exitRecordPath(stateDir, target), {force: true}).catch(() => undefined)
}
