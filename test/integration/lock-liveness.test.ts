/**
 * The write lock's liveness survives pid reuse: a lock naming a live pid whose process started at another
 * time (Linux tells it) is stale, so the next `ona` takes it over at once instead of timing out.
 */
import {mkdtemp, readFile, rm, writeFile} from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'

import {afterEach, beforeEach, describe, expect, it} from 'vitest'

import {holderAlive, lockPathFor, processStartTime, updateFile} from '../../src/lib/fs/safe-write.js'

let dir: string
beforeEach(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'ona-lock-'))
})
afterEach(async () => {
  await rm(dir, {recursive: true, force: true})
})

describe.runIf(process.platform === 'linux')('write lock liveness (Linux: pid and process start time)', () => {
  it('the start time of this process is stable and names the boot', () => {
    const started = processStartTime(process.pid)
    expect(started).toMatch(/^[0-9a-f-]{36}:\d+$/)
    expect(processStartTime(process.pid)).toBe(started)
    expect(holderAlive(process.pid, started)).toBe(true)
  })

  it.each([
    {name: 'a dead pid', pid: 2 ** 22 + 12345, started: undefined, alive: false},
    {name: 'a live pid with the same start time', pid: process.pid, started: 'self', alive: true},
    {name: 'regression: a live pid reused by another process (other start time)', pid: 1, started: '00000000-0000-0000-0000-000000000000:1', alive: false},
    {name: 'a live pid from a lock without a start time (older ona): alive', pid: 1, started: undefined, alive: true},
  ])('$name', ({pid, started, alive}) => {
    expect(holderAlive(pid, started === 'self' ? processStartTime(process.pid) : started)).toBe(alive)
  })

  it('regression: a fresh lock left by a process whose pid now belongs to another is taken over at once', async () => {
    const file = path.join(dir, 'config')
    await writeFile(file, 'Host a\n')
    // pid 1 is alive, but it is not the process that wrote this lock.
    await writeFile(lockPathFor(file), JSON.stringify({pid: 1, host: os.hostname(), token: 'deadbeef', started: '00000000-0000-0000-0000-000000000000:1'}))
    const started = Date.now()
    await updateFile(file, {transform: (text) => `${text}Host b\n`, lockTimeoutMs: 1500})
    expect(Date.now() - started).toBeLessThan(1500)
    expect(await readFile(file, 'utf8')).toBe('Host a\nHost b\n')
  })
})
