#!/usr/bin/env node
// Launcher. Importing @oclif/core alone costs about three times a bare node start, so what needs nothing
// from it is answered without it:
// - `--version` (oclif's user agent line, built from package.json);
// - `<command> --help` when the output is exactly what oclif printed at build time into
//   dist/help-cache.json (rendered at 80 columns without colour, which is what a pipe or file gets);
// - a command built for it (`static fastPath = true`, listed in dist/fast/index.json): it runs from its
//   own bundle with src/cli/oclif-lite.ts in oclif's place, which hands the run back here, untouched,
//   whenever the invocation is anything it does not fully understand.
// Whenever anything could make oclif's answer differ (a terminal, OCLIF_COLUMNS, FORCE_COLOR, DEBUG,
// a possible WSL host, a stale cache), oclif answers as before. ONA_STARTUP_FAST_PATH=0
// turns all of it off; test/integration/startup.test.ts and fast-path.test.ts compare both ways byte for byte.

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

// Built-ins as CommonJS objects: an ES module import of node:fs builds a facade that reads every export
// once, and its lazy `ReadStream` getter then loads fs streams and readline (about 4 ms per run).
const {existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync} = process.getBuiltinModule('node:fs')
const module = process.getBuiltinModule('node:module')
const os = process.getBuiltinModule('node:os')
const path = process.getBuiltinModule('node:path')
const {fileURLToPath} = process.getBuiltinModule('node:url')

// A closed stdout or stderr (`ona | head -1`) is a clean end, not a crash: the rest of the output has
// nowhere to go, so further writes are dropped and the command finishes (its exit code stands). Anyone
// waiting for 'drain' (oclif's flush, the fast path's) is released: on a destroyed stream it never comes,
// and Node would end with "unsettled top-level await" and exit 13.
function quietOnEpipe(stream) {
  stream.on('error', (error) => {
    if (!error || error.code !== 'EPIPE') throw error
    stream.write = (_chunk, encoding, callback) => {
      const done = typeof encoding === 'function' ? encoding : callback
      if (typeof done === 'function') process.nextTick(done)
      return true
    }
    stream.emit('drain')
  })
}
quietOnEpipe(process.stdout)
quietOnEpipe(process.stderr)

// Caches compiled code of every module loaded after this line (oclif, the commands). Never the default
// shared directory in the OS temp dir: another local user could plant entries there. A private per-user
// directory (0700, owned by us, not a symlink) or no cache at all.
function compileCacheDir() {
  const env = process.env
  const home = process.platform === 'win32' ? env.USERPROFILE || os.homedir() : env.HOME || os.homedir()
  const base =
    process.platform === 'win32'
      ? path.join(env.LOCALAPPDATA || path.join(home, 'AppData', 'Local'), 'ona', 'cache')
      : process.platform === 'darwin'
        ? path.join(home, 'Library', 'Caches', 'ona')
        : path.join(env.XDG_CACHE_HOME && path.isAbsolute(env.XDG_CACHE_HOME) ? env.XDG_CACHE_HOME : path.join(home, '.cache'), 'ona')
  const dir = path.join(base, 'compile-cache')
  try {
    // Root in a home another user owns (`sudo -E ona ...`): no cache, rather than a root-owned directory in
    // the user's home that the user's own runs would then refuse.
    if (process.getuid && process.getuid() === 0) {
      if (statSync(home).uid !== 0) return undefined
      // Nor where the cache directory would be created under another user's directory (a kept
      // XDG_CACHE_HOME under sudo): the nearest one that exists must be root's too.
      let existing = dir
      while (!existsSync(existing)) existing = path.dirname(existing)
      if (statSync(existing).uid !== 0) return undefined
    }
    mkdirSync(dir, {recursive: true, mode: 0o700})
    const stat = lstatSync(dir)
    if (!stat.isDirectory()) return undefined
    if (process.platform !== 'win32' && (stat.uid !== process.getuid() || (stat.mode & 0o077) !== 0)) return undefined
    return dir
  } catch {
    return undefined
  }
}
const cacheDir = process.env.NODE_DISABLE_COMPILE_CACHE === undefined ? compileCacheDir() : undefined
if (module.enableCompileCache && cacheDir) module.enableCompileCache(cacheDir)
// Commands run from bundles (scripts/bundle.mjs). oclif prints a stack only with DEBUG set; then, and only
// then, map it back to src/ (reading the maps costs about a bare node start on every run).
if (process.env.DEBUG || process.env.ONA_DEBUG) process.setSourceMapsEnabled?.(true)

