#!/usr/bin/env node
// `npm run bench` (after `npm run build`): measures `ona` against baselines taken in the same run, prints a
// table and writes bench-results/latest.json. Every figure is a median over several runs, with min and max;
// every ratio divides by a baseline measured on the same machine a moment earlier, so noisy machines shift
// both sides together. Nothing here is a pass/fail test: budgets are reported, never asserted.
//
// Options: --quick (fewer runs, smaller cases; for trying the script), --only=startup,splice,...
//          --runs=N (start-up runs per command, default 20), --watch-changes=N (default 5,000), --out=FILE
//          --soak adds the watcher's soak (about ten minutes; scripts/bench/soak.mjs), --soak-changes=N
//          (default 10,000); `--only=soak` runs it alone.
import {spawn, spawnSync} from 'node:child_process'
import {existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import {fileURLToPath, pathToFileURL} from 'node:url'
import {parseArgs} from 'node:util'

import {countingSsh, idleNodeRssKiB, rssKiB, scratchHome, waitForText} from './bench/harness.mjs'
import {formatTable, formatValue, quantile, ratio, summarize} from './bench/stats.mjs'

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')
const dist = path.join(root, 'dist')
const node = process.execPath
const hasScript = spawnSync('script', ['-qec', 'true', '/dev/null']).status === 0

const {values: flags} = parseArgs({
  options: {
    quick: {type: 'boolean', default: false},
    only: {type: 'string'},
    runs: {type: 'string'},
    'watch-changes': {type: 'string'},
    soak: {type: 'boolean', default: false},
    'soak-changes': {type: 'string'},
    out: {type: 'string', default: path.join(root, 'bench-results', 'latest.json')},
  },
})
const quick = Boolean(flags.quick)
const only = flags.only ? new Set(flags.only.split(',').map((s) => s.trim())) : undefined
const startupRuns = flags.runs ? Number(flags.runs) : quick ? 5 : 20

/**
 * Budgets of issues 6 and 11, each a ratio to a baseline measured in the same run; reported beside the
 * figures (and in the summary at the end), never enforced here.
 */
const BUDGET = {
  startupRatio: 2,
  noopRatio: 3,
  connectRatio: 3,
  watchRssRatio: 2,
  /** RSS after 5,000 changes over RSS after 1,000: "flat" (a little for heap noise). */
  watchFlat: 1.1,
  safeWriteRatio: 10,
  /** Peak memory above the process baseline, as a multiple of the config's size. */
  bigConfigMemoryRatio: 10,
  /** Time for 10,000 environments over time for 1,000: linear or better. */
  growth: 10,
  preflightRatio: 1.2,
}

/** Every budgeted figure of the run, for the summary table at the end. */
const SUMMARY = []
function budgetRow(measure, value, unit, baseline, ratioValue, budget, extra = '') {
  const met = Number.isFinite(ratioValue) ? ratioValue <= budget : undefined
  SUMMARY.push({measure, value, unit, baseline, ratio: ratioValue, budget, met, extra})
  return met
}

const scratch = mkdtempSync(path.join(os.tmpdir(), 'ona-bench-'))
// Commands run with a scratch HOME so neither the user's state nor their SSH config can change a figure.
const scratchEnv = {
  PATH: process.env.PATH ?? '',
  HOME: path.join(scratch, 'home'),
  XDG_CONFIG_HOME: path.join(scratch, 'home', '.config'),
  XDG_STATE_HOME: path.join(scratch, 'home', '.local', 'state'),
  XDG_CACHE_HOME: path.join(scratch, 'home', '.cache'),
  XDG_DATA_HOME: path.join(scratch, 'home', '.local', 'share'),
  NO_COLOR: '1',
  LANG: 'C.UTF-8',
}
mkdirSync(scratchEnv.XDG_CONFIG_HOME, {recursive: true})

function machine() {
  const cpus = os.cpus()
  return {
    nproc: os.availableParallelism(),
    cpuModel: cpus[0]?.model?.trim() ?? 'unknown',
    node: process.version,
    platform: `${os.platform()} ${os.release()} ${os.arch()}`,
    memoryGiB: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
    openssh: spawnSync('ssh', ['-V'], {encoding: 'utf8'}).stderr?.trim() || 'not installed',
  }
}

function manifestCommands() {
  try {
    const manifest = JSON.parse(readFileSync(path.join(root, 'oclif.manifest.json'), 'utf8'))
    return new Set(Object.keys(manifest.commands ?? {}))
  } catch {
    return new Set()
  }
}

/** Imports a built module, or returns why it cannot (the section is then skipped with that note). */
async function importBuilt(relative, exportName) {
  const file = path.join(dist, relative)
  if (!existsSync(file)) return {missing: `dist/${relative} is not built`}
  try {
    const module = await import(pathToFileURL(file).href)
    if (exportName && typeof module[exportName] !== 'function') return {missing: `dist/${relative} has no ${exportName}()`}
    return {module}
  } catch (error) {
    return {missing: `dist/${relative} failed to load: ${error instanceof Error ? error.message : String(error)}`}
  }
}

// ---------------------------------------------------------------------------------------------------------
// 1. Start-up

function timeProcess(args, env, command = node) {
  const start = performance.now()
  const result = spawnSync(command, args, {cwd: root, env, stdio: 'ignore'})
  const ms = performance.now() - start
  return {ms, status: result.status}
}

/**
 * Like timeProcess, without blocking this process: needed whenever the child talks to a server running
 * in this process (the simulator), which spawnSync would freeze.
 */
function timeProcessAsync(args, env) {
  return new Promise((resolve) => {
    const start = performance.now()
    const child = spawn(node, args, {cwd: root, env, stdio: ['ignore', 'ignore', 'pipe']})
    let stderr = ''
    child.stderr.on('data', (chunk) => (stderr = (stderr + chunk).slice(-2000)))
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000)
    child.on('close', (status) => {
      clearTimeout(timer)
      resolve({ms: performance.now() - start, status, stderr})
    })
  })
}

