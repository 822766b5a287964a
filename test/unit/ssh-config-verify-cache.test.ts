/** The ssh -G answer cache's entries (verify-cache.ts): what a partial run keeps, and that it stays bounded. */
import {mkdtemp, readFile, rm} from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'

import {afterEach, beforeEach, describe, expect, it} from 'vitest'

import {loadVerifyCache, plan, saveVerifyCache} from '../../src/lib/ssh-config/verify-cache.js'

let dir: string
beforeEach(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'ona-vcache-unit-'))
})
afterEach(async () => {
  await rm(dir, {recursive: true, force: true})
})

const entries = (...aliases: string[]) => new Map(aliases.map((a) => [a, `hash-${a}`]))
const saved = async () => Object.keys((JSON.parse(await readFile(path.join(dir, 'verify-cache.json'), 'utf8')) as {entries: Record<string, {aliases: object}>}).entries.scope!.aliases).sort()

describe('saveVerifyCache', () => {
  it('a partial run (watch mode) keeps the answers of the block\'s other aliases under the same key', async () => {
    await saveVerifyCache(await loadVerifyCache(dir, 'scope'), 'k1', entries('a', 'b', 'c'), new Map())
    await saveVerifyCache(await loadVerifyCache(dir, 'scope'), 'k1', entries('b'), new Map(), new Set(['a', 'b', 'c']))
    expect(await saved()).toEqual(['a', 'b', 'c'])
    expect(plan(await loadVerifyCache(dir, 'scope'), 'k1', entries('a', 'b', 'c')).check).toEqual([])
  })

  it('forgets aliases gone from the block, so a watcher that runs for months keeps it the block\'s size', async () => {
    await saveVerifyCache(await loadVerifyCache(dir, 'scope'), 'k1', entries('a', 'b'), new Map())
    // 200 environments come and go, one at a time, each checked alone by a partial run.
    for (let i = 0; i < 200; i++) await saveVerifyCache(await loadVerifyCache(dir, 'scope'), 'k1', entries(`e${i}`), new Map(), new Set(['a', 'b', `e${i}`]))
    expect(await saved()).toEqual(['a', 'b', 'e199'])
  })

  it('a changed tree (another key) drops the old answers', async () => {
    await saveVerifyCache(await loadVerifyCache(dir, 'scope'), 'k1', entries('a', 'b'), new Map())
    await saveVerifyCache(await loadVerifyCache(dir, 'scope'), 'k2', entries('b'), new Map(), new Set(['a', 'b']))
    expect(await saved()).toEqual(['b'])
  })
})
