/**
 * Every real config of the shared corpus survives the block engine: bytes outside the block unchanged,
 * every pre-existing concrete host resolves exactly as before under the real `ssh -G`, the aliases resolve
 * to the API's values (or the engine warned about the user line that wins), a second run writes nothing and
 * removal restores the original bytes.
 */
import {copyFile, mkdtemp, readFile, rm, stat} from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'

import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {removeBlockFromFile, syncBlockInFile} from '../../src/lib/ssh-config/config-file.js'
import {findBlock} from '../../src/lib/ssh-config/index.js'
import {parseDirective, splitLines} from '../../src/lib/ssh-config/scan.js'
import {corpusAvailable, corpusFiles, corpusSkipReason} from '../helpers/corpus.js'
import {mapLimit} from '../helpers/map-limit.js'
import {sshG, type SshGResult} from '../helpers/ssh.js'

const environments = [
  {id: '0199ec15-59d3-7e92-8e22-8cb6c7ba4df7', host: '18.197.143.102', port: 22, user: 'gitpod_devcontainer'},
  {id: '0199ec15-aaaa-7e92-8e22-8cb6c7ba4df8', host: 'ip-10-0-1-5.eu-central-1.compute.internal', port: 2222, user: 'dev'},
  {id: 'ws-ipv6', host: '2001:db8::15', port: 22022, user: 'gitpod'},
]

/** Host patterns a user wrote that name one concrete host (no wildcard, no negation). */
function concreteHosts(text: string): string[] {
  const hosts = new Set<string>()
  for (const line of splitLines(text)) {
    const directive = parseDirective(line.content)
    if (directive?.keyword !== 'host') continue
    for (const pattern of directive.args) if (pattern !== '' && !/[*?!]/.test(pattern)) hosts.add(pattern.toLowerCase())
  }
  return [...hosts]
}

/** ssh's errors carry line numbers, which the block shifts; compare them without. */
function comparable(r: SshGResult): string {
  return r.code === 0 ? r.raw : `exit ${r.code}: ${r.stderr.replace(/line \d+/g, 'line N')}`
}

if (!corpusAvailable) console.warn(corpusSkipReason)

describe.skipIf(!corpusAvailable)('shared corpus of real SSH configs', () => {
  let dir: string
  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'ona-corpus-'))
  })
  afterAll(async () => {
    await rm(dir, {recursive: true, force: true})
  })

  it.each(corpusFiles().map((file) => [path.basename(file), file]))('%s', async (name, source) => {
    const file = path.join(dir, name)
    await copyFile(source, file)
    const original = await readFile(file)
    const hosts = concreteHosts(original.toString('latin1'))
    // Files with options this OpenSSH does not know (macOS UseKeychain...) are resolved ignoring them.
    const probe = await sshG(file, 'example-host')
    const extra = probe.code === 0 ? [] : ['-o', 'IgnoreUnknown=*']
    const before = await mapLimit(hosts, 4, (host) => sshG(file, host, extra))

    const result = await syncBlockInFile(file, environments, {backup: false})
    expect(result.file.written).toBe(true)
    const after = await readFile(file)
    const afterText = after.toString('latin1')
    const location = findBlock(afterText)!
    expect(original.toString('latin1').startsWith(afterText.slice(0, location.start))).toBe(true)
    expect(original.toString('latin1').endsWith(afterText.slice(location.end))).toBe(true)

    const afterResolved = await mapLimit(hosts, 4, (host) => sshG(file, host, extra))
    for (const [i, host] of hosts.entries()) {
      expect(comparable(afterResolved[i]!), `ssh -G ${host}`).toBe(comparable(before[i]!))
    }

    const overrides = result.warnings.filter((w) => w.code === 'W_OVERRIDE' || w.code === 'W_ALIAS_CLAIMED')
    for (const env of result.written) {
      for (const alias of [env.environmentAlias, env.remoteAlias]) {
        const resolved = await sshG(file, alias, extra)
        if (resolved.code !== 0) {
          // The user's file is broken for this OpenSSH beyond unknown options: nothing resolves, before or after.
          expect(probe.code).not.toBe(0)
          continue
        }
        const expected: Array<[string, string, string]> = [
          ['hostname', 'HostName', env.host],
          ['user', 'User', env.user],
          ['port', 'Port', String(env.port)],
          ['hostkeyalias', 'HostKeyAlias', env.environmentAlias],
        ]
        for (const [key, keyword, value] of expected) {
          const warned = overrides.some((w) => w.message.includes(`managed ${keyword} `))
          if (warned) continue
          expect(resolved.get(key), `${alias} ${key}`).toBe(value)
        }
      }
    }

    const {ino, mtimeMs} = await stat(file)
    const again = await syncBlockInFile(file, [...environments].reverse(), {backup: false})
    expect(again.file.written).toBe(false)
    const after2 = await stat(file)
    expect([after2.ino, after2.mtimeMs]).toEqual([ino, mtimeMs])

    await removeBlockFromFile(file)
    expect((await readFile(file)).equals(original)).toBe(true)
  })
})
