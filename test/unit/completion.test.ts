/**
 * The completion script generator for a fixed command list (a topic, options, file values, a fixed
 * argument), locked by golden files: test/golden/completion/*. The shells run these scripts in
 * test/integration/completion.test.ts.
 */
import {describe, expect, it} from 'vitest'

import {SHELLS, completionScript, type CompletionCommand} from '../../src/lib/completion/scripts.js'
import {expectGolden} from '../helpers/golden.js'

const COMMANDS: CompletionCommand[] = [
  {id: 'ssh-sync', summary: 'write your aliases', flags: [{name: 'dry-run', summary: 'print a diff', takesValue: false}, {name: 'ssh-config', summary: "the user's config", takesValue: true, file: true}]},
  {id: 'preflight', summary: 'check the network', flags: [{name: 'ide', summary: 'which IDE', takesValue: true, options: ['vscode', 'jetbrains']}]},
  {id: 'environment list', summary: 'list environments', flags: [{name: 'json', takesValue: false}]},
  {id: 'completion', summary: 'print a script', flags: [], argOptions: ['bash', 'zsh']},
  {id: 'ssh', summary: 'connect', flags: [{name: 'api-url', summary: 'the API', takesValue: true}, {name: 'no-start', summary: 'do not start it', takesValue: false}], argEnvironments: true},
]
const OPTIONS = {environmentsDir: "/home/o'brien/.cache/ona/completion"}

describe('completion scripts', () => {
  it.each(SHELLS.map((s) => [s]))('%s matches its golden file', (shell) => {
    expectGolden(`completion/${shell}.txt`, completionScript(shell, COMMANDS, 'ona', OPTIONS))
  })

  it.each(SHELLS.map((s) => [s]))('%s quotes a summary with a quote in it for its shell', (shell) => {
    const script = completionScript(shell, COMMANDS)
    if (shell === 'fish') expect(script).toContain(`'the user'\\''s config'`)
    if (shell === 'powershell') expect(script).toContain(`'the user''s config'`)
    // bash and zsh do not print summaries.
    expect(script).toContain('environment')
  })
})

describe('environment names in the scripts', () => {
  it.each(SHELLS.map((s) => [s]))('%s reads the listing directory it was given, quoted for its shell, and only with one', (shell) => {
    const script = completionScript(shell, COMMANDS, 'ona', OPTIONS)
    if (shell === 'powershell') expect(script).toContain(`Join-Path '/home/o''brien/.cache/ona/completion'`)
    else expect(script).toContain(`'/home/o'\\''brien/.cache/ona/completion'`)
    const without = completionScript(shell, COMMANDS)
    expect(without).not.toContain('.cache/ona/completion')
    expect(without).not.toMatch(/_environments|ONA_API_URL/)
  })
})
