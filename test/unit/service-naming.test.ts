/**
 * Names per (API origin, SSH config), the marker each definition carries, and what an earlier ona's
 * single-name definition served: read from the definitions that version wrote (its golden files, kept in
 * test/golden/service/legacy/).
 */
import {readFileSync} from 'node:fs'
import path from 'node:path'

import {describe, expect, it} from 'vitest'

import {legacyCommand, markerText, parseMarker, serviceNames, serviceSuffix} from '../../src/lib/service/naming.js'

const legacy = (name: string) => readFileSync(path.resolve('test/golden/service/legacy', name), 'utf8')
const linux = {name: 'linux' as const, homedir: '/home/alice', env: {HOME: '/home/alice'}}

describe('service names', () => {
  it('the default API and ~/.ssh/config keep the plain names; every other pair gets a distinct, stable suffix', () => {
    const target = (origin: string, sshConfig = '/home/alice/.ssh/config') => ({apiUrl: `${origin}/api`, origin, sshConfig})
    expect(serviceSuffix(target('https://app.ona.com'), linux)).toBe('')
    expect(serviceNames('')).toEqual({systemd: 'ona-watch.service', launchd: 'dev.ona.watch', task: 'ona-watch'})
    const suffixes = [
      serviceSuffix(target('https://ona.example.com'), linux),
      serviceSuffix(target('https://ona.example.com:8443'), linux),
      serviceSuffix(target('https://app.ona.com', '/home/alice/.ssh/work'), linux),
      serviceSuffix(target('https://ona.example.com', '/home/alice/.ssh/work'), linux),
    ]
    expect(new Set(suffixes).size).toBe(4)
    expect(suffixes[0]).toMatch(/^-ona\.example\.com-[0-9a-f]{8}$/)
    expect(suffixes[1]).toMatch(/^-ona\.example\.com-8443-[0-9a-f]{8}$/)
    expect(suffixes[2]).toMatch(/^-work-[0-9a-f]{8}$/)
    expect(serviceSuffix(target('https://ona.example.com'), linux)).toBe(suffixes[0])
    for (const s of suffixes) expect(serviceNames(s).systemd).toMatch(/^[A-Za-z0-9:_.\\-]+\.service$/)
  })

  it('the marker round-trips, also through an XML comment (no "--")', () => {
    const target = {apiUrl: 'https://a--b.example/api', origin: 'https://a--b.example', sshConfig: '/home/al--ice/.ssh/config'}
    const text = markerText(target)
    expect(text).not.toContain('--')
    expect(parseMarker(`<!-- ${text} -->\r\n<plist>`)).toEqual(target)
    expect(parseMarker(`# ${text}\n[Unit]`)).toEqual(target)
    expect(parseMarker('# Written by `ona service install`\n[Unit]')).toBeUndefined()
  })
})

describe('definitions of an earlier ona (one name for every install)', () => {
  it.each([
    ['systemd', 'ona-watch.service', {ONA_API_URL: 'https://app.gitpod.io/api'}],
    ['launchd', 'dev.ona.watch.plist', {PATH: '/opt/node-v24/bin:/usr/bin:/bin:/usr/sbin:/sbin'}],
    ['task', 'ona-watch.xml', {}],
  ] as const)('%s: its environment and arguments are read back', (kind, file, env) => {
    const read = legacyCommand(kind, legacy(file))
    expect(read.env).toEqual(env)
    expect(read.args.slice(-3)).toEqual(['ssh-sync', '--watch', '--service'])
    expect(read.args).toContain('--lite-mode')
  })

  it('a --ssh-config and ONA_API_URL in the task\'s command line are read back', () => {
    const xml = legacy('ona-watch.xml').replace('&quot;--service&quot;', '&quot;--service&quot; &quot;--ssh-config&quot; &quot;C:\\Users\\alice\\.ssh\\ona&quot;').replace('/d /c "', '/d /c "set &quot;ONA_API_URL=https://ona.example.com/api&quot; &amp;&amp; ')
    const read = legacyCommand('task', xml)
    expect(read.env).toEqual({ONA_API_URL: 'https://ona.example.com/api'})
    expect(read.args.slice(-2)).toEqual(['--ssh-config', 'C:\\Users\\alice\\.ssh\\ona'])
  })
})
