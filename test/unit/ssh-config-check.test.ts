/**
 * The pre-write check of the rendered block (config-file.ts checkRenderedBlock): a strict scanner of the
 * lines ona writes. It must pass every block the renderer makes and stop every block that ssh would read as
 * something else (named injection cases), whatever an earlier validation step let through.
 */
import fc from 'fast-check'
import SSHConfig from 'ssh-config'
import {describe, expect, it} from 'vitest'

import {renderBlockLines} from '../../src/lib/ssh-config/block.js'
import {checkRenderedBlock} from '../../src/lib/ssh-config/config-file.js'
import type {EntryOptions} from '../../src/lib/ssh-config/entry.js'
import {validateEnvironments} from '../../src/lib/ssh-config/validate.js'

const {valid: ENVS} = validateEnvironments([
  {id: '0199ec15-59d3-7e92-8e22-8cb6c7ba4df7', host: '127.0.0.11', port: 2222, user: 'gitpod_devcontainer'},
  {id: 'b', host: 'env-b.example.com', port: 22, user: 'dev'},
])
const OPTIONS: EntryOptions = {
  identityFile: '/home/a b/.config/ona/id_ed25519',
  proxyCommand: {node: '/usr/bin/node', script: '/opt/ona/bin/run.js', apiUrl: 'https://app.ona.com/api', sshConfig: '/home/a/.ssh/config'},
}

describe('checkRenderedBlock', () => {
  it('passes what the renderer writes, with and without per-entry options', () => {
    expect(() => checkRenderedBlock(renderBlockLines(ENVS), ENVS)).not.toThrow()
    expect(() => checkRenderedBlock(renderBlockLines(ENVS, OPTIONS), ENVS, OPTIONS)).not.toThrow()
    expect(() => checkRenderedBlock(renderBlockLines([]), [])).not.toThrow()
  })

  it('passes every block the renderer makes of valid environments, as the ssh-config parser reads them', () => {
    const environment = fc.record({
      id: fc.stringMatching(/^[a-z0-9][a-z0-9-]{0,20}$/),
      host: fc.ipV4(),
      port: fc.integer({min: 1, max: 65535}),
      user: fc.stringMatching(/^[a-z_][a-z0-9_-]{0,10}$/),
    })
    fc.assert(
      fc.property(fc.array(environment, {maxLength: 8}), fc.boolean(), (raw, withOptions) => {
        const {valid} = validateEnvironments(raw)
        const options = withOptions ? OPTIONS : {}
        const lines = renderBlockLines(valid, options)
        expect(() => checkRenderedBlock(lines, valid, options)).not.toThrow()
        // The general parser agrees on what the block holds: one Host entry per environment.
        expect(SSHConfig.parse(lines.join('\n')).filter((l) => l.type === SSHConfig.DIRECTIVE)).toHaveLength(valid.length)
      }),
      {numRuns: 200},
    )
  })

  const rendered = () => renderBlockLines(ENVS, OPTIONS)
  const at = (lines: string[], needle: string) => lines.findIndex((l) => l.includes(needle))
  it.each<[string, (lines: string[]) => string[], RegExp]>([
    ['a HostName carrying a second directive', (l) => l.map((x) => x.replace('HostName 127.0.0.11', 'HostName 127.0.0.11\nProxyCommand sh')), /not a Host entry|does not write/],
    ['an extra directive line', (l) => [...l.slice(0, 3), '  PermitLocalCommand yes', ...l.slice(3)], /unexpected values/],
    ['a directive indented with a tab', (l) => l.map((x) => x.replace('  User dev', '\tUser dev')), /not a Host entry/],
    ['`=` between keyword and value', (l) => l.map((x) => x.replace('  Port 22', '  Port=22')), /not a Host entry/],
    ['a value line given twice', (l) => [...l.slice(0, 3), l[2]!, ...l.slice(3)], /twice/],
    ['a missing value line', (l) => l.filter((x) => !x.startsWith('  Port 2222')), /unexpected values/],
    ['a third Host pattern', (l) => l.map((x) => (x.startsWith('Host b.') ? `${x} *` : x)), /unexpected Host patterns/],
    ['a Host entry of an alias that is not ona\'s', (l) => [...l.slice(0, -1), 'Host github.com', '  User git', l.at(-1)!], /unexpected Host patterns/],
    ['a Host entry given twice', (l) => {
      const i = at(l, 'Host b.')
      return [...l.slice(0, -1), ...l.slice(i, -1), l.at(-1)!]
    }, /two Host entries/],
    ['a lowercase host line (ssh reads it, ona never writes it)', (l) => l.map((x) => x.replace(/^Host b\./, 'host b.')), /not a Host entry/],
    ['a value with a shell character', (l) => l.map((x) => x.replace('/opt/ona/bin/run.js', '/opt/ona/bin/run.js;id')), /does not write/],
    ['a quote that does not close', (l) => l.map((x) => x.replace('"/home/a b/.config/ona/id_ed25519"', '"/home/a b/.config/ona/id_ed25519')), /does not write/],
    ['two blanks inside a value', (l) => l.map((x) => x.replace('ssh-proxy ', 'ssh-proxy  ')), /does not write/],
    ['a multi-valued HostName', (l) => l.map((x) => x.replace('HostName env-b.example.com', 'HostName env-b.example.com other')), /multi-valued/],
    ['a value before any Host line', (l) => [l[0]!, '  User root', ...l.slice(1)], /before the first Host/],
  ])('stops %s', (_name, edit, message) => {
    expect(() => checkRenderedBlock(edit(rendered()), ENVS, OPTIONS)).toThrow(message)
  })
})
