/**
 * Golden files (Coder's clitest/golden.go): human output compared byte for byte with a file under
 * test/golden/, after the parts that differ from run to run or machine to machine are normalised (scratch
 * home and temp dirs, times, durations, ports, versions). `UPDATE_GOLDEN=1 npx vitest run ...` rewrites
 * them; review the diff before committing. A golden that does not exist yet (a command another change
 * just added) is written and the test passes with a warning, so new commands are picked up without
 * breaking anyone; commit the new file.
 */
import {existsSync, mkdirSync, readFileSync, writeFileSync} from 'node:fs'
import os from 'node:os'
import path from 'node:path'

import {expect} from 'vitest'

import {repoRoot} from './run-cli.js'

export const goldenDir = path.join(repoRoot, 'test', 'golden')
const update = process.env.UPDATE_GOLDEN === '1'

export interface NormaliseOptions {
  /** Scratch directories to print as <HOME>, <TMP1>, ...: the first is <HOME>. */
  dirs?: string[]
  /** Extra literal replacements, e.g. a simulator URL -> <API>. */
  replace?: Array<[string | RegExp, string]>
}

export function normalise(text: string, options: NormaliseOptions = {}): string {
  let out = text
  for (const [from, to] of options.replace ?? []) out = typeof from === 'string' ? out.split(from).join(to) : out.replace(from, to)
  const dirs = [...(options.dirs ?? [])].sort((a, b) => b.length - a.length)
  for (const dir of dirs) {
    const index = options.dirs!.indexOf(dir)
    out = out.split(dir).join(index === 0 ? '<HOME>' : `<TMP${index}>`)
  }
  const pkg = JSON.parse(readFileSync(path.join(repoRoot, 'package.json'), 'utf8')) as {version: string}
  return out
    .split(`ona-ssh/${pkg.version}`).join('ona-ssh/<VERSION>')
    .split(`ona/${pkg.version}`).join('ona/<VERSION>')
    .replace(/node-v\d+\.\d+\.\d+/g, 'node-<NODE>')
    .replace(/node\/v\d+\.\d+\.\d+/g, 'node/<NODE>')
    .replace(/\b(linux|darwin|win32|wsl)-(x64|arm64|x86|arm)\b/g, '<PLATFORM>')
    .split(os.tmpdir()).join('<TMPDIR>')
    .replace(/\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z/g, '<TIME>')
    .replace(/\b\d\d:\d\d:\d\d\b/g, '<TIME>')
    .replace(/\b\d+(\.\d+)? ?ms\b/g, '<N> ms')
    .replace(/127\.0\.0\.1:\d{2,5}/g, '127.0.0.1:<PORT>')
    .replace(/SHA256:[A-Za-z0-9+/]{43}/g, 'SHA256:<FINGERPRINT>')
}

/** Compares `actual` with test/golden/<name> (or writes it with UPDATE_GOLDEN=1 or when it is new). */
export function expectGolden(name: string, actual: string): void {
  const file = path.join(goldenDir, name)
  if (update || !existsSync(file)) {
    if (!update) console.warn(`golden file ${path.relative(repoRoot, file)} did not exist: written now; commit it`)
    mkdirSync(path.dirname(file), {recursive: true})
    writeFileSync(file, actual)
    return
  }
  const expected = readFileSync(file, 'utf8')
  if (expected !== actual) {
    // toBe prints the diff; the message says how to accept an intended change.
    expect(actual, `${path.relative(repoRoot, file)} differs; if the change is intended, run UPDATE_GOLDEN=1 npx vitest run <this test> and commit the file`).toBe(expected)
  }
}
