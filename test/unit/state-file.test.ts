/** The keyed state files (fs/state-file.ts): what a damaged file reads as, the bound on scopes, forgetting. */
import {mkdtemp, readFile, rm, stat, writeFile} from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'

import {afterEach, beforeEach, describe, expect, it} from 'vitest'

import {readScopedEntry, readScopedState, writeScopedEntry} from '../../src/lib/fs/state-file.js'

let dir: string
beforeEach(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'ona-state-file-'))
})
afterEach(async () => {
  await rm(dir, {recursive: true, force: true})
})

const store = (max?: number) => ({file: path.join(dir, 'state', 'x.json'), version: 2, ...(max === undefined ? {} : {max})})

describe('scoped state files', () => {
  it('reads a missing, damaged or other-version file as empty, and a write replaces it', async () => {
    expect(await readScopedState(store())).toEqual({})
    await writeScopedEntry(store(), 'a', () => ({n: 1}))
    for (const text of ['{', '[]', '{"version":1,"entries":{"a":{"n":1,"at":1}}}', '{"version":2,"entries":[]}']) {
      await writeFile(store().file, text)
      expect(await readScopedEntry(store(), 'a')).toBeUndefined()
    }
    await writeScopedEntry(store(), 'b', () => ({n: 2}))
    expect(await readScopedState(store())).toEqual({b: {n: 2, at: expect.any(Number)}})
    expect((await stat(store().file)).mode & 0o777).toBe(0o600)
  })

  it('gives the update the current entry, keeps the newest `max` scopes and forgets one on undefined', async () => {
    await writeScopedEntry<{n: number}>(store(2), 'a', () => ({n: 1}))
    await writeScopedEntry<{n: number}>(store(2), 'a', (current) => ({n: (current?.n ?? 0) + 1}))
    expect((await readScopedEntry<{n: number}>(store(2), 'a'))?.n).toBe(2)
    await new Promise((resolve) => setTimeout(resolve, 5))
    await writeScopedEntry(store(2), 'b', () => ({n: 1}))
    await new Promise((resolve) => setTimeout(resolve, 5))
    await writeScopedEntry(store(2), 'c', () => ({n: 1}))
    expect(Object.keys(await readScopedState(store(2))).sort()).toEqual(['b', 'c'])
    await writeScopedEntry(store(2), 'b', () => undefined)
    expect(Object.keys(JSON.parse(await readFile(store().file, 'utf8')).entries)).toEqual(['c'])
  })

  it('a key named like an Object prototype property is no entry', async () => {
    expect(await readScopedEntry(store(), '__proto__')).toBeUndefined()
    expect(await readScopedEntry(store(), 'constructor')).toBeUndefined()
  })
})