/** Start-up of `ona --version` and `ona ssh-sync --help` against `node -e 0`, rounds interleaved. */
async function benchStartup() {
  const commands = manifestCommands()
  const run = path.join(root, 'bin', 'run.js')
  const candidates = [
    {name: 'node -e 0 (baseline)', args: ['-e', '0'], baseline: true},
    {name: 'ona --version', args: [run, '--version']},
    {name: 'ona ssh-sync --help', args: [run, 'ssh-sync', '--help'], needs: 'ssh-sync'},
    {name: 'ona --help', args: [run, '--help']},
    {name: 'ona help', args: [run, 'help']},
    {name: 'node + import @oclif/core', args: ['--input-type=module', '-e', "await import('@oclif/core')"], reference: true},
  ]
  // The same on a terminal: `script` gives the command a pty (its own cost is in the terminal baseline).
  if (hasScript) {
    const pty = (argv) => ({command: 'script', args: ['-qec', argv.map((a) => `'${a}'`).join(' '), '/dev/null']})
    candidates.push(
      {name: 'node -e 0 on a terminal (baseline)', ...pty([node, '-e', '0']), terminalBaseline: true},
      {name: 'ona ssh-sync --help on a terminal', ...pty([node, run, 'ssh-sync', '--help']), terminal: true, needs: 'ssh-sync'},
      {name: 'ona --help on a terminal', ...pty([node, run, '--help']), terminal: true},
    )
  }
  const notes = []
  const measured = []
  for (const candidate of candidates) {
    if (candidate.needs && !commands.has(candidate.needs)) {
      notes.push(`${candidate.name}: skipped, the command \`${candidate.needs}\` is not in oclif.manifest.json yet`)
      continue
    }
    const check = spawnSync(candidate.command ?? node, candidate.args, {cwd: root, env: scratchEnv, encoding: 'utf8'})
    if (check.status !== 0) {
      notes.push(`${candidate.name}: skipped, exit ${check.status}: ${(check.stderr || check.stdout).trim().split('\n')[0]}`)
      continue
    }
    measured.push({...candidate, samples: []})
  }
  // Warm the page cache for every command before timing any of them.
  for (let i = 0; i < 3; i++) for (const m of measured) timeProcess(m.args, scratchEnv, m.command)
  // Interleaved rounds: slow drift of the machine (thermal, other load) hits every command alike.
  for (let round = 0; round < startupRuns; round++) {
    for (const m of measured) {
      const {ms, status} = timeProcess(m.args, scratchEnv, m.command)
      if (status === 0) m.samples.push(ms)
    }
  }
  const base = summarize(measured.find((m) => m.baseline)?.samples ?? [])
  const terminalBase = summarize(measured.find((m) => m.terminalBaseline)?.samples ?? [])
  const rows = measured.map((m) => {
    const stats = summarize(m.samples)
    const r = ratio(stats.median, m.terminal || m.terminalBaseline ? terminalBase.median : base.median)
    const budgeted = !m.baseline && !m.terminalBaseline && !m.reference
    const withinBudget = budgeted ? budgetRow(m.name, stats.median, 'ms', m.terminal ? 'node -e 0 on a terminal' : 'node -e 0', r, BUDGET.startupRatio) : undefined
    return {name: m.name, ...stats, ratioToNode: r, budget: budgeted ? BUDGET.startupRatio : undefined, withinBudget}
  })
  const table = formatTable(
    ['command', 'median', 'min', 'max', 'runs', 'x node -e 0', `budget ${BUDGET.startupRatio}x`],
    rows.map((r) => [
      r.name,
      formatValue(r.median, 'ms'),
      formatValue(r.min, 'ms'),
      formatValue(r.max, 'ms'),
      String(r.n),
      formatValue(r.ratioToNode, 'x'),
      r.withinBudget === undefined ? '' : r.withinBudget ? 'met' : 'NOT met',
    ]),
  )
  if (!hasScript) notes.push('terminal rows skipped: no `script` (util-linux) to give the command a pty')
  notes.push('terminal rows divide by `node -e 0` run the same way (through `script`), so the pty costs both sides alike')
  return {title: 'Start-up (whole process, wall time)', rows, table, notes}
}

// ---------------------------------------------------------------------------------------------------------
// 3. Scale: splice N environments into configs of M user hosts

const SPLICE_MODES = [
  {mode: 'apply', label: 'applyBlock (pure, in memory)'},
  {mode: 'sync', label: 'syncBlockInFile (read, splice, check, atomic write)'},
  {mode: 'readwrite', label: 'plain read + write of the final file (baseline)'},
  {mode: 'atomic', label: 'read + temp write + fsync + rename (crash-safe floor)'},
]

