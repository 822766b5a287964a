#!/usr/bin/env node
// Launcher. Importing @oclif/core alone costs about three times a bare node start, so the two answers that
// need nothing from it are given here: `--version` (oclif's user agent line, built from package.json) and
// `<command> --help` when the output is exactly what oclif printed at build time into
// dist/help-cache.json (rendered at 80 columns without colour, which is what a pipe or file gets).
// Whenever anything could make oclif's answer differ (a terminal, OCLIF_COLUMNS, FORCE_COLOR, DEBUG,
// a possible WSL host, a stale cache), oclif answers as before. ONA_STARTUP_FAST_PATH=0
// turns both off; test/integration/startup.test.ts compares both ways byte for byte.
import {existsSync, readFileSync} from 'node:fs'
import module from 'node:module'
import os from 'node:os'

// The oldest Node.js every dependency supports (chokidar's engines; package.json says the same, a test
// checks). Below it, say so once and stop, instead of oclif's engine warning on every command followed by
// whatever breaks first. This file must therefore parse on old Node versions: nothing newer than ES2020.
const MIN_NODE = [22, 22, 0]
const running = process.versions.node.split('.').map(Number)
const tooOld = MIN_NODE.some((want, i) => running.slice(0, i).every((v, j) => v === MIN_NODE[j]) && (running[i] ?? 0) < want)
if (tooOld) {
  process.stderr.write(
    `error: ona needs Node.js ${MIN_NODE.join('.')} or newer; this is Node.js ${process.version} (${process.execPath})\n` +
      'hint: Install a current Node.js LTS (https://nodejs.org, or your version manager), then run `npm install -g ona-ssh` with it.\n',
  )
  process.exit(1)
}

// Caches compiled code of every module loaded after this line (oclif, the commands) in the OS temp dir.
module.enableCompileCache?.()

const root = new URL('../', import.meta.url)
const argv = process.argv.slice(2)

function fastAnswer() {
  const env = process.env
  if (env.ONA_STARTUP_FAST_PATH === '0' || env.DEBUG || env.ONA_DEBUG) return undefined
  if (argv.length === 1 && argv[0] === '--version') {
    const platform = oclifPlatform()
    if (!platform) return undefined
    const pjson = JSON.parse(readFileSync(new URL('package.json', root), 'utf8'))
    const arch = os.arch() === 'ia32' ? 'x86' : os.arch()
    return `${pjson.name}/${pjson.version || '0.0.0'} ${platform}-${arch} node-${process.version}\n`
  }
  // Only a command's help: the root help shows oclif's VERSION line (node version, platform), which a
  // build-time cache would freeze.
  const isHelp = argv.length === 2 && argv[1] === '--help'
  if (!isHelp || process.stdout.isTTY || env.OCLIF_COLUMNS || 'FORCE_COLOR' in env) return undefined
  let cache
  try {
    cache = JSON.parse(readFileSync(new URL('dist/help-cache.json', root), 'utf8'))
  } catch {
    return undefined
  }
  const pjson = JSON.parse(readFileSync(new URL('package.json', root), 'utf8'))
  if (cache.version !== pjson.version) return undefined
  const text = cache.help?.[argv[0]]
  return typeof text === 'string' ? text : undefined
}

// oclif reports "wsl" instead of "linux" on WSL (and decides container cases with more checks): leave any
// sign of WSL to it.
function oclifPlatform() {
  if (process.platform !== 'linux') return process.platform
  if (os.release().toLowerCase().includes('microsoft')) return undefined
  try {
    if (readFileSync('/proc/version', 'utf8').toLowerCase().includes('microsoft')) return undefined
  } catch {}
  if (existsSync('/proc/sys/fs/binfmt_misc/WSLInterop') || existsSync('/run/WSL')) return undefined
  return 'linux'
}

const answer = fastAnswer()
if (answer === undefined) {
  const {execute} = await import('@oclif/core')
  await execute({dir: import.meta.url})
} else {
  process.stdout.write(answer)
}
