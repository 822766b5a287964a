/**
 * Watch tests' shared pieces: the library watcher run until a stop, and a waitFor that shows what the
 * watcher printed and the file when it times out (these tests race on purpose, so a bare timeout says
 * too little).
 */
import {readFile} from 'node:fs/promises'

import type {Context} from '../../src/lib/context.js'
import {watchSshConfig, type WatchOptions} from '../../src/lib/watch/watch.js'
import {waitFor} from './wait-for.js'

/** Starts `watchSshConfig`; the returned function stops it and waits until it has finished. */
export function startLibraryWatch(ctx: Context, options: Omit<WatchOptions, 'signal'>): () => Promise<void> {
  const abort = new AbortController()
  const done = watchSshConfig(ctx, {...options, signal: abort.signal})
  done.catch(() => undefined)
  return async () => {
    abort.abort()
    await done.catch(() => undefined)
  }
}

/** waitFor whose timeout error carries the watcher's output and the file's text. */
export function waitForShowing(output: () => string, file: string) {
  return (condition: () => Promise<boolean>, ms: number, what: string): Promise<number> =>
    waitFor(condition, ms, what).catch(async (error: Error) => {
      throw new Error(`${error.message}\n--- watcher output:\n${output()}--- ${file}:\n${await readFile(file, 'utf8').catch(() => '(none)')}`)
    })
}
