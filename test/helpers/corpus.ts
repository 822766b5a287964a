/**
 * Access to the shared corpus of real ~/.ssh/config files. It lives beside the clone (`../shared`), is
 * read-only, and is never copied into the project: tests copy a file into a temp dir before touching it.
 */
import {existsSync, readdirSync} from 'node:fs'
import path from 'node:path'

import {repoRoot} from './run-cli.js'

export const corpusDir = path.resolve(repoRoot, '..', 'shared', 'corpus', 'ssh-configs')

export const corpusAvailable = existsSync(corpusDir)

/** The corpus files (absolute paths), or [] when ../shared is absent. */
export function corpusFiles(): string[] {
  if (!corpusAvailable) return []
  return readdirSync(corpusDir)
    .filter((name) => name.endsWith('.config'))
    .sort()
    .map((name) => path.join(corpusDir, name))
}

export const corpusSkipReason = `the shared SSH config corpus is not at ${corpusDir} (CI has ../shared beside the clone); corpus tests skipped`
