#!/usr/bin/env node
// Build step: bundles what runs on the hot paths with esbuild, so a command loads a handful of files
// instead of hundreds (Node's module resolution alone was about 190 ms of a 330 ms no-op sync).
//
//   node scripts/bundle.mjs commands   after tsc: every file under src/commands/ (found here, never listed)
//                                      becomes one bundle in dist/bundle/ (shared code and each lazy
//                                      import() in chunks beside it), and dist/commands/<id>.js, which oclif
//                                      loads, becomes a one-line re-export of that bundle.
//   node scripts/bundle.mjs fast       after `oclif manifest`: every command whose class says
//                                      `static fastPath = true` is bundled again into dist/fast/ with
//                                      @oclif/core replaced by src/cli/oclif-lite.ts, and listed in
//                                      dist/fast/index.json for bin/run.js (see oclif-lite.ts for the rules).
//
// tsc's output stays in dist/ as it was (dist/lib/... for scripts, the simulator and spawned workers).
// @oclif/core stays external (oclif loads commands and plugins by path) and so does every native module.
// Code that finds files beside itself through `import.meta.url` keeps finding them: each source file's
// `import.meta.url` becomes the URL of its own tsc output (dist/lib/auth/token-store.js and so on).
// Source maps (dist/bundle/*.map, dist/fast/*.map) map stack traces to src/ when node runs with
// --enable-source-maps; they are build output for developers, not something the package needs.
import {createHash} from 'node:crypto'
import {readdirSync, readFileSync, rmSync, statSync, writeFileSync} from 'node:fs'
import path from 'node:path'
import {fileURLToPath} from 'node:url'

import {build} from 'esbuild'

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')
const src = path.join(root, 'src')
const dist = path.join(root, 'dist')
const pjson = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8'))

/** Packages that must be loaded from node_modules at run time: oclif itself and native bindings. */
const EXTERNAL = ['@oclif/core', '@napi-rs/keyring', '@napi-rs/keyring-*']

/** Every command source file, as oclif would find its compiled form: [id path (a/b), absolute file]. */
export function commandSources(dir = path.join(src, 'commands'), prefix = '') {
  const found = []
  for (const name of readdirSync(dir).sort()) {
    const file = path.join(dir, name)
    if (statSync(file).isDirectory()) found.push(...commandSources(file, `${prefix}${name}/`))
    else if (/\.ts$/.test(name) && !/\.d\.ts$|\.test\.ts$/.test(name) && !name.startsWith('_')) found.push([`${prefix}${name.slice(0, -3)}`, file])
  }
  return found
}

/** A flat output name for a command path: `environment/list` -> `environment.list`. */
const flatName = (idPath) => idPath.replaceAll('/', '.')

// Every output file sits one directory below dist/ (dist/bundle/, dist/fast/), so `../` from it is dist/.
const banner = [
  "import {createRequire as __onaCreateRequire} from 'node:module';",
  // Bundled CommonJS dependencies call require() for node built-ins.
  'const require = __onaCreateRequire(import.meta.url);',
  "const __onaDistUrl = (file) => new URL('../' + file, import.meta.url).href;",
].join('\n')

/** The same for the fast bundles, which are CommonJS: require and __filename come from bin/run.js. */
// Strict, as the ES modules they are built from (a frozen parse result throws when written to: block.ts).
const fastBanner = "'use strict';\nconst __onaDistUrl = (file) => new URL('../' + file, require('node:url').pathToFileURL(__filename)).href;"

/**
 * In the fast bundles, `await import('node:x')` becomes a require() (a script compiled by bin/run.js has no
 * module loader of its own for import(); lending it the main one is still an experimental feature of
 * Node's that prints a warning).
 */
const dynamicBuiltinPlugin = {
  name: 'ona-dynamic-builtins',
  setup(b) {
    b.onResolve({filter: /^node:/}, (args) => (args.kind === 'dynamic-import' ? {path: args.path, namespace: 'ona-builtin'} : undefined))
    b.onLoad({filter: /.*/, namespace: 'ona-builtin'}, (args) => ({contents: `module.exports = require(${JSON.stringify(args.path)})`, loader: 'js'}))
  },
}

/** Rewrites `import.meta.url` in our sources to the URL of the file's own tsc output. */
const metaUrlPlugin = {
  name: 'ona-import-meta-url',
  setup(b) {
    b.onLoad({filter: /[\\/]src[\\/].*\.ts$/}, (args) => {
      const text = readFileSync(args.path, 'utf8')
      if (!text.includes('import.meta.url')) return undefined
      const compiled = path.relative(src, args.path).replace(/\.ts$/, '.js').split(path.sep).join('/')
      return {contents: text.replaceAll('import.meta.url', `__onaDistUrl(${JSON.stringify(compiled)})`), loader: 'ts'}
    })
  },
}

function common(outdir) {
  return {
    bundle: true,
    splitting: true,
    format: 'esm',
    platform: 'node',
    target: `node${String(pjson.engines?.node ?? '22').replace(/[^\d.]/g, '').split('.')[0] || '22'}`,
    outdir,
    chunkNames: 'chunk-[hash]',
    sourcemap: 'linked',
    sourcesContent: false,
    external: EXTERNAL,
    // jsonc-parser's `main` is a UMD build whose require() calls esbuild cannot follow (the bundle would
    // require('./impl/format') from dist/): its ES module build bundles cleanly.
    alias: {'jsonc-parser': 'jsonc-parser/lib/esm/main.js'},
    banner: {js: banner},
    // Keep class and function names: oclif derives a command id from a class name when it has none, and
    // stack traces stay readable even without source maps.
    keepNames: true,
    metafile: true,
    logLevel: 'warning',
    plugins: [metaUrlPlugin],
  }
}

