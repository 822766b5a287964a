/**
 * What a tree read looked at (tree-probes.ts) tells, without reading again, whether ssh would read the same:
 * every kind of change that can alter what ssh reads makes probesHold false.
 */
import {link, mkdir, mkdtemp, rm, symlink, unlink, writeFile} from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'

import {afterEach, beforeEach, describe, expect, it} from 'vitest'

import {readConfigTree} from '../../src/lib/ssh-config/tree.js'
import {probesHold, type TreeProbe} from '../../src/lib/ssh-config/tree-probes.js'

let home: string
let ssh: string
beforeEach(async () => {
  home = await mkdtemp(path.join(os.tmpdir(), 'ona-probes-'))
  ssh = path.join(home, '.ssh')
  await mkdir(path.join(ssh, 'conf.d'), {recursive: true})
})
afterEach(async () => {
  await rm(home, {recursive: true, force: true})
})

/** Later than any timestamp the last write could have had on a file system with coarse (jiffy) times. */
const tick = () => new Promise((resolve) => setTimeout(resolve, 25))

async function probe(userHome?: (name: string) => string | undefined): Promise<TreeProbe[]> {
  const probes: TreeProbe[] = []
  await readConfigTree({home, systemConfig: null, probes, ...(userHome ? {userHome} : {})})
  return probes
}

describe('probesHold', () => {
  it('holds while nothing changed, and not after a rewrite of the same size', async () => {
    await writeFile(path.join(ssh, 'config'), 'Include conf.d/*\nHost a\n')
    await writeFile(path.join(ssh, 'conf.d', 'one'), 'User x\n')
    const probes = await probe()
    expect(probes.map((p) => p.kind)).toEqual(['file', 'dir', 'exists', 'file'])
    expect(probesHold(probes)).toBe(true)
    await tick()
    await writeFile(path.join(ssh, 'conf.d', 'one'), 'User y\n')
    expect(probesHold(probes)).toBe(false)
  })

  it('a file added to or removed from a directory a glob listed', async () => {
    await writeFile(path.join(ssh, 'config'), 'Include conf.d/*.conf\n')
    await writeFile(path.join(ssh, 'conf.d', 'a.conf'), 'User x\n')
    let probes = await probe()
    await writeFile(path.join(ssh, 'conf.d', 'b.conf'), 'User y\n')
    expect(probesHold(probes)).toBe(false)
    probes = await probe()
    await unlink(path.join(ssh, 'conf.d', 'a.conf'))
    expect(probesHold(probes)).toBe(false)
  })

  it('a literal Include path that appears, or a glob directory that appears', async () => {
    await writeFile(path.join(ssh, 'config'), 'Include later\nInclude ~/nodir/*\n')
    const probes = await probe()
    expect(probesHold(probes)).toBe(true)
    await writeFile(path.join(ssh, 'later'), 'User x\n')
    expect(probesHold(probes)).toBe(false)
    const again = await probe()
    await mkdir(path.join(home, 'nodir'))
    expect(probesHold(again)).toBe(false)
  })

  it('a symlink pointed elsewhere, even at another name of the same file (a hard link: same identity, another path)', async () => {
    await writeFile(path.join(home, 'one'), 'User x\n')
    await link(path.join(home, 'one'), path.join(home, 'two'))
    await symlink(path.join(home, 'one'), path.join(ssh, 'linked'))
    await writeFile(path.join(ssh, 'config'), 'Include linked\n')
    const probes = await probe()
    await unlink(path.join(ssh, 'linked'))
    await symlink(path.join(home, 'two'), path.join(ssh, 'linked'))
    expect(probesHold(probes)).toBe(false)
  })

  it('a `~user` whose home the password database now gives differently', async () => {
    await writeFile(path.join(ssh, 'config'), 'Include ~alice/x\n')
    let aliceHome: string | undefined = path.join(home, 'alice')
    const probes = await probe(() => aliceHome)
    expect(probesHold(probes, () => aliceHome)).toBe(true)
    aliceHome = undefined
    expect(probesHold(probes, () => aliceHome)).toBe(false)
  })

  it('a text given for a file (the managed one) is not stat-ed, but its path must still resolve the same', async () => {
    const config = path.join(ssh, 'config')
    await writeFile(config, 'Host a\n')
    const probes: TreeProbe[] = []
    await readConfigTree({home, systemConfig: null, probes, texts: new Map([[config, 'Host b\n']])})
    expect(probes).toEqual([{kind: 'file', path: config, real: config, id: 'text'}])
    await tick()
    await writeFile(config, 'Host c\n')
    expect(probesHold(probes)).toBe(true)
    await unlink(config)
    expect(probesHold(probes)).toBe(false)
  })
})