function runWorker(payload) {
  return new Promise((resolve) => {
    const child = spawn(node, [path.join(root, 'scripts', 'bench', 'splice-worker.mjs'), JSON.stringify(payload)], {
      cwd: root,
      env: scratchEnv,
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (chunk) => (stdout += chunk))
    child.stderr.on('data', (chunk) => (stderr += chunk))
    // A case that hangs must not hang the benchmark (the whole run has a 10-minute budget).
    const timer = setTimeout(() => child.kill('SIGKILL'), 120_000)
    child.on('close', (code) => {
      clearTimeout(timer)
      if (code !== 0) return resolve({error: (stderr.trim().split('\n').find((l) => /Error/.test(l)) ?? stderr.trim()).slice(0, 300) || `exit ${code}`})
      try {
        resolve(JSON.parse(stdout.trim().split('\n').at(-1)))
      } catch {
        resolve({error: `unreadable worker output: ${stdout.slice(0, 200)}`})
      }
    })
  })
}

/** Wall time and peak memory of the block engine and of a whole file sync, against plain file I/O. */
async function benchSplice() {
  const engine = await importBuilt('lib/ssh-config/index.js', 'applyBlock')
  if (engine.missing) return {title: 'Scale: splice', skipped: `block engine unavailable: ${engine.missing}`}
  const fileLayer = await importBuilt('lib/ssh-config/config-file.js', 'syncBlockInFile')
  const notes = []
  const modes = SPLICE_MODES.filter((m) => m.mode !== 'sync' || !fileLayer.missing)
  if (fileLayer.missing) notes.push(`file sync skipped: ${fileLayer.missing}`)
  const hostSizes = [0, 1000, 10_000]
  const envSizes = quick ? [10, 1000, 10_000] : [10, 100, 1000, 10_000]
  const dir = path.join(scratch, 'splice')
  mkdirSync(dir, {recursive: true})
  const cases = []
  for (const hosts of hostSizes) {
    for (const envs of envSizes) {
      const entry = {hosts, envs}
      for (const {mode} of modes) {
        const result = await runWorker({dist, envs, hosts, mode, dir, budgetMs: quick ? 300 : 1500, minRuns: 3, maxRuns: quick ? 5 : 25})
        if (result.error) {
          notes.push(`${mode} ${envs} envs / ${hosts} hosts failed: ${result.error}`)
          continue
        }
        entry[mode] = {...summarize(result.times), peakRssMiB: result.peakRssKiB / 1024, extraRssMiB: (result.peakRssKiB - result.startRssKiB) / 1024}
        entry.bytes = result.bytes
      }
      entry.syncToReadWrite = ratio(entry.sync?.median, entry.readwrite?.median)
      entry.applyToReadWrite = ratio(entry.apply?.median, entry.readwrite?.median)
      entry.syncToAtomic = ratio(entry.sync?.median, entry.atomic?.median)
      cases.push(entry)
    }
  }
  // A big config (50 MB of user hosts; 10 MB with --quick) synced once, in a process of its own.
  const bigFile = path.join(dir, 'config-big')
  const bigTarget = (quick ? 10 : 50) * 1024 * 1024
  {
    const {openSync: open, writeSync: write, closeSync: close} = await import('node:fs')
    const fd = open(bigFile, 'w', 0o600)
    let written = 0
    for (let i = 0; written < bigTarget; i++) {
      const chunk = `# host ${i}\nHost big-host-${i} bh${i}\n  HostName 127.1.${(i >> 8) & 255}.${i & 255}\n  User dev${i % 7}\n  Port ${2200 + (i % 50)}\n  IdentityFile ~/.ssh/id_ed25519\n\n`
      written += write(fd, chunk)
    }
    close(fd)
  }
  const big = await runWorker({dist, envs: 100, hosts: 0, mode: 'bigsync', dir, file: bigFile})
  rmSync(bigFile, {force: true})
  const bigCase = big.error
    ? undefined
    : {bytes: big.bytes, ms: big.times[0], extraMiB: (big.peakRssKiB - big.startRssKiB) / 1024, memoryRatio: ratio((big.peakRssKiB - big.startRssKiB) * 1024, big.bytes)}
  if (big.error) notes.push(`big config sync failed: ${big.error}`)
  const growth = hostSizes.map((hosts) => {
    const at = (envs, mode) => cases.find((c) => c.hosts === hosts && c.envs === envs)?.[mode]?.median
    return {hosts, apply: ratio(at(10_000, 'apply'), at(1000, 'apply')), sync: ratio(at(10_000, 'sync'), at(1000, 'sync')), readwrite: ratio(at(10_000, 'readwrite'), at(1000, 'readwrite'))}
  })
  const largest = cases.find((c) => c.hosts === 10_000 && c.envs === 10_000)
  if (largest) budgetRow('whole safe write, 10,000 environments into 10,000 hosts', largest.sync?.median, 'ms', `plain read + write (${formatValue(largest.readwrite?.median, 'ms')})`, largest.syncToReadWrite, BUDGET.safeWriteRatio)
  if (bigCase) {
    budgetRow(`sync of a ${(bigCase.bytes / 2 ** 20).toFixed(0)} MB config: peak memory above baseline`, bigCase.extraMiB, 'MiB', `the file's size (${(bigCase.bytes / 2 ** 20).toFixed(0)} MiB)`, bigCase.memoryRatio, BUDGET.bigConfigMemoryRatio, `${formatValue(bigCase.ms, 'ms')}`)
  }
  for (const g of growth) budgetRow(`safe write growth 1,000 -> 10,000 environments, ${g.hosts} user hosts`, g.sync, 'x', '10x more environments', g.sync, BUDGET.growth)
  const med = (s) => formatValue(s?.median, 'ms')
  const table = [
    formatTable(
      ['hosts', 'envs', 'KiB', 'applyBlock', 'sync file', 'sync min-max', 'read+write', 'atomic', 'sync/r+w', 'sync/atomic', 'peak RSS', '+RSS'],
      cases.map((c) => [
        String(c.hosts),
        String(c.envs),
        c.bytes === undefined ? '-' : (c.bytes / 1024).toFixed(0),
        med(c.apply),
        med(c.sync),
        c.sync ? `${formatValue(c.sync.min, 'ms')}-${formatValue(c.sync.max, 'ms')}` : '-',
        med(c.readwrite),
        med(c.atomic),
        formatValue(c.syncToReadWrite, 'x'),
        formatValue(c.syncToAtomic, 'x'),
        formatValue(c.sync?.peakRssMiB, 'MiB'),
        formatValue(c.sync?.extraRssMiB, 'MiB'),
      ]),
    ),
    '',
    bigCase ? `a ${(bigCase.bytes / 2 ** 20).toFixed(1)} MiB config with 100 environments: sync ${formatValue(bigCase.ms, 'ms')}, peak memory ${formatValue(bigCase.extraMiB, 'MiB')} above the process baseline = ${formatValue(bigCase.memoryRatio, 'x')} its size (budget ${BUDGET.bigConfigMemoryRatio}x)` : 'big config: not measured',
    '',
    'growth from 1,000 to 10,000 environments (10.00x = linear):',
    formatTable(
      ['user hosts', 'applyBlock', 'sync file', 'read+write'],
      growth.map((g) => [String(g.hosts), formatValue(g.apply, 'x'), formatValue(g.sync, 'x'), formatValue(g.readwrite, 'x')]),
    ),
  ].join('\n')
  notes.push('each case runs in its own process: "peak RSS" is that process\'s high-water mark, "+RSS" its growth after set-up (imports and generated input)')
  notes.push('hosts = user hosts already in the config, envs = environments spliced in; times are medians of up to 25 runs per case (min/max in the JSON)')
  notes.push('sync file = syncBlockInFile: read, splice, check the rendered block (strict scanner), lock, backup, temp write, fsync, rename; atomic = read + temp write + fsync + rename alone')
  return {title: 'Scale: N environments into a config of M user hosts', bigConfig: bigCase, modes: Object.fromEntries(modes.map((m) => [m.mode, m.label])), cases, growth, table, notes}
}

// ---------------------------------------------------------------------------------------------------------
// 2. No-op sync

function seedEnvironments(count) {
  return Array.from({length: count}, (_, i) => ({
    id: `0199ec15-${(i + 1).toString(16).padStart(4, '0')}-7e92-8e22-8cb6c7ba4df7`,
    name: `bench-${i}`,
    phase: 'ENVIRONMENT_PHASE_RUNNING',
    ssh: {user: 'gitpod_devcontainer', host: `127.3.${(i >> 8) & 255}.${i & 255}`, port: 22},
  }))
}

/** One ListEnvironments call on a fresh connection (what a new process pays), in milliseconds. */
async function apiRoundTrip(sim) {
  const http = await import('node:http')
  const url = new URL(`${sim.url}/gitpod.v1.EnvironmentService/ListEnvironments`)
  const body = JSON.stringify({pagination: {pageSize: 100}, filter: {creatorIds: [sim.subject.id]}})
  const start = performance.now()
  await new Promise((resolve, reject) => {
    const request = http.request(
      url,
      {method: 'POST', agent: false, headers: {'content-type': 'application/json', authorization: `Bearer ${sim.token}`, 'content-length': Buffer.byteLength(body)}},
      (response) => {
        response.resume()
        response.on('end', () => (response.statusCode === 200 ? resolve() : reject(new Error(`ListEnvironments answered ${response.statusCode}`))))
      },
    )
    request.on('error', reject)
    request.end(body)
  })
  return performance.now() - start
}

/**
 * No-op sync: `ona ssh-sync` when the config is already current, against the simulator with 100
 * environments; reported as a ratio to bare node start-up plus one loopback API round trip.
 */
async function benchNoopSync() {
  const title = 'No-op sync (config already current, 100 environments)'
  if (!manifestCommands().has('ssh-sync')) return {title, skipped: 'the `ssh-sync` command is not built yet'}
  const simModule = await importBuilt('lib/simulator/server.js', 'startSimulator')
  if (simModule.missing) return {title, skipped: simModule.missing}
  const sim = await simModule.module.startSimulator({seed: seedEnvironments(100)})
  try {
    // The setup users have: the managed file is the ~/.ssh/config ssh reads, so every sync verifies the
    // aliases with the real ssh -G (a file ssh does not read skips that, which measured the wrong thing).
    const config = path.join(scratchEnv.HOME, '.ssh', 'config')
    mkdirSync(path.dirname(config), {recursive: true, mode: 0o700})
    writeFileSync(config, 'Host github.com\n  User git\n', {mode: 0o600})
    const env = {...scratchEnv, ONA_API_URL: sim.url, ONA_TOKEN: sim.token, ONA_KEYRING: 'off'}
    const verifyCache = path.join(scratchEnv.XDG_STATE_HOME, 'ona', 'verify-cache.json')
    // What the last no-op sync found (sync/unchanged.ts): without it a sync reads and checks the tree again.
    const lastSync = path.join(scratchEnv.XDG_STATE_HOME, 'ona', 'sync-unchanged.json')
    const run = path.join(root, 'bin', 'run.js')
    const first = await timeProcessAsync([run, 'ssh-sync'], env)
    if (first.status !== 0) return {title, skipped: `the first ssh-sync failed (exit ${first.status}): ${first.stderr.trim().split('\n')[0]}`}
    const current = readFileSync(config, 'utf8')
    if (!current.includes('127.3.0.99')) return {title, skipped: 'the first ssh-sync did not write the 100 environments'}
    const firstJson = await new Promise((resolve) => {
      const child = spawn(node, [run, 'ssh-sync', '--json'], {cwd: root, env, stdio: ['ignore', 'pipe', 'ignore']})
      let out = ''
      child.stdout.on('data', (c) => (out += c))
      child.on('close', () => resolve(out))
    })
    let verifiedAliases = 0
    try {
      verifiedAliases = JSON.parse(firstJson).verified ?? 0
    } catch {
      // reported below as 0
    }
    const runs = quick ? 5 : 15
    const sync = []
    const check = []
    const uncached = []
    const reread = []
    const bare = []
    const trip = []
    const listCalls = sim.rpcCount('ListEnvironments')
    for (let i = 0; i < 2; i++) await timeProcessAsync([run, 'ssh-sync'], env)
    const warmCalls = sim.rpcCount('ListEnvironments')
    // The budgeted figures and their baselines, interleaved so that drift in the machine's speed meets them alike.
    for (let i = 0; i < runs; i++) {
      const timed = await timeProcessAsync([run, 'ssh-sync'], env)
      if (timed.status === 0) sync.push(timed.ms)
      const checked = await timeProcessAsync([run, 'ssh-sync', '--check'], env)
      if (checked.status === 0) check.push(checked.ms)
      bare.push((await timeProcessAsync(['-e', '0'], scratchEnv)).ms)
      trip.push(await apiRoundTrip(sim))
    }
    // Then what a no-op costs without what the last runs kept (in a loop of their own: 200 ssh processes
    // at once disturb the machine for the runs right after them).
    for (let i = 0; i < runs; i++) {
      // The last sync's findings forgotten: the block, the tree and its checks again (the ssh -G answers
      // kept), as after any change to a file of the tree.
      rmSync(lastSync, {force: true})
      const again = await timeProcessAsync([run, 'ssh-sync'], env)
      if (again.status === 0) reread.push(again.ms)
      // And the ssh -G answers forgotten too: what verification costs when it runs.
      rmSync(lastSync, {force: true})
      rmSync(verifyCache, {force: true})
      const cold = await timeProcessAsync([run, 'ssh-sync'], env)
      if (cold.status === 0) uncached.push(cold.ms)
    }
    const unchanged = readFileSync(config, 'utf8') === current
    // With friendly aliases on (a third name per entry): a sync that writes reads the tree once more, for
    // the user's own Host names; a no-op is answered like the others.
    const friendly = []
    const friendlyReread = []
    const aliased = await timeProcessAsync([run, 'ssh-sync', '--friendly-aliases'], env)
    if (aliased.status === 0) {
      for (let i = 0; i < 2; i++) await timeProcessAsync([run, 'ssh-sync'], env)
      for (let i = 0; i < runs; i++) {
        const timed = await timeProcessAsync([run, 'ssh-sync'], env)
        if (timed.status === 0) friendly.push(timed.ms)
        rmSync(lastSync, {force: true})
        const again = await timeProcessAsync([run, 'ssh-sync'], env)
        if (again.status === 0) friendlyReread.push(again.ms)
      }
    }
    const rows = {
      sync: summarize(sync),
      check: summarize(check),
      reread: summarize(reread),
      uncached: summarize(uncached),
      friendly: summarize(friendly),
      friendlyReread: summarize(friendlyReread),
      bareNode: summarize(bare),
      roundTrip: summarize(trip),
    }
    const baseline = rows.bareNode.median + rows.roundTrip.median
    const result = {
      ...rows,
      baselineMs: baseline,
      ratio: ratio(rows.sync.median, baseline),
      checkRatio: ratio(rows.check.median, baseline),
      bareRatio: ratio(rows.sync.median, rows.bareNode.median),
      rereadRatio: ratio(rows.reread.median, baseline),
      friendlyRatio: ratio(rows.friendly.median, baseline),
      friendlyRereadRatio: ratio(rows.friendlyReread.median, baseline),
      uncachedRatio: ratio(rows.uncached.median, baseline),
      verifiedAliases,
      listCallsPerSync: (warmCalls - listCalls) / 2,
      configUnchanged: unchanged,
    }
    const table = formatTable(
      ['measure', 'median', 'min', 'max', 'runs'],
      [
        ['ona ssh-sync (no-op)', rows.sync],
        ['ona ssh-sync --check (current)', rows.check],
        ['ona ssh-sync (no-op, last sync forgotten: tree read again)', rows.reread],
        ['ona ssh-sync (no-op, ssh -G answers forgotten too)', rows.uncached],
        ['ona ssh-sync (no-op, friendly aliases on)', rows.friendly],
        ['ona ssh-sync (no-op, friendly aliases on, tree read again)', rows.friendlyReread],
        ['node -e 0', rows.bareNode],
        ['one ListEnvironments round trip (new connection)', rows.roundTrip],
      ].map(([name, s]) => [name, formatValue(s.median, 'ms'), formatValue(s.min, 'ms'), formatValue(s.max, 'ms'), String(s.n)]),
    )
    const base = `node -e 0 + one round trip (${formatValue(baseline, 'ms')})`
    budgetRow('no-op ona ssh-sync, 100 environments', rows.sync.median, 'ms', base, result.ratio, BUDGET.noopRatio)
    budgetRow('ona ssh-sync --check, 100 environments', rows.check.median, 'ms', base, result.checkRatio, BUDGET.noopRatio)
    budgetRow('no-op ona ssh-sync, 100 environments, to node -e 0 alone', rows.sync.median, 'ms', 'node -e 0', result.bareRatio, BUDGET.noopRatio)
    return {
      title,
      ...result,
      table: `${table}\nratio to (node -e 0 + one round trip = ${formatValue(baseline, 'ms')}): ${formatValue(result.ratio, 'x')}, --check ${formatValue(result.checkRatio, 'x')} (budget ${BUDGET.noopRatio}x); to node -e 0 alone: ${formatValue(result.bareRatio, 'x')}; tree read again: ${formatValue(result.rereadRatio, 'x')}; with ssh -G run again: ${formatValue(result.uncachedRatio, 'x')}; friendly aliases on: ${formatValue(result.friendlyRatio, 'x')} (tree read again: ${formatValue(result.friendlyRereadRatio, 'x')})`,
      notes: [
        `managed file: ~/.ssh/config, which ssh reads; ${verifiedAliases} aliases verified with ssh -G by a sync`,
        `${result.listCallsPerSync} ListEnvironments call(s) per sync; config ${unchanged ? 'left unchanged by every no-op run' : 'CHANGED by a no-op run'}`,
      ],
    }
  } finally {
    await sim.close()
  }
}

// ---------------------------------------------------------------------------------------------------------
// 4. Preflight against black holes

function blackHoleCatalog(count) {
  return {
    version: 1,
    sources: {bench: {title: 'benchmark'}},
    categories: {custom: 'benchmark endpoints'},
    endpoints: Array.from({length: count}, (_, i) => ({
      id: `bench.hole-${i}`,
      category: 'custom',
      protocol: 'https',
      host: `hole-${i}.bench.test`,
      port: 443,
      purpose: 'benchmark black hole',
      when: {},
      urls: [`https://hole-${i}.bench.test`],
      sources: ['bench'],
    })),
  }
}

/**
 * Preflight against 40 black-holed endpoints with per-check timeout T: total wall vs T, beside the same
 * checks run one after another. Two kinds of hole, both real sockets on loopback: a DNS server that never
 * answers, and a TCP listener that accepts and then never speaks TLS.
 */
async function benchPreflight() {
  const title = 'Preflight: 40 black-holed endpoints'
  const pre = await importBuilt('lib/preflight/run.js', 'runPreflight')
  if (pre.missing) return {title, skipped: `preflight runner unavailable: ${pre.missing}`}
  const dnsModule = await importBuilt('lib/preflight/dns.js', 'createDnsResolver')
  if (dnsModule.missing) return {title, skipped: dnsModule.missing}
  const {runPreflight} = pre.module
  const dgram = await import('node:dgram')
  const net = await import('node:net')
  const timeoutMs = quick ? 300 : 500
  const count = 40
  const catalog = blackHoleCatalog(count)

  // A DNS server that reads every query and answers none.
  const udp = dgram.createSocket('udp4')
  udp.on('message', () => {})
  await new Promise((resolve) => udp.bind(0, '127.0.0.1', resolve))
  // A TCP server that accepts and then says nothing, so the TLS handshake waits forever.
  const sockets = new Set()
  const silent = net.createServer((socket) => {
    sockets.add(socket)
    socket.on('error', () => {})
    socket.on('close', () => sockets.delete(socket))
  })
  await new Promise((resolve) => silent.listen(0, '127.0.0.1', resolve))
  const silentPort = silent.address().port
  const instant = {description: 'bench: every name is 127.0.0.1', resolve: async () => ({ok: true, v4: ['127.0.0.1'], v6: [], via: 'bench'})}

  const holes = [
    {name: 'DNS never answers', options: {resolver: dnsModule.module.createDnsResolver([`127.0.0.1:${udp.address().port}`])}},
    {name: 'TLS never answers', options: {resolver: instant, portMap: {443: silentPort}}},
  ]
  const base = {timeoutMs, env: {}, onAws: false, runner: 'standard', ide: 'none', only: ['custom']}
  const results = []
  try {
    for (const hole of holes) {
      const parallel = []
      let statuses
      for (let i = 0; i < (quick ? 2 : 5); i++) {
        const start = performance.now()
        const report = await runPreflight({...base, ...hole.options, catalog})
        parallel.push(performance.now() - start)
        statuses = report.counts
      }
      const serialStart = performance.now()
      for (const endpoint of catalog.endpoints) await runPreflight({...base, ...hole.options, catalog: {...catalog, endpoints: [endpoint]}})
      const serialMs = performance.now() - serialStart
      const p = summarize(parallel)
      results.push({hole: hole.name, parallel: p, ratioToTimeout: ratio(p.median, timeoutMs), withinBudget: p.max <= BUDGET.preflightRatio * timeoutMs, serialMs, serialRatioToTimeout: ratio(serialMs, timeoutMs), counts: statuses})
    }
  } finally {
    udp.close()
    for (const socket of sockets) socket.destroy()
    await new Promise((resolve) => silent.close(resolve))
  }
  const table = formatTable(
    ['black hole', 'all at once (median)', 'min', 'max', 'x T', `budget ${BUDGET.preflightRatio}x T`, 'one after another', 'x T'],
    results.map((r) => [
      r.hole,
      formatValue(r.parallel.median, 'ms'),
      formatValue(r.parallel.min, 'ms'),
      formatValue(r.parallel.max, 'ms'),
      formatValue(r.ratioToTimeout, 'x'),
      r.withinBudget ? 'met (max)' : 'NOT met (max)',
      formatValue(r.serialMs, 'ms'),
      formatValue(r.serialRatioToTimeout, 'x'),
    ]),
  )
  const notes = [`per-check timeout T = ${timeoutMs} ms; runPreflight called in-process (no CLI start-up); the serial column runs each endpoint alone, once`]
  // A hole that did not hold (a check passed or was skipped instead of timing out) would make the figure meaningless.
  for (const r of results) if (r.counts?.fail !== count) notes.push(`WARNING: ${r.hole}: expected ${count} failed checks, got ${JSON.stringify(r.counts)}`)
  return {title, timeoutMs, endpoints: count, results, table, notes}
}

// ---------------------------------------------------------------------------------------------------------
// 5. Watch

/** Watch: IP change in the simulator -> config on disk (p50, p95 over 100 changes), RSS after 1,000 changes. */
async function benchWatch() {
  const title = 'Watch: IP change to config on disk'
  if (!manifestCommands().has('ssh-sync')) return {title, skipped: 'the `ssh-sync --watch` command is not built yet'}
  const simModule = await importBuilt('lib/simulator/server.js', 'startSimulator')
  if (simModule.missing) return {title, skipped: simModule.missing}
  const seeds = seedEnvironments(10)
  const sim = await simModule.module.startSimulator({seed: seeds})
  // The setup users have: the managed file is the ~/.ssh/config ssh reads, so every write is checked with
  // the real ssh -G (a file ssh does not read skips that). A home of its own: no other section's block.
  const {env: homeEnv, config} = scratchHome(scratch, 'watch', scratchEnv)
  const sshCalls = countingSsh(scratch, 'watch')
  const env = {...homeEnv, ONA_API_URL: sim.url, ONA_TOKEN: sim.token, ONA_KEYRING: 'off', ONA_SSH: sshCalls.command}
  const child = spawn(node, [path.join(root, 'bin', 'run.js'), 'ssh-sync', '--watch'], {cwd: root, env, stdio: ['ignore', 'ignore', 'pipe']})
  let stderr = ''
  child.stderr.on('data', (chunk) => (stderr = (stderr + chunk).slice(-4000)))
  const exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({code, signal, at: performance.now()})))
  const idleKiB = await idleNodeRssKiB()
  try {
    const ready = await waitForText(config, seeds[0].ssh.host, 15_000)
    if (Number.isNaN(ready)) return {title, skipped: `the watcher did not write the first block within 15 s: ${stderr.trim().split('\n').slice(-2).join(' | ')}`}
    // Let start-up garbage settle before the reference reading.
    await new Promise((r) => setTimeout(r, 500))
    const rssStart = rssKiB(child.pid)
    const measured = quick ? 20 : 100
    const total = flags['watch-changes'] ? Math.max(4, Number(flags['watch-changes'])) : quick ? 200 : 5000
    // The budget's two readings: after 1,000 changes, and at the end (5,000) to see that it stays flat.
    const firstMark = Math.min(quick ? 100 : 1000, total)
    let rssAtMark = Number.NaN
    let sshAtMark = 0
    const latencies = []
    const rssTrend = []
    let missed = 0
    const target = seeds[0].id
    for (let i = 0; i < total; i++) {
      const host = `127.4.${(i >> 8) & 255}.${i & 255}`
      const start = performance.now()
      sim.setSshAddress(target, {host, port: 22, user: 'gitpod_devcontainer'})
      const at = await waitForText(config, `HostName ${host}\n`, 5000)
      if (Number.isNaN(at)) missed++
      else if (i < measured) latencies.push(at - start)
      // The trend tells a leak (keeps climbing) from a heap the GC has not trimmed yet (levels off).
      if ((i + 1) % Math.ceil(total / 4) === 0 || i + 1 === total) rssTrend.push({changes: i + 1, rssMiB: rssKiB(child.pid) / 1024})
      if (i + 1 === firstMark) {
        rssAtMark = rssKiB(child.pid)
        sshAtMark = sshCalls.count()
      }
    }
    await new Promise((r) => setTimeout(r, 500))
    const rssEnd = rssKiB(child.pid)
    const stopStart = performance.now()
    child.kill('SIGTERM')
    const exit = await Promise.race([exited, new Promise((r) => setTimeout(() => r(undefined), 5000))])
    const result = {
      latency: {...summarize(latencies), p50: quantile(latencies, 0.5), p95: quantile(latencies, 0.95)},
      changes: total,
      missed,
      rssStartMiB: rssStart / 1024,
      rssEndMiB: rssEnd / 1024,
      rssGrowth: ratio(rssEnd, rssStart),
      rssTrend,
      sigtermExitMs: exit ? exit.at - stopStart : Number.NaN,
      idleNodeMiB: idleKiB / 1024,
      rssAtMarkMiB: rssAtMark / 1024,
      markChanges: firstMark,
      rssRatio: ratio(rssAtMark, idleKiB),
      flatness: ratio(rssEnd, rssAtMark),
      sshGRuns: sshCalls.count(),
      sshGRunsAtMark: sshAtMark,
    }
    budgetRow(`watch RSS after ${firstMark} changes`, result.rssAtMarkMiB, 'MiB', `idle bare node (${formatValue(result.idleNodeMiB, 'MiB')})`, result.rssRatio, BUDGET.watchRssRatio)
    if (total > firstMark) budgetRow(`watch RSS ${firstMark} -> ${total} changes (flat)`, result.rssEndMiB, 'MiB', `RSS after ${firstMark}`, result.flatness, BUDGET.watchFlat)
    const table = formatTable(
      ['measure', 'value'],
      [
        [`latency p50 (first ${measured} changes)`, formatValue(result.latency.p50, 'ms')],
        ['latency p95', formatValue(result.latency.p95, 'ms')],
        ['latency min / max', `${formatValue(result.latency.min, 'ms')} / ${formatValue(result.latency.max, 'ms')}`],
        ['idle bare node (baseline)', formatValue(result.idleNodeMiB, 'MiB')],
        ['RSS at start', formatValue(result.rssStartMiB, 'MiB')],
        [`RSS after ${firstMark} changes`, `${formatValue(result.rssAtMarkMiB, 'MiB')} (${formatValue(result.rssRatio, 'x')} idle node, budget ${BUDGET.watchRssRatio}x)`],
        [`RSS after ${total} changes`, `${formatValue(result.rssEndMiB, 'MiB')} (${formatValue(result.rssGrowth, 'x')})`],
        ['RSS trend', rssTrend.map((t) => `${t.changes}: ${t.rssMiB.toFixed(0)}`).join(', ') + ' MiB'],
        ['exit after SIGTERM', formatValue(result.sigtermExitMs, 'ms')],
        ['ssh -G runs (verification)', `${result.sshGRunsAtMark} by ${firstMark} changes, ${result.sshGRuns} in all`],
      ],
    )
    const notes = [
      'latency: from setSshAddress in the simulator (which emits the WatchEvents event) to the new HostName in the file',
      'the watcher is started by hand (`ona ssh-sync --watch`), so it runs with the run-time settings; `ona service install` also passes WATCH_NODE_FLAGS to node (lower still: scripts/watch-memory.mjs -- --max-semi-space-size=1 --lite-mode)',
    ]
    notes.push('managed file: ~/.ssh/config in a scratch home, which ssh reads, so each write is checked with the real ssh -G (ONA_SSH is a wrapper that counts the runs and execs ssh)')
    if (missed > 0) notes.push(`WARNING: ${missed} of ${total} changes did not reach the file within 5 s`)
    if (result.sshGRuns === 0) notes.push('WARNING: ssh -G never ran: the figures are for a watcher that does not verify')
    return {title, ...result, table, notes}
  } finally {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGKILL')
      await exited
    }
    await sim.close()
  }
}