async function bundleCommands() {
  const commands = commandSources()
  const outdir = path.join(dist, 'bundle')
  rmSync(outdir, {recursive: true, force: true})
  const entryPoints = Object.fromEntries(commands.map(([idPath, file]) => [flatName(idPath), file]))
  const result = await build({...common(outdir), entryPoints})
  for (const [idPath] of commands) {
    const stub = path.join(dist, 'commands', `${idPath}.js`)
    const target = path.relative(path.dirname(stub), path.join(outdir, `${flatName(idPath)}.js`)).split(path.sep).join('/')
    writeFileSync(stub, `// Generated by scripts/bundle.mjs: the command's code is bundled.\nexport {default} from '${target.startsWith('.') ? target : `./${target}`}'\n`)
    rmSync(`${stub}.map`, {force: true})
  }
  report('dist/bundle', result, commands.length)
}

async function bundleFast() {
  const manifest = JSON.parse(readFileSync(path.join(root, 'oclif.manifest.json'), 'utf8'))
  const byId = new Map(commandSources().map(([idPath, file]) => [idPath.replaceAll('/', ':'), file]))
  const fast = Object.entries(manifest.commands ?? {}).filter(([, command]) => command.fastPath === true)
  const outdir = path.join(dist, 'fast')
  rmSync(outdir, {recursive: true, force: true})
  if (fast.length === 0) {
    console.log('dist/fast: no command has fastPath')
    return
  }
  const lite = path.join(src, 'cli', 'oclif-lite.ts')
  const entryPoints = {}
  const index = {}
  for (const [id] of fast) {
    const file = byId.get(id)
    if (!file) throw new Error(`oclif.manifest.json lists ${id} with fastPath, but no source file under src/commands/ has that id`)
    const name = id.replaceAll(':', '.')
    entryPoints[name] = `ona-fast:${file}`
    index[id] = `${name}.cjs`
  }
  const fastEntryPlugin = {
    name: 'ona-fast-entry',
    setup(b) {
      b.onResolve({filter: /^ona-fast:/}, (args) => ({path: args.path.slice('ona-fast:'.length), namespace: 'ona-fast'}))
      b.onLoad({filter: /.*/, namespace: 'ona-fast'}, (args) => ({
        resolveDir: src,
        loader: 'js',
        contents: `import Command from ${JSON.stringify(args.path)}\nimport {runFast} from ${JSON.stringify(lite)}\nexport default (argv, options) => runFast(Command, argv, options)\n`,
      }))
    },
  }
  const options = common(outdir)
  const result = await build({
    ...options,
    // One file per command: its lazy imports stay lazy (esbuild defers their evaluation), and loading one
    // file costs less than resolving and loading the dozens of chunks splitting makes.
    splitting: false,
    // CommonJS, which bin/run.js compiles itself with a V8 code cache made after the run (see
    // loadFastBundle there): Node's cache of an ES module holds only its top level.
    format: 'cjs',
    outExtension: {'.js': '.cjs'},
    banner: {js: fastBanner},
    entryPoints,
    alias: {'@oclif/core': lite},
    external: EXTERNAL.filter((name) => name !== '@oclif/core'),
    plugins: [fastEntryPlugin, dynamicBuiltinPlugin, ...options.plugins],
  })
  writeFileSync(path.join(outdir, 'index.json'), `${JSON.stringify({version: pjson.version, commands: index}, null, 1)}\n`)
  // What a no-op ssh-sync's kept outcome is tied to (src/lib/sync/unchanged.ts): every bundle's text.
  const buildHash = createHash('sha256').update(pjson.version)
  for (const dir of ['bundle', 'fast']) {
    for (const name of readdirSync(path.join(dist, dir)).sort()) if (/\.c?js$/.test(name)) buildHash.update(`\0${name}\0`).update(readFileSync(path.join(dist, dir, name)))
  }
  writeFileSync(path.join(dist, 'build-id'), `${buildHash.digest('hex')}\n`)
  // A fast bundle that still reached for oclif would defeat its purpose (and bin/run.js's promise), and one
  // with an import() left would fail where it runs it (bin/run.js compiles it as a plain script).
  for (const [output, info] of Object.entries(result.metafile.outputs)) {
    const oclif = info.imports.find((i) => i.path.startsWith('@oclif/'))
    if (oclif) throw new Error(`${output} imports ${oclif.path}: the fast bundle must not load oclif`)
    const dynamic = info.imports.find((i) => i.kind === 'dynamic-import' && i.external)
    if (dynamic) throw new Error(`${output} keeps import(${JSON.stringify(dynamic.path)}): the fast bundle must require() it`)
    if (output.endsWith('.cjs') && !readFileSync(path.join(root, output), 'utf8').startsWith("'use strict';")) throw new Error(`${output} does not start in strict mode`)
  }
  report('dist/fast', result, fast.length)
}

function report(label, result, entries) {
  const outputs = Object.entries(result.metafile.outputs).filter(([file]) => /\.c?js$/.test(file))
  const bytes = outputs.reduce((sum, [, info]) => sum + info.bytes, 0)
  console.log(`${label}: ${entries} entr${entries === 1 ? 'y' : 'ies'}, ${outputs.length} files, ${(bytes / 1024).toFixed(0)} KiB`)
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const step = process.argv[2]
  if (step === 'commands') await bundleCommands()
  else if (step === 'fast') await bundleFast()
  else {
    console.error('usage: node scripts/bundle.mjs commands|fast')
    process.exitCode = 2
  }
}
