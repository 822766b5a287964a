/** The last no-op sync's outcome (sync/unchanged.ts) answers only while the managed file is as this run read it. */
import {mkdtemp, rm, symlink, unlink, writeFile} from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'

import {afterEach, beforeEach, describe, expect, it} from 'vitest'

import {readManaged, recallUnchanged, rememberUnchanged, scopeOf, unchangedKey, type Outcome} from '../../src/lib/sync/unchanged.js'

let dir: string
let file: string
beforeEach(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'ona-unchanged-unit-'))
  file = path.join(dir, 'config')
  await writeFile(file, 'Host a\n')
})
afterEach(async () => {
  await rm(dir, {recursive: true, force: true})
})

const outcome = {realPath: '', changed: false, written: false, environments: 1, added: [], updated: [], removed: [], unchanged: 1, aliased: [], kept: [], pending: [], planWarnings: [], warnings: [{code: 'W_X', message: 'kept'}], verified: 2, verifiedFromCache: 0, readBySsh: true, readByHomeConfig: true, staleBlocks: [], foreignBlocks: [], unsure: []} satisfies Outcome
const stateDir = () => path.join(dir, 'state')

async function saved(listing: unknown = 'L') {
  const before = await readManaged(file)
  const key = unchangedKey(before, listing, {})
  await rememberUnchanged(stateDir(), scopeOf(file, 'o'), key, [], outcome)
  return {before, key}
}

describe('recallUnchanged', () => {
  it('answers with the same key, file and read; not with another key or scope', async () => {
    const {before, key} = await saved()
    expect(await recallUnchanged(stateDir(), scopeOf(file, 'o'), key, {managedFile: file, before})).toEqual(outcome)
    expect(await recallUnchanged(stateDir(), scopeOf(file, 'o'), unchangedKey(before, 'M', {}), {managedFile: file, before})).toBeUndefined()
    expect(await recallUnchanged(stateDir(), scopeOf(file, 'other'), key, {managedFile: file, before})).toBeUndefined()
  })

  it('the key holds the text that was read: another text is another key', async () => {
    const {key} = await saved()
    await new Promise((resolve) => setTimeout(resolve, 25))
    await writeFile(file, 'Host b\n')
    const now = await readManaged(file)
    expect(unchangedKey(now, 'L', {})).not.toBe(key)
  })

  it('not when the file was written after this run read it (the text in the key is no longer what is there)', async () => {
    const {before, key} = await saved()
    await new Promise((resolve) => setTimeout(resolve, 25))
    await writeFile(file, 'Host b\n')
    expect(await recallUnchanged(stateDir(), scopeOf(file, 'o'), key, {managedFile: file, before})).toBeUndefined()
  })

  it('not when the managed path now leads to another file, nor for a file that could not be read', async () => {
    const link = path.join(dir, 'link')
    await symlink(file, link)
    const {before, key} = await saved()
    const other = path.join(dir, 'other')
    await writeFile(other, 'Host a\n')
    await unlink(link)
    await symlink(other, link)
    expect(await recallUnchanged(stateDir(), scopeOf(file, 'o'), key, {managedFile: link, before})).toBeUndefined()
    const missing = await readManaged(path.join(dir, 'missing'))
    expect(missing).toEqual({realPath: path.join(dir, 'missing'), text: '', id: null})
    expect(await recallUnchanged(stateDir(), scopeOf(file, 'o'), key, {managedFile: file, before: missing})).toBeUndefined()
  })
})