// ---------------------------------------------------------------------------------------------------------


/** Spawns ssh -v and resolves with the ms until it logs the server's identification string (the banner). */
function timeToBanner(args, env) {
  return new Promise((resolve) => {
    const started = performance.now()
    const child = spawn('ssh', ['-v', ...args], {env, stdio: ['pipe', 'ignore', 'pipe']})
    let text = ''
    let done = false
    const finish = (ms) => {
      if (done) return
      done = true
      clearTimeout(timer)
      child.kill('SIGKILL')
      resolve(ms)
    }
    const timer = setTimeout(() => finish(Number.NaN), 30_000)
    child.stderr.setEncoding('utf8').on('data', (chunk) => {
      text += chunk
      if (/Remote protocol version/.test(text)) finish(performance.now() - started)
    })
    child.once('exit', () => finish(Number.NaN))
  })
}

async function benchConnect() {
  const title = 'Resolve on connect: ssh start to SSH banner, through the ProxyCommand vs direct'
  if (!manifestCommands().has('ssh-proxy')) return {title, skipped: 'the `ssh-proxy` command is not built yet'}
  if (spawnSync('ssh', ['-V']).error) return {title, skipped: 'no ssh client on PATH'}
  const simModule = await importBuilt('lib/simulator/server.js', 'startSimulator')
  if (simModule.missing) return {title, skipped: simModule.missing}
  // A loopback server that sends the SSH identification string at once: what is timed is ssh's start, the
  // ProxyCommand (node, ona, the API round trips) and the TCP connection, not a server's key exchange.
  const {createServer} = await import('node:net')
  const sockets = new Set()
  const banner = createServer((socket) => {
    sockets.add(socket)
    socket.on('error', () => {})
    socket.once('close', () => sockets.delete(socket))
    socket.write('SSH-2.0-OpenSSH_9.9 ona-bench\r\n')
  })
  await new Promise((resolve) => banner.listen(0, '127.0.0.61', resolve))
  const id = '0199ec15-59d3-7e92-8e22-8cb6c7ba4df7'
  const sim = await simModule.module.startSimulator({seed: [{id, name: 'bench', ssh: {host: '127.0.0.61', port: banner.address().port}}], delays: {keyReadyMs: 1}})
  try {
    const config = path.join(scratch, 'connect', 'config')
    mkdirSync(path.dirname(config), {recursive: true})
    writeFileSync(config, '', {mode: 0o600})
    const env = {...scratchEnv, ONA_API_URL: sim.url, ONA_TOKEN: sim.token, ONA_KEYRING: 'off', ONA_SSH_CONFIG: config}
    const sync = await timeProcessAsync([path.join(root, 'bin', 'run.js'), 'ssh-sync', '--resolve-on-connect'], env)
    if (sync.status !== 0) return {title, skipped: `ona ssh-sync --resolve-on-connect failed (exit ${sync.status}): ${sync.stderr.trim().split('\n')[0]}`}
    const alias = `${id}.gitpod.environment`
    const common = ['-F', config, '-o', 'BatchMode=yes', '-o', 'StrictHostKeyChecking=no', '-o', 'UserKnownHostsFile=/dev/null', '-o', 'LogLevel=DEBUG1']
    const direct = []
    const proxied = []
    // Warm-up (compile cache, key registration), then alternate so machine load hits both alike.
    await timeToBanner([...common, alias], env)
    await timeToBanner([...common, '-o', 'ProxyCommand=none', alias], env)
    const runs = quick ? 5 : 15
    const bare = []
    for (let i = 0; i < runs; i++) {
      proxied.push(await timeToBanner([...common, alias], env))
      direct.push(await timeToBanner([...common, '-o', 'ProxyCommand=none', alias], env))
      bare.push((await timeProcessAsync(['-e', '0'], scratchEnv)).ms)
    }
    const d = summarize(direct)
    const p = summarize(proxied)
    const b = summarize(bare)
    const r = ratio(p.median, d.median)
    // The budget: what the ProxyCommand adds to a connection, against one bare node start.
    const addedRatio = ratio(p.median - d.median, b.median)
    budgetRow('resolve-on-connect: added to reaching the SSH banner', p.median - d.median, 'ms', `node -e 0 (${formatValue(b.median, 'ms')})`, addedRatio, BUDGET.connectRatio)
    const table = formatTable(
      ['connection', 'median', 'min', 'max', 'runs'],
      [
        ['ssh, direct (ProxyCommand=none)', formatValue(d.median, 'ms'), formatValue(d.min, 'ms'), formatValue(d.max, 'ms'), String(d.n)],
        ['ssh through `ona ssh-proxy`', formatValue(p.median, 'ms'), formatValue(p.min, 'ms'), formatValue(p.max, 'ms'), String(p.n)],
        ['ratio proxy / direct', formatValue(r, 'x'), '', '', ''],
        ['node -e 0 (baseline)', formatValue(b.median, 'ms'), formatValue(b.min, 'ms'), formatValue(b.max, 'ms'), String(b.n)],
        [`added / node -e 0 (budget ${BUDGET.connectRatio}x)`, formatValue(addedRatio, 'x'), '', '', ''],
      ],
    )
    return {
      title,
      table,
      direct: d,
      proxied: p,
      ratio: r,
      bareNode: b,
      addedRatio,
      addedMs: p.median - d.median,
      notes: [
        `resolve-on-connect adds ${formatValue(p.median - d.median, 'ms')} to reaching the banner (node + ona start, GetEnvironment, the key check, the TCP relay), ${formatValue(r, 'x')} the direct time`,
        'the server is a loopback stub that sends its banner at once, so both figures are client-side cost only',
      ],
    }
  } finally {
    for (const socket of sockets) socket.destroy()
    banner.close()
    await sim.close()
  }
}

