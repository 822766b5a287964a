// Scratch set-ups and probes shared by `npm run bench` and its soak (scripts/bench/soak.mjs).
import {spawn, spawnSync} from 'node:child_process'
import {mkdirSync, readFileSync, watch, writeFileSync} from 'node:fs'
import path from 'node:path'

/**
 * A scratch home of its own (`<scratch>/<name>`), with ~/.ssh/config holding one user host: the file ssh
 * reads, so ona checks what it writes there with ssh -G, as it does for users. `base`: the environment to
 * start from (PATH, locale); HOME and the XDG directories point into the new home.
 */
export function scratchHome(scratch, name, base) {
  const home = path.join(scratch, name)
  const env = {
    ...base,
    HOME: home,
    XDG_CONFIG_HOME: path.join(home, '.config'),
    XDG_STATE_HOME: path.join(home, '.local', 'state'),
    XDG_CACHE_HOME: path.join(home, '.cache'),
    XDG_DATA_HOME: path.join(home, '.local', 'share'),
  }
  const config = path.join(home, '.ssh', 'config')
  mkdirSync(path.dirname(config), {recursive: true, mode: 0o700})
  mkdirSync(env.XDG_CONFIG_HOME, {recursive: true})
  writeFileSync(config, 'Host github.com\n  User git\n', {mode: 0o600})
  return {home, env, config}
}

/**
 * The OpenSSH client behind a wrapper that counts its runs (passed as ONA_SSH): proof that a measurement
 * took the path with ssh -G, and how often ona ran it. The wrapper execs the real ssh (POSIX sh).
 */
export function countingSsh(scratch, name) {
  const real = spawnSync('sh', ['-c', 'command -v ssh'], {encoding: 'utf8'}).stdout?.trim()
  const log = path.join(scratch, `${name}-ssh-calls.log`)
  const command = path.join(scratch, `${name}-ssh`)
  writeFileSync(log, '')
  writeFileSync(command, `#!/bin/sh\necho "$*" >> '${log}'\nexec '${real || 'ssh'}' "$@"\n`, {mode: 0o755})
  return {command, available: Boolean(real), count: () => readFileSync(log, 'utf8').split('\n').filter((l) => l !== '').length}
}

/** Resident memory of a process in KiB (Linux /proc; ps elsewhere). */
export function rssKiB(pid) {
  try {
    const match = /VmRSS:\s+(\d+)\s+kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))
    if (match) return Number(match[1])
  } catch {
    // not Linux
  }
  const out = spawnSync('ps', ['-o', 'rss=', '-p', String(pid)], {encoding: 'utf8'}).stdout?.trim()
  return out ? Number(out) : Number.NaN
}

/**
 * Resolves with the time at which `file` first contains `needle`, or NaN after `timeoutMs`. Watches the
 * directory (the config is replaced by rename) and polls as a fallback, so a missed event costs at most
 * one poll interval.
 */
export async function waitForText(file, needle, timeoutMs) {
  return new Promise((resolve) => {
    let done = false
    const check = () => {
      if (done) return
      let text = ''
      try {
        text = readFileSync(file, 'utf8')
      } catch {
        return
      }
      if (text.includes(needle)) finish(performance.now())
    }
    const watcher = watch(path.dirname(file), check)
    const poll = setInterval(check, 20)
    const timer = setTimeout(() => finish(Number.NaN), timeoutMs)
    function finish(at) {
      done = true
      watcher.close()
      clearInterval(poll)
      clearTimeout(timer)
      resolve(at)
    }
    check()
  })
}

/** Resident memory of a bare node process that has started and sits idle (the watch budget's baseline). */
export async function idleNodeRssKiB() {
  const idle = spawn(process.execPath, ['-e', 'setInterval(() => {}, 60_000)'], {stdio: 'ignore'})
  await new Promise((r) => setTimeout(r, 1000))
  const kib = rssKiB(idle.pid)
  idle.kill('SIGKILL')
  await new Promise((r) => idle.once('exit', r))
  return kib
}
