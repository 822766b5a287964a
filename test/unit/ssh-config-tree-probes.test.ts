/**
 * What a tree read looked at (tree-probes.ts) tells, without reading again, whether ssh would read the same:
 * every kind of change that can alter what ssh reads makes probesHold false.
 */
import {link, mkdir, mkdtemp, rm, symlink, unlink, writeFile} from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'

import {afterEach, beforeEach, describe, expect, it} from 'vitest'

import {readConfigTree} from '../../src/lib/ssh-config/tree.js'
import {outsideReferences, probesHold, RACY_MS, type TreeProbe} from '../../src/lib/ssh-config/tree-probes.js'

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

  it('a ${NAME} or a ~user in any line\'s value: its value, or that user\'s home, is part of what must hold', async () => {
    await writeFile(path.join(ssh, 'config'), 'Host *\n  IdentityFile ~bob/.ssh/id\n  UserKnownHostsFile ${KH} ${KH}\n')
    const homes = new Map([['bob', '/home/bob']])
    const probes: TreeProbe[] = []
    await readConfigTree({home, systemConfig: null, probes, env: {KH: '/dev/null'}, userHome: (name) => homes.get(name)})
    expect(probes.filter((p) => p.kind === 'env' || p.kind === 'user')).toEqual([
      {kind: 'user', name: 'bob', home: '/home/bob'},
      {kind: 'env', name: 'KH', value: '/dev/null'},
    ])
    const lookup = (name: string) => homes.get(name)
    expect(probesHold(probes, lookup, {KH: '/dev/null'})).toBe(true)
    expect(probesHold(probes, lookup, {KH: '/tmp/known'})).toBe(false)
    expect(probesHold(probes, lookup, {})).toBe(false)
    homes.set('bob', '/srv/bob')
    expect(probesHold(probes, lookup, {KH: '/dev/null'})).toBe(false)
  })

  it('outsideReferences finds every ${NAME} and a leading ~user, not ~/ or a ~ later in the value', () => {
    expect(outsideReferences(['${A}/x${B_2}', '~carol/k', '~/k', 'a~dave', '${}'])).toEqual({env: ['A', 'B_2', ''], users: ['carol']})
  })

  it('marks a file or a listed directory changed within RACY_MS of the probe as racy, and not one changed long before', async () => {
    await writeFile(path.join(ssh, 'config'), 'Include conf.d/*\n')
    await writeFile(path.join(ssh, 'conf.d', 'one'), 'User x\n')
    const fresh = await probe()
    expect(fresh.filter((p) => (p.kind === 'file' || p.kind === 'dir') && p.racy).length).toBeGreaterThan(0)
    // The test is on ctime, which cannot be set back (setting mtime moves it): wait it out.
    await new Promise((resolve) => setTimeout(resolve, RACY_MS + 100))
    const later = await probe()
    expect(later.filter((p) => p.kind === 'file' && p.path.endsWith('one'))[0]).not.toHaveProperty('racy')
    expect(later.filter((p) => p.kind === 'dir')[0]).not.toHaveProperty('racy')
  })
})
