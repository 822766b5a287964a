import {describe, expect, it} from 'vitest'

import {OnaError} from '../../src/lib/errors.js'
import {BEGIN_MARKER, END_MARKER, applyBlock, findBlock, readBlockEnvironments, removeManagedBlock} from '../../src/lib/ssh-config/index.js'
import {parseBlock} from '../../src/lib/ssh-config/block.js'
import {splitLines, parseDirective} from '../../src/lib/ssh-config/scan.js'
import {validateEnvironments} from '../../src/lib/ssh-config/validate.js'

const env = (id: string, host = '10.0.0.1', port = 22, user = 'gitpod_devcontainer') => ({id, host, port, user})

const block = (...lines: string[]) => [BEGIN_MARKER, ...lines, END_MARKER]
const hostLines = (id: string, host = '10.0.0.1', port = 22, user = 'gitpod_devcontainer') => [
  `Host ${id}.gitpod.environment ${id}.gitpod.remote`,
  `  HostName ${host}`,
  `  User ${user}`,
  `  Port ${port}`,
  `  HostKeyAlias ${id}.gitpod.environment`,
]

describe('applyBlock placement (sshConfigSplitOnOnaSection)', () => {
  it.each([
    ['empty file', '', block(...hostLines('a')).join('\n') + '\n'],
    ['global lines only: block appended', 'ServerAliveInterval 60\n', 'ServerAliveInterval 60\n' + block(...hostLines('a')).join('\n') + '\n'],
    ['before the first Host, after global lines', 'Compression yes\n\nHost x\n  HostName y\n', 'Compression yes\n\n' + block(...hostLines('a')).join('\n') + '\nHost x\n  HostName y\n'],
    ['before a first Match, not inside it', '# hi\nMatch host z\n  User q\nHost x\n', '# hi\n' + block(...hostLines('a')).join('\n') + '\nMatch host z\n  User q\nHost x\n'],
    ['Host= form and indentation count as a section', '  host=x\n', block(...hostLines('a')).join('\n') + '\n  host=x\n'],
    ['HostName at top level is not a section', 'HostName foo\n', 'HostName foo\n' + block(...hostLines('a')).join('\n') + '\n'],
    ['no trailing newline: block gets none either', 'User me', 'User me\n' + block(...hostLines('a')).join('\n')],
    ['CRLF file: block uses CRLF', 'Host x\r\n  Port 2\r\n', block(...hostLines('a')).join('\r\n') + '\r\nHost x\r\n  Port 2\r\n'],
  ])('%s', (_name, input, expected) => {
    const result = applyBlock(input, [env('a')])
    expect(result.text).toBe(expected)
    expect(removeManagedBlock(result.text).text).toBe(input)
  })

  it('replaces an existing block where the user moved it, keeping everything around it', () => {
    const original = 'Host first\n  Port 1\n' + block(...hostLines('old')).join('\n') + '\n# after\n'
    const result = applyBlock(original, [env('new', '10.9.9.9')])
    expect(result.text).toBe('Host first\n  Port 1\n' + block(...hostLines('new', '10.9.9.9')).join('\n') + '\n# after\n')
  })

  it('renders sorted, deterministic output whatever the input order', () => {
    const a = applyBlock('', [env('b'), env('a'), env('c')]).text
    const b = applyBlock('', [env('c'), env('b'), env('a')]).text
    expect(a).toBe(b)
    expect(a.indexOf('Host a.')).toBeLessThan(a.indexOf('Host b.'))
    expect(a.indexOf('Host b.')).toBeLessThan(a.indexOf('Host c.'))
  })

  it('a second run with the same input changes nothing', () => {
    const first = applyBlock('Host x\n', [env('a'), env('b')])
    const second = applyBlock(first.text, [env('b'), env('a')])
    expect(second.changed).toBe(false)
    expect(second.text).toBe(first.text)
  })

  it('finds marker lines after trimming whitespace (editors reindent)', () => {
    const text = `  ${BEGIN_MARKER}  \n${hostLines('a').join('\n')}\n\t${END_MARKER}\n`
    expect(findBlock(text)).toMatchObject({beginLine: 1, endLine: 7})
    expect(applyBlock(text, [env('a')]).text.split('\n')[0]).toBe(BEGIN_MARKER)
  })

  it('an empty environment list still leaves one (empty) block, so its place is kept', () => {
    const withBlock = applyBlock('Host x\n', [env('a')]).text
    const emptied = applyBlock(withBlock, [])
    expect(emptied.text).toBe(`${BEGIN_MARKER}\n${END_MARKER}\nHost x\n`)
  })

  it('reads back the environments it wrote', () => {
    const text = applyBlock('', [env('b', 'h.example.com', 2222, 'u1'), env('a', '10.1.2.3', 22, 'u2')]).text
    expect(readBlockEnvironments(text)).toEqual([env('a', '10.1.2.3', 22, 'u2'), env('b', 'h.example.com', 2222, 'u1')])
  })
})

