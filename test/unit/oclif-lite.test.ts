/**
 * The fast path's parser: it must give oclif's result for every invocation it accepts and refuse (leave to
 * oclif) everything else. The byte-for-byte comparison with oclif is in test/integration/fast-path.test.ts.
 */
import {describe, expect, it} from 'vitest'

import {Args, Command, Flags, NeedsOclif, parseLite} from '../../src/cli/oclif-lite.js'

class Sync extends Command {
  static override enableJsonFlag = true
  static override flags = {
    path: Flags.string({summary: 'a path'}),
    check: Flags.boolean({exclusive: ['dry-run']}),
    'dry-run': Flags.boolean({}),
    interval: Flags.integer({default: 300, min: 10, max: 3600}),
  }

  async run() {
    return undefined
  }
}

class WithArg extends Command {
  static override args = {host: Args.string({required: true})}
  async run() {
    return undefined
  }
}

describe('parseLite', () => {
  it.each<[string, string[], Record<string, unknown>]>([
    ['nothing: defaults only', [], {interval: 300}],
    ['a boolean', ['--check'], {check: true, interval: 300}],
    ['--json when the command enables it', ['--json'], {json: true, interval: 300}],
    ['a value after =', ['--path=/a b'], {path: '/a b', interval: 300}],
    ['a value as the next word', ['--path', 'x'], {path: 'x', interval: 300}],
    ['a value with = inside', ['--path=a=b'], {path: 'a=b', interval: 300}],
    ['an integer in range', ['--interval', '60'], {interval: 60}],
    ['an integer at its minimum', ['--interval=10'], {interval: 10}],
  ])('accepts %s', (_name, argv, flags) => {
    expect(parseLite(Sync, argv).flags).toEqual(flags)
  })

  it('marks defaults as set from default, as oclif does', () => {
    expect(parseLite(Sync, []).metadata.flags).toEqual({interval: {setFromDefault: true}})
    expect(parseLite(Sync, ['--interval', '20']).metadata.flags).toEqual({})
  })

  it.each([
    ['an unknown flag', ['--bogus']],
    ['a flag given twice', ['--path', 'a', '--path', 'b']],
    ['a boolean with a value', ['--check=true']],
    ['exclusive flags together', ['--check', '--dry-run']],
    ['a value that looks like a flag', ['--path', '--check']],
    ['a missing value', ['--path']],
    ['an empty value', ['--path=']],
    ['an integer below the minimum', ['--interval', '9']],
    ['an integer above the maximum', ['--interval', '3601']],
    ['an integer with a unit', ['--interval', '10s']],
    ['a short flag', ['-c']],
    ['--no-check when check does not allow --no-', ['--no-check']],
    ['the end of flags', ['--', 'x']],
    ['a positional the command does not take', ['extra']],
  ])('leaves %s to oclif', (_name, argv) => {
    expect(() => parseLite(Sync, argv)).toThrow(NeedsOclif)
  })

  it('takes positional arguments by name and refuses a missing required one', () => {
    expect(parseLite(WithArg, ['h1']).args).toEqual({host: 'h1'})
    expect(() => parseLite(WithArg, [])).toThrow(NeedsOclif)
    expect(() => parseLite(WithArg, ['a', 'b'])).toThrow(NeedsOclif)
  })

  it('reads --no-x as false for a boolean that allows it, and a value from its options', () => {
    class Negatable extends Command {
      static override flags = {color: Flags.boolean({allowNo: true}), ide: Flags.string({options: ['vscode', 'cursor']})}
      async run() {
        return undefined
      }
    }
    expect(parseLite(Negatable, ['--no-color', '--ide', 'cursor']).flags).toEqual({color: false, ide: 'cursor'})
    expect(parseLite(Negatable, ['--color']).flags).toEqual({color: true})
    expect(() => parseLite(Negatable, ['--color', '--no-color'])).toThrow(NeedsOclif)
    expect(() => parseLite(Negatable, ['--ide', 'emacs'])).toThrow(NeedsOclif)
  })

  it('leaves a run to oclif only when it uses a flag of a kind the parser does not implement', () => {
    class Multi extends Command {
      static override flags = {tag: Flags.string({multiple: true}), quiet: Flags.boolean({})}
      async run() {
        return undefined
      }
    }
    expect(parseLite(Multi, ['--quiet']).flags).toEqual({quiet: true})
    expect(() => parseLite(Multi, ['--tag', 'a'])).toThrow(NeedsOclif)
  })

  it('leaves every run to oclif when such a flag has a default or comes from the environment', () => {
    class Options extends Command {
      static override flags = {ide: Flags.string({multiple: true, default: ['vscode']})}
      async run() {
        return undefined
      }
    }
    class FromEnv extends Command {
      static override flags = {token: Flags.string({env: 'X_TOKEN'})}
      async run() {
        return undefined
      }
    }
    expect(() => parseLite(Options, [])).toThrow(NeedsOclif)
    expect(() => parseLite(FromEnv, [], {X_TOKEN: 'a'})).toThrow(NeedsOclif)
    expect(parseLite(FromEnv, [], {}).flags).toEqual({})
  })
})
