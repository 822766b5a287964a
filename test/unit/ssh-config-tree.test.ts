import {mkdir, mkdtemp, rm, writeFile} from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'

import {afterEach, beforeEach, describe, expect, it} from 'vitest'

import {scopeApplies} from '../../src/lib/ssh-config/overrides.js'
import {MAX_INCLUDE_DEPTH, glob, globComponentRegExp, includeLineFor, readConfigTree} from '../../src/lib/ssh-config/tree.js'

let home: string
beforeEach(async () => {
  home = await mkdtemp(path.join(os.tmpdir(), 'ona-tree-unit-'))
  await mkdir(path.join(home, '.ssh', 'conf.d'), {recursive: true})
})
afterEach(async () => {
  await rm(home, {recursive: true, force: true})
})

const files = (tree: Awaited<ReturnType<typeof readConfigTree>>) => tree.files.map((f) => path.relative(home, f.path))

describe('readConfigTree follows Include as readconf.c does', () => {
  it('`~user/...` is that user\'s home in the (injected) password database; an unknown user matches nothing and is named file:line', async () => {
    const alice = path.join(home, 'alice-home')
    await mkdir(path.join(alice, 'ssh'), {recursive: true})
    await writeFile(path.join(alice, 'ssh', 'one'), '# one\n')
    await writeFile(path.join(home, '.ssh', 'config'), 'Include ~alice/ssh/*\nInclude ~nobody-here/x ~alice\n')
    const asked: string[] = []
    const userHome = (name: string) => (asked.push(name), name === 'alice' ? alice : undefined)
    const tree = await readConfigTree({home, systemConfig: null, userHome})
    expect(files(tree)).toEqual(['.ssh/config', 'alice-home/ssh/one'])
    expect(asked).toEqual(['alice', 'nobody-here', 'alice'])
    const config = path.join(home, '.ssh', 'config')
    expect(tree.problems).toEqual([`${config}:2: Include ~nobody-here/x: there is no user "nobody-here", so ssh reads nothing for it ("matched no files")`])
  })

  it('relative paths live in ~/.ssh, `~/` is the home, several arguments and globs in byte order', async () => {
    await writeFile(path.join(home, '.ssh', 'config'), 'Include conf.d/* ~/extra "conf.d/with space"\nHost x\n')
    for (const name of ['b', 'a', 'B', '.dot', 'with space']) await writeFile(path.join(home, '.ssh', 'conf.d', name), `# ${name}\n`)
    await writeFile(path.join(home, 'extra'), '# extra\n')
    const tree = await readConfigTree({home, systemConfig: null})
    expect(files(tree)).toEqual(['.ssh/config', '.ssh/conf.d/B', '.ssh/conf.d/a', '.ssh/conf.d/b', '.ssh/conf.d/with space', 'extra', '.ssh/conf.d/with space'])
  })

  it('an included file inherits the Include line\'s section, and its own sections narrow it', async () => {
    await writeFile(path.join(home, '.ssh', 'config'), 'Host *.corp\n  Include conf.d/inner\nHost other\n  User o\n')
    await writeFile(path.join(home, '.ssh', 'conf.d', 'inner'), 'User first\nHost a.corp\n  Port 2\n')
    const tree = await readConfigTree({home, systemConfig: null})
    const byContent = new Map(tree.lines.map((l) => [l.content.trim(), l]))
    expect(scopeApplies(byContent.get('User first')!.scope, 'b.corp')).toBe('yes')
    expect(scopeApplies(byContent.get('User first')!.scope, 'b.home')).toBe('no')
    expect(scopeApplies(byContent.get('Port 2')!.scope, 'a.corp')).toBe('yes')
    expect(scopeApplies(byContent.get('Port 2')!.scope, 'b.corp')).toBe('no')
    // The included file's Host does not leak back into the including file.
    expect(byContent.get('User o')!.scope.map((s) => s.text)).toEqual(['Host other'])
  })

  it(`more than ${MAX_INCLUDE_DEPTH} levels (a file that includes itself) stops with ssh's own complaint`, async () => {
    await writeFile(path.join(home, '.ssh', 'config'), 'Include config\n')
    const tree = await readConfigTree({home, systemConfig: null})
    expect(tree.files).toHaveLength(MAX_INCLUDE_DEPTH + 1)
    expect(tree.problems[0]).toMatch(/more than 16 levels of Include.*Too many recursive configuration includes/)
  })

  it('the system config is read after the user config; `~` there is refused as ssh refuses it', async () => {
    const system = path.join(home, 'ssh_config')
    await writeFile(system, 'Include ~/x\nHost *\n  User sys\n')
    await writeFile(path.join(home, '.ssh', 'config'), 'Host y\n')
    const tree = await readConfigTree({home, systemConfig: system})
    expect(files(tree)).toEqual(['.ssh/config', 'ssh_config'])
    expect(tree.files[1]!.system).toBe(true)
    expect(tree.problems).toEqual([`${system}:1: bad include path ~/x (\`~\` is not allowed in the system config)`])
  })

  it('missing files and patterns matching nothing are skipped silently, like ssh', async () => {
    await writeFile(path.join(home, '.ssh', 'config'), 'Include nothing-here/* missing\n')
    const tree = await readConfigTree({home, systemConfig: null})
    expect(files(tree)).toEqual(['.ssh/config'])
    expect(tree.problems).toEqual([])
  })
})

describe('glob', () => {
  it.each([
    ['*', 'abc', true],
    ['*', '.abc', true],
    ['a?c', 'abc', true],
    ['[ab]x', 'bx', true],
    ['[!ab]x', 'bx', false],
    ['*.conf', 'x.conf', true],
    ['*.conf', 'x.conf~', false],
  ])('component %s against %s: %s', (pattern, name, expected) => {
    expect(globComponentRegExp(pattern).test(name)).toBe(expected)
  })

  it('wildcards do not match dotfiles unless the pattern starts with a dot', async () => {
    await writeFile(path.join(home, '.ssh', 'conf.d', '.lock'), '')
    await writeFile(path.join(home, '.ssh', 'conf.d', 'ona'), '')
    expect(await glob(path.join(home, '.ssh', 'conf.d', '*'))).toEqual([path.join(home, '.ssh', 'conf.d', 'ona')])
    expect(await glob(path.join(home, '.ssh', 'conf.d', '.*'))).toEqual([path.join(home, '.ssh', 'conf.d', '.lock')])
    expect(await glob(path.join(home, '*', 'conf.d', 'ona'))).toEqual([])
    expect(await glob(path.join(home, '.s*', 'conf.d', 'ona'))).toEqual([path.join(home, '.ssh', 'conf.d', 'ona')])
  })
})

describe('includeLineFor gives the line to add to ~/.ssh/config', () => {
  it.each([
    ['/home/u/.ssh/config.d/ona', 'Include config.d/ona'],
    ['/home/u/dotfiles/ona', 'Include ~/dotfiles/ona'],
    ['/etc/ona/ssh', 'Include /etc/ona/ssh'],
    ['/home/u/my files/ona', 'Include "~/my files/ona"'],
  ])('%s', (file, line) => {
    expect(includeLineFor(file, '/home/u')).toBe(line)
  })
})
