/**
 * Watch tests' shared pieces: the library watcher run until a stop, and a waitFor that shows what the
 * watcher printed and the file when it times out (these tests race on purpose, so a bare timeout says
 * too little).
 */
import {spawn, type ChildProcess} from 'node:child_process'
import {readFile} from 'node:fs/promises'

import type {Context} from '../../src/lib/context.js'
import {watchSshConfig, type WatchOptions} from '../../src/lib/watch/watch.js'
import {binRun} from './run-cli.js'
import {waitFor} from './wait-for.js'

/**
 * Starts `watchSshConfig`; the returned function stops it and waits until it has finished. Its `done` is
 * the watcher's own promise, for a test that expects it to end by itself.
 */
export function startLibraryWatch(ctx: Context, options: Omit<WatchOptions, 'signal'>): (() => Promise<void>) & {done: Promise<void>} {
  const abort = new AbortController()
  const done = watchSshConfig(ctx, {...options, signal: abort.signal})
  done.catch(() => undefined)
  const stop = async () => {
    abort.abort()
    await done.catch(() => undefined)
  }
  return Object.assign(stop, {done})
}

/** waitFor whose timeout error carries the watcher's output and the file's text. */
export function waitForShowing(output: () => string, file: string) {
  return (condition: () => Promise<boolean>, ms: number, what: string): Promise<number> =>
    waitFor(condition, ms, what).catch(async (error: Error) => {
      throw new Error(`${error.message}\n--- watcher output:\n${output()}--- ${file}:\n${await readFile(file, 'utf8').catch(() => '(none)')}`)
    })
}

/** A `ona ssh-sync --watch` process of the built CLI, with what it printed so far and its exit. */
export interface WatcherProcess {
  child: ChildProcess
  out: {stdout: string; stderr: string}
  exited: Promise<number | null>
}

/**
 * Starts `ona ssh-sync --watch [args]` with `env`; the process is kept in `children` until it exits, so
 * the file's afterEach can kill whatever is left.
 */
export function spawnWatcher(args: string[], env: NodeJS.ProcessEnv, children: Set<ChildProcess>): WatcherProcess {
  const child = spawn(process.execPath, [binRun, 'ssh-sync', '--watch', ...args], {env, stdio: ['ignore', 'pipe', 'pipe']})
  children.add(child)
  const out = {stdout: '', stderr: ''}
  child.stdout.setEncoding('utf8').on('data', (c: string) => (out.stdout += c))
  child.stderr.setEncoding('utf8').on('data', (c: string) => (out.stderr += c))
  const exited = new Promise<number | null>((resolve) =>
    child.once('exit', (code) => {
      children.delete(child)
      resolve(code)
    }),
  )
  return {child, out, exited}
}