describe('malformed markers are refused and name the line', () => {
  it.each([
    ['BEGIN without END', `Host x\n${BEGIN_MARKER}\nHost y\n`, /line 2\) without an END/],
    ['END without BEGIN', `Host x\n${END_MARKER}\n`, /line 2\) without a BEGIN/],
    ['END before BEGIN', `${END_MARKER}\nHost x\n${BEGIN_MARKER}\n`, /END ona ssh-sync marker \(line 1\) before the BEGIN marker \(line 3\)/],
    ['two blocks', `${block().join('\n')}\nHost x\n${block().join('\n')}\n`, /2 BEGIN ona ssh-sync markers \(lines 1, 4\)/],
  ])('%s', (_name, text, message) => {
    let caught: unknown
    try {
      applyBlock(text, [env('a')], {file: '/home/u/.ssh/config'})
    } catch (error) {
      caught = error
    }
    expect(caught).toBeInstanceOf(OnaError)
    expect((caught as OnaError).code).toBe('ERR_SSH_CONFIG_MARKERS')
    expect((caught as OnaError).message).toMatch(message)
    expect((caught as OnaError).message).toContain('/home/u/.ssh/config')
    expect(() => removeManagedBlock(text)).toThrow(OnaError)
  })

  it('a UTF-8 byte-order mark is refused with a message that says OpenSSH rejects it', () => {
    const bom = '\u00EF\u00BB\u00BFHost x\n'
    expect(() => applyBlock(bom, [env('a')])).toThrow(/byte-order mark, which OpenSSH rejects/)
  })
})

