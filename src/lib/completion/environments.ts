/**
 * The environments shell completion offers (`ona ssh <TAB>`, `ona doctor <TAB>`): what the last listing of
 * each API origin returned, kept as a plain text file per origin in ona's cache directory. The completion
 * scripts read that file themselves, so a TAB costs neither a Node start-up nor an API call. Every
 * successful listing through `connect` (ssh-sync, the watcher, ona ssh, environment list) and doctor's
 * rewrites it when it changed.
 *
 * Names are API input that ends up on the user's command line: only words of [A-Za-z0-9._@+-] (starting
 * with a letter or digit, at most 100 characters) are written, one per line, and a name shared by two
 * environments is left out (`ona ssh <name>` would be ambiguous); the ids are always offered. The scripts
 * read the lines as data (never eval, never bash's `compgen -W`, which expands what it is given) and check
 * the same shape again. No secret is in the file: ids and names only, mode 0600.
 */
import {writeFile} from 'node:fs/promises'

import type {ApiClient} from '../api/client.js'
import type {Environment} from '../api/types.js'
import {cacheDir, pathFor, type Platform} from '../platform/platform.js'
import {readSmallFile} from '../fs/small-file.js'

/** At most this many environments are remembered (their names and ids): the file stays small. */
export const MAX_REMEMBERED = 500

/** A word that is safe on a command line as it is, in every shell: no quoting, no expansion, no option. */
export const COMPLETION_WORD = /^[A-Za-z0-9][A-Za-z0-9._@+-]{0,99}$/

/** The directory of the per-origin files: `<cache dir>/completion`. */
export function completionDir(platform: Platform): string {
  return pathFor(platform).join(cacheDir(platform), 'completion')
}

/**
 * The file name for an API URL's origin, derived in the same way by the completion scripts from the URL
 * they see: scheme, `_`, host and non-default port with `:` as `_`, lower case (`https_app.ona.com`,
 * `http_127.0.0.1_8787`, `http_[__1]_8080`).
 */
export function originFileName(apiUrl: string): string {
  const url = new URL(apiUrl)
  return `${url.protocol.replace(/:$/, '')}_${url.host}`.toLowerCase().replace(/:/g, '_')
}

/** The words to offer: each id, and each name that is a safe word and unique among the environments. */
export function completionWords(environments: readonly Environment[]): string[] {
  const named = new Map<string, number>()
  for (const e of environments) if (e.name !== undefined) named.set(e.name, (named.get(e.name) ?? 0) + 1)
  const words = new Set<string>()
  for (const e of environments.slice(0, MAX_REMEMBERED)) {
    if (e.name !== undefined && named.get(e.name) === 1 && COMPLETION_WORD.test(e.name)) words.add(e.name)
    if (COMPLETION_WORD.test(e.id)) words.add(e.id.toLowerCase())
  }
  return [...words].sort()
}

/**
 * Writes the words for `apiUrl`'s origin when they changed (atomic: a temporary file renamed into place;
 * under `sudo -E` owned like its directory). Best effort: completion is a convenience, so a failure here
 * never fails the command that listed.
 */
export async function rememberForCompletion(platform: Platform, apiUrl: string, environments: readonly Environment[]): Promise<void> {
  try {
    const words = completionWords(environments)
    const dir = completionDir(platform)
    const file = pathFor(platform).join(dir, originFileName(apiUrl))
    const text = words.map((w) => `${w}\n`).join('')
    if ((await readSmallFile(file, 'utf8').catch(() => undefined)) === text) return
    const [{mkdirOwned, ownLikeDirectory}, {renameWithRetry}] = await Promise.all([import('../fs/safe-write.js'), import('../platform/rename.js')])
    await mkdirOwned(dir)
    const temporary = `${file}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`
    try {
      await writeFile(temporary, text, {mode: 0o600, flag: 'wx'})
      await ownLikeDirectory(temporary)
      await renameWithRetry(temporary, file)
    } catch (error) {
      await import('node:fs/promises').then(({rm}) => rm(temporary, {force: true}))
      throw error
    }
  } catch {
    // Completion then offers the previous listing's words, or none.
  }
}

/**
 * The client whose every full listing of the caller's environments (not one filtered to another creator)
 * is remembered for completion before it is returned.
 */
export function rememberingListings(platform: Platform, apiUrl: string, client: ApiClient): ApiClient {
  return {
    ...client,
    async listEnvironments(options) {
      const listing = await client.listEnvironments(options)
      if (options?.creatorId === undefined) await rememberForCompletion(platform, apiUrl, listing.environments)
      return listing
    },
  }
}
