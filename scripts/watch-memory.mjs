#!/usr/bin/env node
// Tells a memory leak in `ona ssh-sync --watch` from RSS that only looks like one. Drives the built CLI's
// watcher (a child process) with IP changes from the simulator (in this process) and, every quarter of the
// run, asks the watcher over IPC for process.memoryUsage() after two full GCs and for V8's heap spaces.
// A leak shows as heapUsed (live objects) climbing; V8 growing its young generation shows as new_space
// and RSS climbing while heapUsed stays level. The heap as it was before those GCs is printed too.
// The managed file is $HOME/.ssh/config, which ssh reads, so each write is checked with ssh -G (ONA_SSH
// is passed on: a wrapper that logs its runs shows how many).
//
//   npm run build && node scripts/watch-memory.mjs [--changes=N] [--gap-ms=MS] [--no-gc] [--smaps] [-- <node flags for the watcher>]
//   e.g. node scripts/watch-memory.mjs --changes=4000 -- --max-semi-space-size=2
//   --no-gc: never collect on demand (the RSS a user sees; forced GCs keep it lower than it is)
//   --smaps: the watcher's anonymous mappings of 1 MiB or more at each reading (Linux)
import {spawn} from 'node:child_process'
import {mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import {fileURLToPath} from 'node:url'
import {parseArgs} from 'node:util'

const root = fileURLToPath(new URL('../', import.meta.url))
const {values: flags, positionals: nodeFlags} = parseArgs({
  options: {changes: {type: 'string', default: '2000'}, 'gap-ms': {type: 'string', default: '0'}, smaps: {type: 'boolean', default: false}, 'no-gc': {type: 'boolean', default: false}},
  allowPositionals: true,
})
const total = Math.max(4, Number(flags.changes))
const gapMs = Number(flags['gap-ms'])

// Preloaded into the watcher; the IPC channel is unref'd so it never keeps the watcher alive.
const probe = `data:text/javascript,${encodeURIComponent(`
import v8 from 'node:v8'
process.on('message', (what) => {
  const before = {usage: process.memoryUsage(), spaces: Object.fromEntries(v8.getHeapSpaceStatistics().filter((s) => s.space_size > 0).map((s) => [s.space_name, s.space_size]))}
  if (what === 'no-gc') return process.send({before})
  globalThis.gc(); globalThis.gc()
  const spaces = Object.fromEntries(v8.getHeapSpaceStatistics().filter((s) => s.space_size > 0).map((s) => [s.space_name, s.space_size]))
  const heap = v8.getHeapStatistics()
  process.send({before, usage: process.memoryUsage(), spaces, malloced: heap.malloced_memory, physical: heap.total_physical_size})
})
process.channel?.unref()`)}`

const {startSimulator} = await import(path.join(root, 'dist/lib/simulator/server.js'))
const seeds = Array.from({length: 10}, (_, i) => ({
  id: `0199ec15-${(i + 1).toString(16).padStart(4, '0')}-7e92-8e22-8cb6c7ba4df7`,
  phase: 'ENVIRONMENT_PHASE_RUNNING',
  ssh: {user: 'gitpod_devcontainer', host: `127.3.0.${i + 1}`, port: 22},
}))
const sim = await startSimulator({seed: seeds})
const scratch = mkdtempSync(path.join(os.tmpdir(), 'ona-watch-memory-'))
const config = path.join(scratch, '.ssh', 'config')
mkdirSync(path.dirname(config), {recursive: true, mode: 0o700})
writeFileSync(config, 'Host github.com\n  User git\n', {mode: 0o600})
const env = {PATH: process.env.PATH, ...(process.env.ONA_SSH ? {ONA_SSH: process.env.ONA_SSH} : {}), ...(process.env.MALLOC_ARENA_MAX ? {MALLOC_ARENA_MAX: process.env.MALLOC_ARENA_MAX} : {}), HOME: scratch, ONA_API_URL: sim.url, ONA_TOKEN: sim.token, ONA_KEYRING: 'off', ONA_SSH_CONFIG: config}
const child = spawn(process.execPath, ['--expose-gc', ...nodeFlags, '--import', probe, path.join(root, 'bin/run.js'), 'ssh-sync', '--watch'], {
  cwd: root,
  env,
  stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
})
// Consumed, so a full pipe never stalls the watcher; only the tail is kept for a failure message.
let stderr = ''
child.stderr.setEncoding('utf8').on('data', (chunk) => (stderr = (stderr + chunk).slice(-4000)))

const ask = () => new Promise((resolve) => (child.once('message', resolve), child.send(flags['no-gc'] ? 'no-gc' : 'mem')))
const status = () => readFileSync(`/proc/${child.pid}/status`, 'utf8')
const statusMiB = (text, field) => Number(new RegExp(`${field}:\\s+(\\d+)`).exec(text)?.[1]) / 1024
const sleep = (ms) => new Promise((r) => setTimeout(r, ms))
async function waitFor(needle) {
  for (const until = Date.now() + 5000; Date.now() < until; await sleep(2)) if (readFileSync(config, 'utf8').includes(needle)) return true
  return false
}
const mib = (bytes) => (bytes / 1048576).toFixed(1)
async function report(changes) {
  const text = status()
  const rss = statusMiB(text, 'VmRSS')
  // Anonymous memory is the process's own (heaps, malloc); file-backed is mostly node's binary, paged in.
  const split = `anon ${statusMiB(text, 'RssAnon').toFixed(0)}, file ${statusMiB(text, 'RssFile').toFixed(0)}`
  const {before, usage, spaces, malloced, physical} = await ask()
  const beforeSpaces = Object.entries(before.spaces).map(([name, size]) => `${name.replace(/_space$/, '')} ${mib(size)}`).join(', ')
  console.log(`${''.padStart(6)}  before GC: heapUsed ${mib(before.usage.heapUsed)}, heapTotal ${mib(before.usage.heapTotal)} | spaces: ${beforeSpaces}`)
  if (!usage) return console.log(`${String(changes).padStart(6)} changes: RSS ${rss.toFixed(0)} MiB (${split}), never collected on demand (--no-gc)`)
  const spaceText = Object.entries(spaces).map(([name, size]) => `${name.replace(/_space$/, '')} ${mib(size)}`).join(', ')
  if (flags.smaps) console.log(anonMappings())
  console.log(`${String(changes).padStart(6)} changes: RSS ${rss.toFixed(0)} MiB (${split}) | after GC: heapUsed ${mib(usage.heapUsed)}, heapTotal ${mib(usage.heapTotal)}, external ${mib(usage.external)}, V8 physical ${mib(physical)}, V8 malloc ${mib(malloced)} MiB | spaces: ${spaceText}`)
}

/** --smaps: the watcher's anonymous mappings of 1 MiB or more (Linux), to see which part grows. */
function anonMappings() {
  const lines = []
  let range = ''
  let name = ''
  for (const line of readFileSync(`/proc/${child.pid}/smaps`, 'utf8').split('\n')) {
    const head = /^([0-9a-f]+-[0-9a-f]+) \S+ \S+ \S+ \S+\s*(.*)$/.exec(line)
    if (head) [, range, name] = head
    const anon = /^Anonymous:\s+(\d+) kB/.exec(line)
    if (anon && Number(anon[1]) >= 1024) lines.push(`    ${(Number(anon[1]) / 1024).toFixed(1).padStart(6)} MiB anon ${range} ${name}`)
  }
  return lines.join('\n')
}

try {
  if (!(await waitFor(seeds[0].ssh.host))) throw new Error(`the watcher wrote no block: ${stderr}`)
  await report(0)
  let missed = 0
  for (let i = 0; i < total; i++) {
    const host = `127.4.${(i >> 8) & 255}.${i & 255}`
    sim.setSshAddress(seeds[0].id, {host, port: 22, user: 'gitpod_devcontainer'})
    if (!(await waitFor(`HostName ${host}\n`))) missed++
    if ((i + 1) % Math.ceil(total / 4) === 0 || i + 1 === total) await report(i + 1)
    if (gapMs > 0) await sleep(gapMs)
  }
  if (missed) console.log(`${missed} changes did not reach the file within 5 s`)
} finally {
  child.kill('SIGTERM')
  await sim.close()
  rmSync(scratch, {recursive: true, force: true})
}
