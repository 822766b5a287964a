import {describe, expect, it} from 'vitest'

import {rewriteArgv} from '../../src/cli-argv.js'
import {commandNotFound, editDistance, looksSecret, printable, suggest} from '../../src/lib/cli/usage.js'
import {reflow} from '../../src/help.js'

describe('rewriteArgv: help and version spellings', () => {
  it.each([
    ['ona help', ['help'], ['--help']],
    ['ona help ssh-sync', ['help', 'ssh-sync'], ['ssh-sync', '--help']],
    ['ona help environment list', ['help', 'environment', 'list'], ['environment', 'list', '--help']],
    ['ona help x --json keeps --json', ['help', 'x', '--json'], ['x', '--help', '--json']],
    ['ona -h', ['-h'], ['--help']],
    ['ona ssh-sync -h', ['ssh-sync', '-h'], ['ssh-sync', '--help']],
    ['ona version', ['version'], ['--version']],
    ['-h after -- belongs to ssh', ['ssh', 'id', '--', '-h'], ['ssh', 'id', '--', '-h']],
    ['ordinary commands untouched', ['ssh-sync', '--dry-run'], ['ssh-sync', '--dry-run']],
    ['version with more words is not rewritten', ['version', 'x'], ['version', 'x']],
    ['version --json is the version command', ['version', '--json'], ['version', '--json']],
  ])('%s', (_, input, expected) => {
    expect(rewriteArgv(input)).toEqual(expected)
  })
})

describe('suggestions', () => {
  it.each([
    ['ssh-synk', 'ssh-sync'],
    ['whaomi', 'whoami'],
    ['loign', 'login'],
    ['prefligth', 'preflight'],
    ['sync', undefined],
    ['ona_pat_0123456789abcdef', undefined],
  ])('%s -> %s', (typed, expected) => {
    expect(suggest(typed, ['login', 'logout', 'whoami', 'ssh-sync', 'ssh', 'preflight'])).toBe(expected)
  })

  it('counts an adjacent swap as one edit', () => {
    expect(editDistance('ssh-snyc', 'ssh-sync')).toBe(1)
  })

  it('never prints a word that looks like a token', () => {
    const error = commandNotFound(['ghp_abcdefghijklmnop'], ['login', 'whoami'])
    expect(error.message).not.toContain('ghp_')
    expect(error.exitCode).toBe(2)
  })

  it.each([
    ['ona_pat_Zm9vYmFyYmF6cXV4MTIzNDU2Nzg5MA', true],
    ['ghp_abcdefghijklmnop', true],
    ['eyJhbGciOiJIUzI1NiJ9', true],
    ['Zm9vYmFyYmF6cXV4MTIzNDU2', true],
    ['a'.repeat(64), true],
    ['deploy-everything', false],
    ['sync', false],
    ['0199ec15-59d3-7e92-8e22-8cb6c7ba4df7', false],
    ['environments', false],
  ])('looksSecret(%s) is %s', (word, expected) => {
    expect(looksSecret(word)).toBe(expected)
  })

  it.each([
    [['sync'], 'ssh-sync'],
    [['status'], 'service status'],
    [['logs'], 'service status'],
    [['ls'], 'environment list'],
    [['watch'], 'ssh-sync --watch'],
  ])('suggests the command for the synonym %j', (words, command) => {
    const error = commandNotFound(words, ['login', 'ssh-sync', 'service status', 'environment list'])
    expect(error.message).toContain(`did you mean \`ona ${command}\`?`)
    expect(error.details).toMatchObject({suggestion: command})
  })

  it('tells `uninstall` the steps instead of a command, and a flag without a command that one is missing', () => {
    expect(commandNotFound(['uninstall'], ['ssh-sync']).hint).toMatch(/ona ssh-sync --remove.*ona service uninstall.*ona logout.*npm uninstall -g ona-ssh/)
    expect(commandNotFound(['--json'], ['ssh-sync']).message).toBe('no command given (--json goes after one)')
    expect(commandNotFound(['--token=abc'], ['ssh-sync']).message).toBe('no command given')
  })

  it('names a word that is neither close to a command nor secret-looking', () => {
    expect(commandNotFound(['deploy-everything'], ['login']).message).toBe('unknown command "deploy-everything"')
  })

  it('names the command and counts, but does not print, arguments it does not take', () => {
    const error = commandNotFound(['login', 'secret-token', 'more'], ['login'])
    expect(error.message).toBe('`ona login` takes no arguments (2 given; not shown, as it could be a secret)')
    expect(error.hint).toContain('--token-stdin')
  })

  it('strips escape sequences and caps the length of an echoed word', () => {
    expect(printable('\u001B[2Jssh\u0007-synk')).toBe('[2Jssh-synk')
    expect(printable('x'.repeat(100))).toHaveLength(40)
  })
})

describe('reflow', () => {
  it('joins hard-wrapped lines of a paragraph and keeps paragraphs, lists and indented lines', () => {
    expect(reflow('one\ntwo\n\nthree\n- item\n  indented')).toBe('one two\n\nthree\n- item\n  indented')
  })
})