describe('validation keeps API values from becoming directives', () => {
  it.each([
    ['newline in host', env('a', '1.2.3.4\n  ProxyCommand sh -c evil')],
    ['CR in host', env('a', '1.2.3.4\rProxyCommand x')],
    ['space in host', env('a', '1.2.3.4 evil')],
    ['percent in host', env('a', 'host%x')],
    ['IPv6 zone id (percent)', env('a', 'fe80::1%eth0')],
    ['quote in host', env('a', '"1.2.3.4"')],
    ['hash in host', env('a', '1.2.3.4#x')],
    ['bad IPv4', env('a', '999.1.1.1')],
    ['label too long', env('a', `${'x'.repeat(64)}.com`)],
    ['newline in id', env('a\nHost *')],
    ['star in id', env('ws1 *')],
    ['quote in id', env('a"b')],
    ['leading dash in id', env('-oProxyCommand=x')],
    ['comma in id', env('a,b')],
    ['bang in id', env('!a')],
    ['question mark in id', env('a?')],
    ['NUL in id', env('a\u0000b')],
    ['equals in user', env('a', '1.2.3.4', 22, 'u=x')],
    ['space in user', env('a', '1.2.3.4', 22, 'u x')],
    ['leading dash in user', env('a', '1.2.3.4', 22, '-lroot')],
    ['port 0', env('a', '1.2.3.4', 0)],
    ['port 65536', env('a', '1.2.3.4', 65_536)],
    ['fractional port', env('a', '1.2.3.4', 22.5)],
  ])('%s is skipped with a warning naming it', (_name, bad) => {
    const result = applyBlock('Host github.com\n  User git\n', [bad, env('good')])
    expect(result.written.map((e) => e.id)).toEqual(['good'])
    expect(result.skipped).toHaveLength(1)
    expect(result.warnings.find((w) => w.code === 'W_SKIPPED')?.message).toContain(JSON.stringify(bad.id))
    // Nothing of the bad value reaches the file.
    const block = result.text.slice(0, result.text.indexOf('Host github.com'))
    expect(block).not.toMatch(/evil|ProxyCommand|Host \*|%|"/)
    expect(block.split('\n').filter((l) => l.startsWith('Host '))).toHaveLength(1)
  })

  it('accepts IPv4, IPv6 and DNS names, and lowercases aliases because ssh lowercases the host it is given', () => {
    const {valid, rejected} = validateEnvironments([env('ABC-1', '2001:db8::1'), env('b.c', 'ip-10-0-0-1.eu-central-1.compute.internal'), env('d', '18.197.143.102')])
    expect(rejected).toEqual([])
    expect(valid.map((v) => v.environmentAlias)).toEqual(['abc-1.gitpod.environment', 'b.c.gitpod.environment', 'd.gitpod.environment'])
    expect(valid[0]!.id).toBe('ABC-1')
  })

  it('two ids that differ only in case keep the first and skip the second', () => {
    const {valid, rejected} = validateEnvironments([env('Abc'), env('abc')])
    expect(valid).toHaveLength(1)
    expect(rejected[0]!.reason).toMatch(/already uses the alias abc.gitpod.environment/)
  })
})

describe('overrides: the user lines that win over the block are named', () => {
  it.each([
    ['global User above the block', 'User root\nHost x\n', 1, /^`User root`, a global line .* overrides the managed User of every ona alias/],
    ['Host * above the block (user moved the block down)', `Host *\n  Port 2200\n${block().join('\n')}\n`, 2, /^`Port 2200`, under `Host \*` \(line 1\), overrides the managed Port/],
    ['Host *.gitpod.remote above the block', `Host *.gitpod.remote\n  HostName 1.1.1.1\n${block().join('\n')}\n`, 2, /overrides the managed HostName of a.gitpod.remote/],
    ['Match all above the block', `Match all\n  HostKeyAlias k\n${block().join('\n')}\n`, 2, /overrides the managed HostKeyAlias/],
    ['Match exec above the block: may', `Match exec "true"\n  User z\n${block().join('\n')}\n`, 2, /may override the managed User/],
  ])('%s', (_name, text, line, message) => {
    const result = applyBlock(text, [env('a')], {file: 'cfg'})
    const overrides = result.warnings.filter((w) => w.code === 'W_OVERRIDE')
    expect(overrides).toHaveLength(1)
    expect(overrides[0]).toMatchObject({file: 'cfg', line})
    expect(overrides[0]!.message).toMatch(message)
  })

  it.each([
    ['Host * after the block adds keys only', 'Host x\nHost *\n  User root\n'],
    ['a concrete host above the block', `Host x\n  User root\n${block().join('\n')}\n`],
    ['a negated pattern excludes the aliases', `Host * !*.gitpod.*\n  User root\n${block().join('\n')}\n`],
    ['Match host of another name', `Match host github.com\n  User git\n${block().join('\n')}\n`],
    ['a global value equal to the managed one', 'Port 22\nHost x\n'],
    ['unrelated keys above the block', `Host *\n  ServerAliveInterval 30\n  IdentityFile ~/.ssh/id\n${block().join('\n')}\n`],
  ])('no warning: %s', (_name, text) => {
    expect(applyBlock(text, [env('a')]).warnings).toEqual([])
  })

  it('a user Host entry claiming an alias is reported', () => {
    const result = applyBlock('Host x\nHost a.gitpod.environment\n  User me\n', [env('a')])
    expect(result.warnings).toHaveLength(1)
    expect(result.warnings[0]!.code).toBe('W_ALIAS_CLAIMED')
    expect(result.warnings[0]!.message).toMatch(/your own entry for a.gitpod.environment; it adds to the managed block/)
  })
})

describe('scanner', () => {
  it('splits lines losslessly, mixed endings included', () => {
    const text = 'a\r\nb\nc\r\n\nd'
    expect(splitLines(text).map((l) => l.content + l.eol).join('')).toBe(text)
  })

  it.each([
    ['Host a b # c', {keyword: 'host', args: ['a', 'b']}],
    ['  HostName=1.2.3.4', {keyword: 'hostname', args: ['1.2.3.4']}],
    ['Host "quoted name" x', {keyword: 'host', args: ['quoted name', 'x']}],
    ['IdentityFile ~/.ssh/my\\ key', {keyword: 'identityfile', args: ['~/.ssh/my key']}],
    ['# comment', undefined],
    ['   ', undefined],
    ['Host "unbalanced', undefined],
  ])('parses %j', (line, expected) => {
    expect(parseDirective(line)).toEqual(expected)
  })
})

describe('markers: any case and spacing is the same block; a damaged marker is an error, not a second block', () => {
  it.each([
    ['lowercased', '# begin ona ssh-sync', '# end ona ssh-sync'],
    ['uppercased with runs of blanks', '#   BEGIN   ONA\tSSH-SYNC: managed', '#END  ONA  SSH-SYNC'],
    ['surrounding whitespace', `\t  ${BEGIN_MARKER}   `, `   ${END_MARKER}\t`],
    ['double hash', `## BEGIN ona ssh-sync`, `## END ona ssh-sync`],
  ])('%s markers are recognised: the block is replaced, no second block is added', (_name, begin, end) => {
    const text = `Host x\n${begin}\n${hostLines('old').join('\n')}\n${end}\nHost y\n`
    const result = applyBlock(text, [env('new')])
    expect(result.text).toBe(`Host x\n${block(...hostLines('new')).join('\n')}\nHost y\n`)
    expect(readBlockEnvironments(text)).toEqual([env('old')])
  })

  it.each([
    ['a lost #', `BEGIN ona ssh-sync\n${hostLines('a').join('\n')}\n${END_MARKER}\n`, 1],
    ['ssh sync without the dash', `${BEGIN_MARKER}\n${hostLines('a').join('\n')}\n# END ona ssh sync\n`, 7],
    ['ona-ssh-sync', `# BEGIN ona-ssh-sync\n${hostLines('a').join('\n')}\n${END_MARKER}\n`, 1],
    ['words swapped', `Host x\n# ona ssh-sync END\n`, 2],
  ])('%s: ERR_SSH_CONFIG_MARKERS naming the line', (_name, text, line) => {
    let caught: unknown
    try {
      applyBlock(text, [env('a')], {file: 'cfg'})
    } catch (error) {
      caught = error
    }
    expect(caught).toBeInstanceOf(OnaError)
    expect((caught as OnaError).code).toBe('ERR_SSH_CONFIG_MARKERS')
    expect((caught as OnaError).message).toMatch(new RegExp(`^cfg line ${line} .* looks like a damaged ona marker`))
  })

  it('comments that merely mention ona are not markers', () => {
    const text = '# ona ssh-sync writes its block at the end of the globals\n# the end of ona ssh-sync? no\nHost x\n'
    expect(() => applyBlock(text, [env('a')])).not.toThrow()
  })
})

describe('the block holds only what ona wrote: foreign sections are moved out, never deleted, never read', () => {
  const foreign = ['Host mybox', '  HostName 192.0.2.50', '  User me']

  it('a user Host inside the block goes just above it with a warning, and is not read as an environment', () => {
    const text = `Host x\n${block(...hostLines('a', '10.0.0.1'), ...foreign, ...hostLines('b', '10.0.0.2')).join('\n')}\nHost y\n`
    // Before: HostName/User of mybox were grafted onto environment a.
    expect(readBlockEnvironments(text)).toEqual([env('a', '10.0.0.1'), env('b', '10.0.0.2')])
    const result = applyBlock(text, [env('a', '10.0.0.1'), env('b', '10.0.0.2')], {file: 'cfg'})
    expect(result.text).toBe(`Host x\n${foreign.join('\n')}\n${block(...hostLines('a', '10.0.0.1'), ...hostLines('b', '10.0.0.2')).join('\n')}\nHost y\n`)
    expect(result.warnings).toEqual([expect.objectContaining({code: 'W_FOREIGN_MOVED', file: 'cfg', line: 8})])
    expect(result.warnings[0]!.message).toMatch(/line 8 `Host mybox` was inside the ona block.*moved just above the block/)
  })

  it('a Match section, its comment, and directives before the first Host are moved too, in order', () => {
    const inside = ['User root', '# my jump hosts', 'Match host *.corp', '  ProxyJump bastion']
    const text = `${block(...inside, ...hostLines('a')).join('\n')}\n`
    const result = applyBlock(text, [env('a')])
    expect(result.text).toBe(`${inside.join('\n')}\n${block(...hostLines('a')).join('\n')}\n`)
    expect(result.warnings.filter((w) => w.code === 'W_FOREIGN_MOVED').map((w) => w.line)).toEqual([2, 4])
  })

  it('a Host line that only looks like ona\'s (one alias, other suffix, mismatched pair) is foreign', () => {
    for (const header of ['Host a.gitpod.environment', 'Host a.gitpod.environment b.gitpod.remote', 'Host a.gitpod.environment a.gitpod.remote extra']) {
      const text = `${block(header, '  HostName 192.0.2.1').join('\n')}\n`
      expect(readBlockEnvironments(text), header).toEqual([])
      expect(applyBlock(text, []).text, header).toBe(`${header}\n  HostName 192.0.2.1\n${block().join('\n')}\n`)
    }
  })

  it('--remove keeps a foreign section: it stays in the file where the block was', () => {
    const text = `Host x\n${block(...hostLines('a'), ...foreign).join('\n')}\n`
    expect(removeManagedBlock(text).text).toBe(`Host x\n${foreign.join('\n')}\n`)
  })
})

describe('a block written before installs had parts is shared out without loss (splitLegacy)', () => {
  const A = 'https://app.example.test'
  const B = 'https://ona.corp.test:8443'
  // An earlier ona's single block: install A's environment a1, install B's b1 (not told apart), B's b2 with
  // the resolve-on-connect ProxyCommand naming B's API, and gone, an environment deleted since.
  const proxy = (id: string, url: string) => `  ProxyCommand /usr/bin/node /opt/ona/bin/run.js ssh-proxy ${id} --api-url ${url} --ssh-config /home/u/.ssh/config`
  const legacy = `Host x\n${block(...hostLines('a1', '10.0.0.1'), ...hostLines('b1', '10.0.0.2'), ...hostLines('b2', '10.0.0.3'), proxy('b2', `${B}/api`), ...hostLines('gone', '10.0.0.9')).join('\n')}\n`
  const aliases = (text: string) => text.split('\n').filter((l) => l.startsWith('Host ') && l.includes('.gitpod.')).map((l) => l.split(' ')[1])
  const partOf = (text: string) => {
    const owner = new Map<string, string>()
    let origin = '(legacy)'
    for (const line of text.split('\n')) {
      if (line.startsWith('# ona origin ')) origin = line.slice('# ona origin '.length)
      else if (line.startsWith('Host ') && line.includes('.gitpod.')) owner.set(line.split(' ')[1]!.split('.')[0]!, origin)
    }
    return Object.fromEntries(owner)
  }

  it('the first install to sync claims only what it lists; the rest stays readable, unowned, with a warning naming it', () => {
    // Before: A's sync took the whole block, and b1, b2 and gone disappeared until B synced again.
    const result = applyBlock(legacy, [env('a1', '10.1.1.1')], {origin: A, listed: new Set(['a1'])})
    expect(partOf(result.text)).toEqual({b1: '(legacy)', gone: '(legacy)', a1: A, b2: B})
    expect(result.text).toContain(`${hostLines('b1', '10.0.0.2').join('\n')}\n`)
    expect(result.unclaimed).toEqual(['b1.gitpod.environment', 'gone.gitpod.environment'])
    const warning = result.warnings.find((w) => w.code === 'W_UNCLAIMED')
    expect(warning).toMatchObject({aliases: ['b1.gitpod.environment', 'gone.gitpod.environment']})
    expect(warning!.message).toMatch(/2 aliases in the block, written by an earlier ona.*kept unowned.*--remove --all/)
    // What A had before is what A's report starts from: its own, not B's.
    expect(readBlockEnvironments(legacy, {origin: A, listed: new Set(['a1'])})).toEqual([env('a1', '10.0.0.1')])
  })

  it('the second install claims the rest: everything owned, nothing duplicated; a deleted environment stays until --remove --all', () => {
    const afterA = applyBlock(legacy, [env('a1', '10.1.1.1')], {origin: A, listed: new Set(['a1'])}).text
    const afterB = applyBlock(afterA, [env('b1', '10.2.2.1'), env('b2', '10.2.2.2')], {origin: B, listed: new Set(['b1', 'b2'])})
    expect(partOf(afterB.text)).toEqual({gone: '(legacy)', a1: A, b1: B, b2: B})
    expect(aliases(afterB.text)).toHaveLength(new Set(aliases(afterB.text)).size)
    expect(afterB.unclaimed).toEqual(['gone.gitpod.environment'])
    // A's sync again changes nothing (the migration is stable).
    expect(applyBlock(afterB.text, [env('a1', '10.1.1.1')], {origin: A, listed: new Set(['a1'])}).changed).toBe(false)
    // --remove for A leaves B's and the unowned entry; --remove --all gives back the user's own text.
    const removedA = removeManagedBlock(afterB.text, {origin: A})
    expect(partOf(removedA.text)).toEqual({gone: '(legacy)', b1: B, b2: B})
    expect(removedA.unclaimed).toEqual(['gone.gitpod.environment'])
    expect(removeManagedBlock(afterB.text).text).toBe('Host x\n')
  })

  it('--remove before any install synced keeps what it cannot attribute, and takes what names its API', () => {
    const result = removeManagedBlock(legacy, {origin: B})
    expect(partOf(result.text)).toEqual({a1: '(legacy)', b1: '(legacy)', gone: '(legacy)'})
    expect(result.warnings.map((w) => w.code)).toEqual(['W_UNCLAIMED'])
  })

  it('regression: two sections for one origin are one part: a sync or --remove by another install keeps both', () => {
    const C = 'https://c.example.test'
    const text = `Host x\n${block(`# ona origin ${B}`, ...hostLines('b1', '10.0.0.2'), `# ona origin ${C}`, ...hostLines('c1', '10.0.0.4'), `# ona origin ${B}`, ...hostLines('b2', '10.0.0.3')).join('\n')}\n`
    // Before: the second B section replaced the first, and b1 was deleted by A's sync and by A's --remove.
    expect(partOf(applyBlock(text, [env('a1')], {origin: A}).text)).toEqual({a1: A, b1: B, b2: B, c1: C})
    expect(partOf(removeManagedBlock(text, {origin: A}).text)).toEqual({b1: B, b2: B, c1: C})
    // B's own sync sees both sections as its part: b2 gone from its listing goes, b1 stays, one B line.
    const synced = applyBlock(text, [env('b1', '10.0.0.2')], {origin: B}).text
    expect(partOf(synced)).toEqual({b1: B, c1: C})
    expect(synced.split('\n').filter((l) => l === `# ona origin ${B}`)).toHaveLength(1)
  })

  it('a hand-written origin line in another case is the same origin', () => {
    const text = `${block('# ona origin HTTPS://ONA.Corp.test:8443', ...hostLines('b1', '10.0.0.2')).join('\n')}\n`
    const result = applyBlock(text, [env('b1', '10.9.9.9')], {origin: B})
    expect(result.warnings.filter((w) => w.message.includes('already in the block'))).toEqual([])
    expect(partOf(result.text)).toEqual({b1: B})
    expect(result.text).toContain('HostName 10.9.9.9')
  })

  it('a legacy entry whose alias the install writes now is claimed even without a listing (no duplicate Host)', () => {
    const result = applyBlock(legacy, [env('b1', '10.2.2.1')], {origin: B})
    expect(aliases(result.text).filter((a) => a === 'b1.gitpod.environment')).toHaveLength(1)
    expect(partOf(result.text)).toMatchObject({b1: B, a1: '(legacy)'})
  })

  it('a legacy copy of an alias another install\'s part already holds is not kept as a second Host entry', () => {
    // A hand-merged block: b1 above the origin lines and again in B's part.
    const text = `${block(...hostLines('b1', '10.0.0.2'), `# ona origin ${B}`, ...hostLines('b1', '10.2.2.1')).join('\n')}\n`
    const result = applyBlock(text, [env('a1')], {origin: A, listed: new Set(['a1'])})
    expect(aliases(result.text).filter((a) => a === 'b1.gitpod.environment')).toHaveLength(1)
    expect(partOf(result.text)).toEqual({a1: A, b1: B})
    expect(result.text).toContain('HostName 10.2.2.1')
    expect(result.unclaimed).toEqual([])
  })

  it('without an origin (one install manages the whole block) the legacy entries are replaced as before', () => {
    expect(partOf(applyBlock(legacy, [env('a1')]).text)).toEqual({a1: '(legacy)'})
  })
})

describe('parseBlock keeps its last answer (a sync parses the same text several times)', () => {
  it('the same text gives the same parse, whatever file names it; another text is parsed again; an error is never kept', () => {
    const text = `Host x\n${block(...hostLines('a')).join('\n')}\n`
    const first = parseBlock(text, '/h/.ssh/config')!
    // Equal text read again from disk (another string), or named as another file: still the kept parse.
    expect(parseBlock(text.split('').join(''), '/h/.ssh/config')).toBe(first)
    expect(parseBlock(text, '/other/config')).toBe(first)
    const changed = parseBlock(text.replace('10.0.0.1', '10.0.0.2'), '/h/.ssh/config')!
    expect(changed).not.toBe(first)
    expect(changed.parts[0]!.entries[0]!.environment.host).toBe('10.0.0.2')
    expect(parseBlock(text)!.parts[0]!.entries[0]!.environment.host).toBe('10.0.0.1')
    // A malformed block is an error every time, naming the file it was asked for.
    const broken = `${BEGIN_MARKER}\nHost a\n`
    expect(() => parseBlock(broken, '/h/.ssh/config')).toThrow('/h/.ssh/config')
    expect(() => parseBlock(broken, '/other/config')).toThrow('/other/config')
  })

  it('what it keeps cannot be changed by a caller, so no caller can hand a change to the next one', () => {
    const text = `${block(...hostLines('a')).join('\n')}\n`
    const parsed = parseBlock(text)!
    const entry = parsed.parts[0]!.entries[0]!
    expect(() => {
      entry.environment.host = '10.9.9.9'
    }).toThrow(TypeError)
    expect(() => parsed.parts.push(parsed.parts[0]!)).toThrow(TypeError)
    expect(() => (entry.lines as string[]).sort()).toThrow(TypeError)
    expect(parseBlock(text)!.parts[0]!.entries[0]!.environment.host).toBe('10.0.0.1')
  })
})
