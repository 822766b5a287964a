#!/usr/bin/env node
// The watcher's soak (issue 18): the built CLI's `ona ssh-sync --watch` against the simulator for about ten
// minutes, through 10,000 address changes, 50 dropped event streams, a SIGSTOP/SIGCONT of the watcher
// (with a second watcher started meanwhile), the wall clock set back 2 hours and then 24 hours ahead of real
// time (an injected clock: a preload moves Date.now, which is the watcher's wall clock), and the config rewritten in
// place, slowly, by another program while the watcher writes. The managed file is ~/.ssh/config in a
// scratch home, which ssh reads, so every write is checked with the real ssh -G.
//
// At the end it checks: every change reached the file (each address is waited for; the final block
// matches the simulator), each clock jump was noticed (a full listing within 20 s, nothing else listing
// meanwhile), nothing another program wrote is lost, memory stays flat (RSS at 25/50/75/100%
// of the run within BUDGET.flat of the 25% reading), and there were never two watchers (the lock names the
// one watcher at every sample, the second one is refused, the watcher's own log says it started once).
//
//   npm run build && node scripts/bench/soak.mjs [--changes=10000] [--json=FILE]
//   npm run bench -- --soak [--soak-changes=N]       (the same, as a section of the benchmark)
//
// Not part of `npm test`: it takes minutes. `--changes=500` is a short run of every step (about a minute).
import {spawn} from 'node:child_process'
import {mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import {fileURLToPath, pathToFileURL} from 'node:url'
import {parseArgs} from 'node:util'

import {countingSsh, idleNodeRssKiB, rssKiB, scratchHome, waitForText} from './harness.mjs'

const root = fileURLToPath(new URL('../../', import.meta.url))

export const BUDGET = {
  /** Largest RSS of the 50/75/100% readings over the 25% one. */
  flat: 1.1,
  /** RSS at the end over an idle bare node, as the watch section's budget. */
  rssRatio: 2,
}

/** Preloaded into the watcher: its wall clock (Date.now) is moved by a message from the harness. */
const CLOCK_PROBE = `data:text/javascript,${encodeURIComponent(`
const realNow = Date.now
let offset = 0
Date.now = () => realNow() + offset
process.on('message', (message) => {
  if (message && typeof message.clockOffsetMs === 'number') {
    offset = message.clockOffsetMs
    process.send({clockOffsetMs: offset, now: Date.now()})
  }
})
process.channel?.unref()`)}`

/** A program that rewrites the config in place (no rename), in three pieces 150 ms apart, adding a host. */
const SLOW_WRITER = `
const fs = require('node:fs')
const [file, host] = process.argv.slice(1)
const text = 'Host ' + host + '\\n  HostName 127.9.9.9\\n\\n' + fs.readFileSync(file, 'latin1')
const fd = fs.openSync(file, 'r+')
fs.ftruncateSync(fd, 0)
const third = Math.ceil(text.length / 3)
let at = 0
const step = () => {
  fs.writeSync(fd, Buffer.from(text.slice(at, at + third), 'latin1'), 0, undefined, at)
  at += third
  if (at < text.length) setTimeout(step, 150)
  else fs.closeSync(fd)
}
step()`

const sleep = (ms) => new Promise((r) => setTimeout(r, ms))
/** Polls `condition` every 50 ms: true once it holds, false after `timeoutMs`. */
async function until(condition, timeoutMs) {
  for (const end = performance.now() + timeoutMs; performance.now() < end; await sleep(50)) if (condition()) return true
  return condition()
}
const exitOf = (child) => new Promise((resolve) => (child.exitCode !== null || child.signalCode !== null ? resolve({code: child.exitCode, signal: child.signalCode}) : child.once('exit', (code, signal) => resolve({code, signal}))))

/**
 * Runs the soak; `log` gets progress lines. Resolves with the figures and the checks ({name, ok, detail}).
 * @param {{changes?: number, log?: (line: string) => void}} options
 */
export async function runSoak({changes = 10_000, log = () => {}} = {}) {
  const total = Math.max(40, changes)
  const drops = Math.min(50, Math.floor(total / 20))
  const dist = path.join(root, 'dist')
  const {startSimulator} = await import(pathToFileURL(path.join(dist, 'lib/simulator/server.js')).href)
  const {readBlockEnvironments} = await import(pathToFileURL(path.join(dist, 'lib/ssh-config/index.js')).href)
  const {originOf} = await import(pathToFileURL(path.join(dist, 'lib/sync/sync.js')).href)

  const scratch = mkdtempSync(path.join(os.tmpdir(), 'ona-soak-'))
  const seeds = Array.from({length: 10}, (_, i) => ({
    id: `0199ec15-${(i + 1).toString(16).padStart(4, '0')}-7e92-8e22-8cb6c7ba4df7`,
    name: `soak-${i}`,
    phase: 'ENVIRONMENT_PHASE_RUNNING',
    ssh: {user: 'gitpod_devcontainer', host: `127.3.0.${i + 1}`, port: 22},
  }))
  const sim = await startSimulator({seed: seeds})
  const base = {PATH: process.env.PATH ?? '', NO_COLOR: '1', LANG: 'C.UTF-8'}
  const {env: homeEnv, config} = scratchHome(scratch, 'home', base)
  const ssh = countingSsh(scratch, 'soak')
  const env = {...homeEnv, ONA_API_URL: sim.url, ONA_TOKEN: sim.token, ONA_KEYRING: 'off', ONA_SSH: ssh.command}
  const stateDir = path.join(env.XDG_STATE_HOME, 'ona')
  const run = path.join(root, 'bin', 'run.js')

  // The watcher's own log (--json): counted, not kept (the harness must not be what grows).
  const seen = {started: 0, stopped: 0, changes: 0, warnings: 0, incidents: {}, errors: [], clockJumps: 0}
  const startWatcher = (extra = []) => {
    const child = spawn(process.execPath, ['--import', CLOCK_PROBE, run, 'ssh-sync', '--watch', '--json', ...extra], {cwd: root, env, stdio: ['ignore', 'pipe', 'pipe', 'ipc']})
    let stderr = ''
    child.stderr.setEncoding('utf8').on('data', (chunk) => (stderr = (stderr + chunk).slice(-4000)))
    child.stderrTail = () => stderr
    return child
  }
  const watcher = startWatcher()
  let partial = ''
  watcher.stdout.setEncoding('utf8').on('data', (chunk) => {
    const lines = (partial + chunk).split('\n')
    partial = lines.pop()
    for (const line of lines) {
      let event
      try {
        event = JSON.parse(line)
      } catch {
        continue
      }
      if (event.type === 'started') seen.started++
      else if (event.type === 'stopped') seen.stopped++
      else if (event.type === 'change') {
        seen.changes++
        if (/clock jump/.test(event.reason ?? '')) seen.clockJumps++
      } else if (event.type === 'warning') {
        seen.warnings++
        if (event.incident) seen.incidents[event.incident] = (seen.incidents[event.incident] ?? 0) + 1
      } else if (event.type === 'error') seen.errors.push(event.message)
    }
  })
  const watcherExit = exitOf(watcher)

  // Who holds a watch lock for this home, sampled through the run: only ever the one watcher.
  const lockHolders = new Set()
  const sampleLocks = () => {
    for (const name of readdirSync(stateDir, {withFileTypes: true}).filter((d) => /^watch-.*\.lock$/.test(d.name)).map((d) => d.name)) {
      try {
        const pid = JSON.parse(readFileSync(path.join(stateDir, name), 'utf8')).pid
        if (pid !== undefined) lockHolders.add(pid)
      } catch {
        // being replaced: the next sample reads it
      }
    }
  }
  let lockSamples = 0
  const lockTimer = setInterval(() => {
    try {
      sampleLocks()
      lockSamples++
    } catch {
      // no state dir yet
    }
  }, 1000)

  const checks = []
  const check = (name, ok, detail) => checks.push({name, ok: Boolean(ok), detail})
  const rss = []
  const last = new Map(seeds.map((s) => [s.id, s.ssh.host]))
  const missed = []
  const foreignHosts = []
  const clockJumps = []
  let secondWatcher
  let stopped
  const started = performance.now()
  try {
    if (Number.isNaN(await waitForText(config, seeds[9].ssh.host, 30_000))) throw new Error(`the watcher wrote no block within 30 s: ${watcher.stderrTail()}`)
    const idleKiB = await idleNodeRssKiB()
    const at = (fraction) => Math.floor(total * fraction)
    const marks = new Map([[at(0.25), 25], [at(0.5), 50], [at(0.75), 75], [total, 100]])
    const dropEvery = Math.floor(total / drops)
    let dropped = 0
    const foreignAt = new Set([0.7, 0.71, 0.72, 0.73, 0.74].map(at))
    for (let i = 1; i <= total; i++) {
      const seed = seeds[i % seeds.length]
      const host = `127.5.${(i >> 8) & 255}.${i & 255}`
      sim.setSshAddress(seed.id, {host, port: 22, user: 'gitpod_devcontainer'})
      last.set(seed.id, host)
      // The event of this change may be lost with the stream: the listing after the reconnect finds it.
      if (i % dropEvery === 0 && dropped < drops) {
        sim.dropStreams()
        dropped++
      }
      if (i === at(0.3)) {
        // Stopped (Ctrl-Z, a closed lid): a second watcher started meanwhile must not take over.
        watcher.kill('SIGSTOP')
        stopped = performance.now()
        const second = startWatcher()
        let out = ''
        second.stdout.setEncoding('utf8').on('data', (c) => (out += c))
        const timer = setTimeout(() => second.kill('SIGKILL'), 30_000)
        const exit = await exitOf(second)
        clearTimeout(timer)
        // Refused, it prints the error as one JSON document ({"error": {code, message, hint}}).
        let refused
        try {
          refused = JSON.parse(out).error
        } catch {
          refused = undefined
        }
        secondWatcher = {...exit, started: /"type":"started"/.test(out), errorCode: refused?.code, said: (refused?.message ?? second.stderrTail().trim().split('\n')[0] ?? '').slice(0, 200)}
        sampleLocks()
        await sleep(Math.max(0, 3000 - (performance.now() - stopped)))
        watcher.kill('SIGCONT')
        log(`SIGSTOP/SIGCONT at change ${i}: a second watcher exited ${exit.code}: ${secondWatcher.said}`)
      }
      if (i === at(0.5) || i === at(0.6)) {
        // The wall clock set back 2 hours (mtimes now lie in the future), then 24 hours ahead of real time.
        // The watcher must notice (a full listing): the stream's last reconnect and its listing settle
        // first, so the listing counted after the move is the jump's.
        await until(() => sim.openStreams() > 0, 30_000)
        await sleep(1500)
        const before = sim.rpcCount('ListEnvironments')
        const clockOffsetMs = i === at(0.5) ? -2 * 3600_000 : 24 * 3600_000
        await new Promise((resolve) => (watcher.once('message', resolve), watcher.send({clockOffsetMs})))
        const moved = performance.now()
        const noticed = await until(() => sim.rpcCount('ListEnvironments') > before, 20_000)
        clockJumps.push({offsetHours: clockOffsetMs / 3600_000, atChange: i, listedAfterS: noticed ? (performance.now() - moved) / 1000 : Number.NaN})
        log(`clock moved by ${clockOffsetMs / 3600_000} h at change ${i}: ${noticed ? `listed again after ${clockJumps.at(-1).listedAfterS.toFixed(1)} s` : 'NOT listed again within 20 s'}`)
      }
      if (foreignAt.has(i)) {
        // Another program rewrites the file in place, slowly, while the watcher writes this change.
        const foreign = `foreign-${foreignHosts.length}`
        foreignHosts.push(foreign)
        const writer = spawn(process.execPath, ['-e', SLOW_WRITER, config, foreign], {stdio: 'ignore'})
        await exitOf(writer)
      }
      if (Number.isNaN(await waitForText(config, `HostName ${host}\n`, 60_000))) missed.push(i)
      if (marks.has(i)) {
        rss.push({percent: marks.get(i), changes: i, rssMiB: rssKiB(watcher.pid) / 1024, seconds: (performance.now() - started) / 1000})
        log(`${i} changes: watcher RSS ${rss.at(-1).rssMiB.toFixed(1)} MiB, ${Math.round(rss.at(-1).seconds)} s`)
      }
      if (watcher.exitCode !== null || watcher.signalCode !== null) throw new Error(`the watcher exited during the run: ${watcher.stderrTail()}`)
    }
    // Settle: the last write's quiet period and verification.
    await sleep(3000)
    sampleLocks()
    const text = readFileSync(config, 'latin1')
    const block = new Map(readBlockEnvironments(text, {file: config, origin: originOf(sim.url)}).map((e) => [e.id.toLowerCase(), e.host]))
    const wrong = [...last].filter(([id, host]) => block.get(id.toLowerCase()) !== host)
    const idleMiB = idleKiB / 1024
    const flat = Math.max(...rss.slice(1).map((r) => r.rssMiB)) / rss[0].rssMiB
    check('every change reached the file', missed.length === 0, missed.length === 0 ? `${total} of ${total}, each waited for` : `${missed.length} missed (first: change ${missed[0]})`)
    check("the final block matches the simulator's addresses", wrong.length === 0 && block.size === seeds.length, wrong.length === 0 ? `${block.size} environments` : `${wrong.length} differ`)
    check('nothing another program wrote is lost', text.includes('Host github.com\n') && foreignHosts.every((h) => text.includes(`Host ${h}\n`)), `${foreignHosts.length} in-place rewrites, their hosts and the user's own kept`)
    check('memory stays flat', flat <= BUDGET.flat, `RSS ${rss.map((r) => `${r.percent}%: ${r.rssMiB.toFixed(1)}`).join(', ')} MiB; max/25% = ${flat.toFixed(2)} (budget ${BUDGET.flat})`)
    check('never two watchers', lockHolders.size === 1 && lockHolders.has(watcher.pid) && seen.started === 1 && secondWatcher?.errorCode === 'ERR_WATCH_RUNNING' && !secondWatcher.started, `lock holders ${[...lockHolders].join(', ')} over ${lockSamples} samples; watcher started ${seen.started}x; a second one started while it was stopped: exit ${secondWatcher?.code}, ${secondWatcher?.errorCode}`)
    check('each clock jump was noticed (a full listing)', clockJumps.length === 2 && clockJumps.every((c) => Number.isFinite(c.listedAfterS)), clockJumps.map((c) => `${c.offsetHours} h: ${Number.isFinite(c.listedAfterS) ? `listed after ${c.listedAfterS.toFixed(1)} s` : 'not listed'}`).join(', '))
    check('ssh -G verification ran', ssh.count() > 0, `${ssh.count()} ssh -G runs`)
    return {
      changes: total,
      seconds: (performance.now() - started) / 1000,
      droppedStreams: dropped,
      foreignRewrites: foreignHosts.length,
      missed: missed.length,
      idleNodeMiB: idleMiB,
      rss,
      flatness: flat,
      rssRatio: rss.at(-1).rssMiB / idleMiB,
      sshGRuns: ssh.count(),
      watcherLog: seen,
      secondWatcher,
      clockJumps,
      lockHolders: [...lockHolders],
      lockSamples,
      rpc: {listEnvironments: sim.rpcCount('ListEnvironments'), getEnvironment: sim.rpcCount('GetEnvironment')},
      checks,
      ok: checks.every((c) => c.ok),
    }
  } finally {
    clearInterval(lockTimer)
    if (watcher.exitCode === null && watcher.signalCode === null) {
      watcher.kill('SIGCONT')
      watcher.kill('SIGTERM')
      const timer = setTimeout(() => watcher.kill('SIGKILL'), 5000)
      await watcherExit
      clearTimeout(timer)
    }
    await sim.close()
    rmSync(scratch, {recursive: true, force: true})
  }
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const {values} = parseArgs({options: {changes: {type: 'string', default: '10000'}, json: {type: 'string'}}})
  const result = await runSoak({changes: Number(values.changes), log: (line) => console.log(line)})
  for (const c of result.checks) console.log(`${c.ok ? 'ok  ' : 'FAIL'} ${c.name}: ${c.detail}`)
  console.log(`${result.changes} changes in ${Math.round(result.seconds)} s, ${result.droppedStreams} dropped streams, RSS at the end ${result.rssRatio.toFixed(2)}x an idle node (${result.idleNodeMiB.toFixed(1)} MiB)`)
  if (values.json) writeFileSync(values.json, `${JSON.stringify(result, null, 2)}\n`)
  process.exitCode = result.ok ? 0 : 1
}
