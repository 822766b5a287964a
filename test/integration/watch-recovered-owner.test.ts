/**
 * Under sudo on a user's home (ona runs as root, the home belongs to the user), the text the watcher saves
 * aside after a writer wrote into a file it had replaced belongs to the home's owner, as the config and
 * its backup do: a root-owned 0600 file in the user's ~/.ssh is one they cannot read or delete.
 */
import {chown, mkdir, mkdtemp, readFile, rm, stat} from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'

import {afterEach, describe, expect, it} from 'vitest'

import {saveRecovered} from '../../src/lib/watch/watch.js'

const asRoot = typeof process.getuid === 'function' && process.getuid() === 0
let dir: string | undefined

afterEach(async () => {
  if (dir) await rm(dir, {recursive: true, force: true})
  dir = undefined
})

describe.skipIf(!asRoot)('the watcher\'s recovered text under sudo (runs as root)', () => {
  it('belongs to the owner of the config\'s directory, mode 0600, with the text kept', async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'ona-recovered-'))
    const ssh = path.join(dir, '.ssh')
    await mkdir(ssh, {mode: 0o700})
    // Any non-root owner will do: ona hands what it creates to the directory's owner.
    await chown(ssh, 4242, 4343)
    const file = await saveRecovered(path.join(ssh, 'config'), 'Host late\n  Port 2203\n')
    expect(path.dirname(file)).toBe(ssh)
    expect(path.basename(file)).toMatch(/^\.config\.ona-recovered-/)
    expect(await readFile(file, 'utf8')).toBe('Host late\n  Port 2203\n')
    const info = await stat(file)
    expect({uid: info.uid, gid: info.gid, mode: (info.mode & 0o777).toString(8)}).toEqual({uid: 4242, gid: 4343, mode: '600'})
  })
})