/** The soak (scripts/bench/soak.mjs): its checks and memory readings, reported like the other budgets. */
async function benchSoak() {
  const title = 'Soak: the watcher through 10,000 changes, dropped streams, SIGSTOP, clock jumps, foreign rewrites'
  if (!manifestCommands().has('ssh-sync')) return {title, skipped: 'the `ssh-sync --watch` command is not built yet'}
  const {runSoak, BUDGET: SOAK} = await import('./bench/soak.mjs')
  const changes = flags['soak-changes'] ? Number(flags['soak-changes']) : 10_000
  const result = await runSoak({changes, log: (line) => console.log(`   soak: ${line}`)})
  const first = result.rss[0]
  budgetRow(`soak: RSS over ${result.changes} changes (max over the 25% reading)`, Math.max(...result.rss.map((r) => r.rssMiB)), 'MiB', `RSS at 25% (${formatValue(first.rssMiB, 'MiB')})`, result.flatness, SOAK.flat)
  budgetRow(`soak: RSS after ${result.changes} changes`, result.rss.at(-1).rssMiB, 'MiB', `idle bare node (${formatValue(result.idleNodeMiB, 'MiB')})`, result.rssRatio, SOAK.rssRatio)
  const table = formatTable(
    ['check', '', 'detail'],
    result.checks.map((c) => [c.name, c.ok ? 'ok' : 'FAILED', c.detail]),
  )
  const notes = [
    `${result.changes} changes in ${Math.round(result.seconds)} s; ${result.droppedStreams} dropped streams; ${result.foreignRewrites} in-place rewrites by another program; ${result.sshGRuns} ssh -G runs; ${result.rpc.listEnvironments} listings, ${result.rpc.getEnvironment} GetEnvironment calls`,
    `the watcher's log: started ${result.watcherLog.started}x, ${result.watcherLog.changes} changes, ${result.watcherLog.warnings} warnings (incidents ${JSON.stringify(result.watcherLog.incidents)})`,
  ]
  if (!result.ok) notes.push('WARNING: a check FAILED')
  return {title, ...result, table, notes}
}