const root = new URL('../', import.meta.url)
// `ona help x`, `ona x -h`, `ona version` -> the `--help` / `--version` forms answered below and by oclif.
const {rewriteArgv} = await import('../dist/cli-argv.js')
const argv = rewriteArgv(process.argv.slice(2))

function fastAnswer() {
  const env = process.env
  if (env.ONA_STARTUP_FAST_PATH === '0' || env.DEBUG || env.ONA_DEBUG) return undefined
  if (argv.length === 1 && argv[0] === '--version') {
    const agent = userAgent()
    return agent === undefined ? undefined : `${agent}\n`
  }
  // `<command words...> --help`, e.g. `ssh-sync --help`, `environment list --help` or `environment:list --help`;
  // and the root `--help` (`ona help`), whose VERSION line is the user agent, filled in at run time.
  const isRoot = argv.length === 1 && argv[0] === '--help'
  const isHelp = isRoot || (argv.length >= 2 && argv.at(-1) === '--help' && argv.slice(0, -1).every((w) => /^[a-z][a-z0-9:-]*$/.test(w)))
  if (!isHelp || process.stdout.isTTY || env.OCLIF_COLUMNS || 'FORCE_COLOR' in env) return undefined
  let cache
  try {
    cache = JSON.parse(readFileSync(new URL('dist/help-cache.json', root), 'utf8'))
  } catch {
    return undefined
  }
  const pjson = packageJson()
  if (cache.version !== pjson.version) return undefined
  if (isRoot) {
    const agent = userAgent()
    const template = cache.root
    if (agent === undefined || typeof template !== 'string' || typeof cache.agentMark !== 'string') return undefined
    return template.replace(cache.agentMark, agent)
  }
  const text = cache.help?.[argv.slice(0, -1).join(':')]
  return typeof text === 'string' ? text : undefined
}

/** package.json, read once per run: the help, version and fast-command checks all need it. */
let pjsonCache
function packageJson() {
  if (pjsonCache === undefined) pjsonCache = JSON.parse(readFileSync(new URL('package.json', root), 'utf8'))
  return pjsonCache
}

