// One case of the splice benchmark, in its own process so that its peak memory is its own.
// Usage: node splice-worker.mjs '{"dist": "...", "envs": 1000, "hosts": 10000, "mode": "sync", "dir": "..."}'
// Prints one JSON line: {times: number[], peakRssKiB, startRssKiB, bytes, warnings}.
//
// Every mode does the same set-up (imports, input generation) so the peak-memory figures compare.
import {closeSync, fsyncSync, openSync, readFileSync, renameSync, writeFileSync} from 'node:fs'
import {readFile, writeFile} from 'node:fs/promises'
import path from 'node:path'
import {pathToFileURL} from 'node:url'

import {runsFor} from './stats.mjs'

const options = JSON.parse(process.argv[2] ?? '{}')
const {dist, envs: envCount, hosts: hostCount, mode, dir} = options

/** A user's config of `count` hosts, in the shapes people really write (comments, globals, a wildcard). */
function userConfig(count) {
  const parts = ['# personal settings\nServerAliveInterval 60\nAddKeysToAgent yes\n\n']
  for (let i = 0; i < count; i++) {
    parts.push(
      `# host ${i}\nHost user-host-${i} uh${i}\n  HostName 127.1.${(i >> 8) & 255}.${i & 255}\n  User dev${i % 7}\n  Port ${2200 + (i % 50)}\n  IdentityFile ~/.ssh/id_ed25519\n\n`,
    )
  }
  if (count > 0) parts.push('Host *.internal.example\n  ProxyJump bastion\n')
  return parts.join('')
}

/** `count` environments with distinct ids and loopback-shaped addresses (text only, nothing connects). */
function environments(count, generation = 0) {
  return Array.from({length: count}, (_, i) => ({
    id: `0199ec15-${(i + 1).toString(16).padStart(4, '0')}-7e92-8e22-8cb6c7ba4df7`,
    host: `127.${2 + generation}.${(i >> 8) & 255}.${i & 255}`,
    port: 22,
    user: 'gitpod_devcontainer',
  }))
}

/**
 * A big config synced once: the file is already on disk (written by the bench), so this process's
 * baseline is only node and the imported modules, and its peak is what the sync itself needs.
 */
async function bigSync() {
  const fileLayer = await import(pathToFileURL(path.join(dist, 'lib/ssh-config/config-file.js')).href)
  const envs = environments(envCount)
  const baselineKiB = process.resourceUsage().maxRSS
  const start = performance.now()
  await fileLayer.syncBlockInFile(options.file, envs, {backup: false})
  const ms = performance.now() - start
  process.stdout.write(`${JSON.stringify({times: [ms], startRssKiB: baselineKiB, peakRssKiB: process.resourceUsage().maxRSS, bytes: readFileSync(options.file).byteLength})}\n`)
}

async function main() {
  if (mode === 'bigsync') return bigSync()
  const engine = await import(pathToFileURL(path.join(dist, 'lib/ssh-config/index.js')).href)
  let fileLayer
  try {
    fileLayer = await import(pathToFileURL(path.join(dist, 'lib/ssh-config/config-file.js')).href)
  } catch {
    fileLayer = undefined
  }
  const userText = userConfig(hostCount)
  const envs = environments(envCount)
  const final = engine.applyBlock(userText, envs)
  const file = path.join(dir, `config-${mode}-${envCount}-${hostCount}`)
  const startRssKiB = process.resourceUsage().maxRSS

  /** @type {() => Promise<void> | void} */
  let reset = () => {}
  /** @type {() => Promise<unknown> | unknown} */
  let work
  if (mode === 'apply') {
    work = () => engine.applyBlock(userText, envs)
  } else if (mode === 'sync') {
    if (!fileLayer?.syncBlockInFile) throw new Error('syncBlockInFile is not built')
    reset = () => writeFileSync(file, userText)
    work = () => fileLayer.syncBlockInFile(file, envs)
  } else if (mode === 'readwrite') {
    writeFileSync(file, final.text)
    work = async () => {
      const text = await readFile(file, 'latin1')
      await writeFile(file, text, 'latin1')
    }
  } else if (mode === 'atomic') {
    // The least a crash-safe writer must do: write a temp file, fsync, rename, fsync the directory.
    writeFileSync(file, final.text)
    work = () => {
      const text = readFileSync(file, 'latin1')
      const temp = `${file}.tmp`
      writeFileSync(temp, text, 'latin1')
      const fd = openSync(temp, 'r')
      fsyncSync(fd)
      closeSync(fd)
      renameSync(temp, file)
      const dirFd = openSync(dir, 'r')
      fsyncSync(dirFd)
      closeSync(dirFd)
    }
  } else {
    throw new Error(`unknown mode ${mode}`)
  }

  const once = async () => {
    await reset()
    const start = performance.now()
    await work()
    return performance.now() - start
  }
  const warm = await once()
  const runs = runsFor(warm, {budgetMs: options.budgetMs ?? 1500, min: options.minRuns ?? 3, max: options.maxRuns ?? 25})
  const times = []
  for (let i = 0; i < runs; i++) times.push(await once())
  if (mode === 'sync' && readFileSync(file, 'latin1') !== final.text) throw new Error('syncBlockInFile wrote something other than applyBlock computed')
  process.stdout.write(
    `${JSON.stringify({times, startRssKiB, peakRssKiB: process.resourceUsage().maxRSS, bytes: Buffer.byteLength(final.text, 'latin1'), warnings: final.warnings.length})}\n`,
  )
}

await main()