const SECTIONS = {startup: benchStartup, splice: benchSplice, 'noop-sync': benchNoopSync, preflight: benchPreflight, watch: benchWatch, connect: benchConnect, soak: benchSoak}
/** Sections a plain run leaves out (minutes long): asked for by name, or --soak. */
const OPT_IN = new Set(flags.soak ? [] : ['soak'])

async function main() {
  if (!existsSync(path.join(root, 'bin', 'run.js')) || !existsSync(dist)) {
    console.error('error: dist/ is missing; run `npm run bench` (it builds first) or `npm run build`')
    process.exitCode = 1
    return
  }
  const started = Date.now()
  const info = machine()
  console.log(`ona benchmark: ${info.cpuModel}, ${info.nproc} cores, ${info.memoryGiB} GiB, node ${info.node}, ${info.platform}${quick ? ' (quick)' : ''}\n`)
  const results = {}
  for (const [name, fn] of Object.entries(SECTIONS)) {
    if (only ? !only.has(name) : OPT_IN.has(name)) continue
    const sectionStart = Date.now()
    let result
    try {
      result = await fn()
    } catch (error) {
      result = {title: name, skipped: `failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`}
    }
    result.seconds = Math.round((Date.now() - sectionStart) / 100) / 10
    results[name] = result
    console.log(`== ${result.title} ${result.skipped ? '(skipped)' : ''}`)
    if (result.skipped) console.log(`   ${result.skipped}`)
    if (result.table) console.log(result.table)
    for (const note of result.notes ?? []) console.log(`   note: ${note}`)
    console.log('')
  }
  if (SUMMARY.length > 0) {
    console.log('== Budgets (issue 11): every figure beside its baseline, measured in this run')
    console.log(
      formatTable(
        ['measure', 'value', 'baseline', 'ratio', 'budget', ''],
        SUMMARY.map((r) => [
          r.measure,
          `${formatValue(r.value, r.unit === 'x' ? 'x' : r.unit)}${r.extra ? ` (${r.extra})` : ''}`,
          r.baseline,
          formatValue(r.ratio, 'x'),
          `${r.budget}x`,
          r.met === undefined ? 'not measured' : r.met ? 'met' : 'NOT met',
        ]),
      ),
    )
    console.log('')
  }
  const report = {
    date: new Date().toISOString(),
    commit: spawnSync('git', ['rev-parse', '--short', 'HEAD'], {cwd: root, encoding: 'utf8'}).stdout?.trim() || undefined,
    machine: info,
    quick,
    seconds: Math.round((Date.now() - started) / 100) / 10,
    budgets: BUDGET,
    summary: SUMMARY,
    sections: Object.fromEntries(Object.entries(results).map(([k, v]) => [k, {...v, table: undefined}])),
  }
  mkdirSync(path.dirname(flags.out), {recursive: true})
  writeFileSync(flags.out, `${JSON.stringify(report, (_key, value) => (typeof value === 'number' && !Number.isFinite(value) ? null : value), 2)}\n`)
  console.log(`finished in ${report.seconds} s; figures written to ${path.relative(process.cwd(), flags.out) || flags.out}`)
}

try {
  await main()
} finally {
  rmSync(scratch, {recursive: true, force: true})
}