/** oclif's user agent line (`ona-ssh/0.1.0 linux-x64 node-v24.21.0`), or undefined when oclif must decide it. */
function userAgent() {
  const platform = oclifPlatform()
  if (!platform) return undefined
  const pjson = packageJson()
  const arch = os.arch() === 'ia32' ? 'x86' : os.arch()
  return `${pjson.name}/${pjson.version || '0.0.0'} ${platform}-${arch} node-${process.version}`
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

function fastCommand() {
  const env = process.env
  if (env.ONA_STARTUP_FAST_PATH === '0' || env.DEBUG) return undefined
  // Help (anywhere before `--`) is oclif's, or the help cache's.
  const end = argv.indexOf('--')
  if (argv.slice(0, end === -1 ? undefined : end).includes('--help')) return undefined
  let index
  try {
    index = JSON.parse(readFileSync(new URL('dist/fast/index.json', root), 'utf8'))
  } catch {
    return undefined
  }
  const pjson = packageJson()
  if (index.version !== pjson.version) return undefined
  // Topic commands (`a b` is the id `a:b`): the longest id that argv starts with.
  for (let words = Math.min(argv.length, 3); words >= 1; words--) {
    const file = index.commands?.[argv.slice(0, words).join(':')]
    if (typeof file === 'string' && /^[\w.-]+\.c?js$/.test(file)) return {file, rest: argv.slice(words), pjson}
  }
  return undefined
}

/**
 * A fast bundle built as CommonJS (dist/fast/*.cjs), compiled with a V8 code cache of our own. Node's
 * compile cache keeps only what V8 compiled when the file was first loaded (its top level): every function
 * a command then runs was compiled again on every run, about 20 ms of a no-op `ona ssh-sync` (issue 21).
 * Here the cache is made when the process exits, so it holds every function that run compiled (those it
 * was given included). It is kept in the private compile-cache directory, named by a hash of the bundle's
 * text and this Node (V8 itself only checks the text's length), with one byte in front: how many
 * successful runs made it (0: a failed one). The first CACHE_RUNS runs that succeed each make it again,
 * so it covers more than what one run used (a write, then the no-op that follows). A process whose V8
 * flags are not the plain ones (the service's watcher is started with some) makes none: V8 would reject
 * it everywhere else; watch mode (which also sets some at run time) neither makes nor loads one. Without a
 * usable directory (see compileCacheDir) the bundle is compiled as it would be without any cache.
 */
const CACHE_RUNS = 3
/** Caches of one bundle kept at once (other builds, other Node versions: installs used side by side). */
const CACHES_KEPT = 3
/** The fast path gave the run to oclif, or failed: such a run does not count as one the cache was made by. */
let fastRunFell = false

async function loadFastBundle(file) {
  const vm = process.getBuiltinModule('node:vm')
  const source = readFileSync(file, 'utf8')
  const base = path.basename(file, '.cjs')
  let cachePath
  let cachedData
  let runs = 0
  // Watch mode runs for months: it compiles only what it uses, as it did, rather than take in at start
  // everything a one-shot run compiled (about 4 MiB more resident; issue 18's memory budget).
  const watching = argv.includes('--watch')
  if (cacheDir && !watching) {
    const {hash} = process.getBuiltinModule('node:crypto')
    cachePath = path.join(cacheDir, `${base}-${hash('sha256', `${process.version}\0${process.arch}\0${source}`).slice(0, 24)}.v8`)
    try {
      const bytes = readFileSync(cachePath)
      if (bytes.length > 1) {
        runs = bytes[0]
        cachedData = bytes.subarray(1)
      }
    } catch {}
  }
  const script = new vm.Script(`(function (exports, require, module, __filename, __dirname) { ${source}\n})`, {
    filename: file,
    // No import() in it: scripts/bundle.mjs turns each into a require() and refuses a bundle that keeps one.
    ...(cachedData ? {cachedData} : {}),
  })
  const accepted = cachedData !== undefined && !script.cachedDataRejected
  cachedData = undefined
  const plainFlags = process.execArgv.length === 0 && !watching
  if (cachePath && plainFlags && (!accepted || runs < CACHE_RUNS)) {
    process.once('exit', (code) => {
      // A process may end before the command returns (the ProxyCommand ends when ssh hangs up on it).
      const succeeded = !fastRunFell && code === 0
      if (accepted && !succeeded) return
      const temporary = `${cachePath}.${process.pid}.tmp`
      try {
        const made = succeeded ? Math.min((accepted ? runs : 0) + 1, 255) : 0
        writeFileSync(temporary, Buffer.concat([Buffer.from([made]), script.createCachedData()]), {mode: 0o600})
        renameSync(temporary, cachePath)
        forgetOldCaches(base, path.basename(cachePath))
      } catch {
        try {
          rmSync(temporary, {force: true})
        } catch {}
      }
    })
  }
  const exported = {exports: {}}
  script.runInThisContext()(exported.exports, module.createRequire(file), exported, file, path.dirname(file))
  return exported.exports
}

/** Keeps the newest CACHES_KEPT caches of a bundle, and takes out temporary files a killed writer left. */
function forgetOldCaches(base, current) {
  const prefix = `${base}-`
  const mine = []
  for (const name of readdirSync(cacheDir)) {
    if (!name.startsWith(prefix)) continue
    const file = path.join(cacheDir, name)
    const stat = statSync(file, {throwIfNoEntry: false})
    if (!stat) continue
    if (name.endsWith('.tmp') && !name.endsWith(`.${process.pid}.tmp`) && Date.now() - stat.mtimeMs > 60_000) rmSync(file, {force: true})
    else if (name.endsWith('.v8') && name !== current) mine.push({file, at: stat.mtimeMs})
  }
  mine.sort((a, b) => b.at - a.at)
  for (const old of mine.slice(CACHES_KEPT - 1)) rmSync(old.file, {force: true})
}

async function oclif() {
  const {execute} = await import('@oclif/core')
  await execute({dir: import.meta.url, args: argv})
}

const answer = fastAnswer()
if (answer !== undefined) {
  process.stdout.write(answer)
} else {
  const fast = fastCommand()
  let outcome = 'oclif'
  if (fast) {
    const url = new URL(`dist/fast/${fast.file}`, root)
    const {default: run} = fast.file.endsWith('.cjs') ? await loadFastBundle(fileURLToPath(url)) : await import(url.href)
    try {
      outcome = await run(fast.rest, {root: fileURLToPath(root), pjson: fast.pjson})
      fastRunFell = outcome !== 'done'
    } catch (error) {
      fastRunFell = true
      // What oclif's execute() does with an error no command handled: its own message format and exit code.
      const {handle} = await import('@oclif/core')
      await handle(error instanceof Error ? error : new Error(String(error)))
    }
  }
  if (outcome === 'oclif') await oclif()
}
