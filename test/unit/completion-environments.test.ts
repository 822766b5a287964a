/**
 * What shell completion remembers of a listing (completion/environments.ts): the words, the per-origin file
 * name the scripts derive in the same way, and the file itself (0600, atomic, rewritten only on a change,
 * never a failure of the command that listed).
 */
import {mkdtemp, readFile, rm, stat, writeFile} from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'

import {afterEach, beforeEach, describe, expect, it} from 'vitest'

import type {ApiClient} from '../../src/lib/api/client.js'
import type {Environment} from '../../src/lib/api/types.js'
import {MAX_REMEMBERED, completionDir, completionWords, originFileName, rememberForCompletion, rememberingListings} from '../../src/lib/completion/environments.js'
import type {Platform} from '../../src/lib/platform/platform.js'

const env = (id: string, name?: string): Environment => ({id, phase: 'ENVIRONMENT_PHASE_RUNNING', statusVersion: 1n, ...(name === undefined ? {} : {name})})

let home: string
let platform: Platform
beforeEach(async () => {
  home = await mkdtemp(path.join(os.tmpdir(), 'ona-complete-'))
  platform = {name: 'linux', homedir: home, env: {HOME: home}}
})
afterEach(async () => {
  await rm(home, {recursive: true, force: true})
})

describe('originFileName', () => {
  it.each([
    ['https://app.ona.com/api', 'https_app.ona.com'],
    ['https://App.Ona.COM:443/api', 'https_app.ona.com'],
    ['https://ona.corp.example:8443/api/v1', 'https_ona.corp.example_8443'],
    ['http://127.0.0.1:8787/api', 'http_127.0.0.1_8787'],
    ['http://localhost:80/api', 'http_localhost'],
    ['http://[::1]:8080/api', 'http_[__1]_8080'],
  ])('%s -> %s', (url, name) => {
    expect(originFileName(url)).toBe(name)
  })
})

describe('completionWords', () => {
  it('offers each id (lower case) and each name that is a safe word, unique among the environments', () => {
    const words = completionWords([
      env('0199EC15-AAAA', 'api-backend'),
      env('0199ec15-bbbb', '$(touch pwned)'),
      env('0199ec15-cccc', '`id`'),
      env('0199ec15-dddd', 'two words'),
      env('0199ec15-eeee', '-oProxyCommand=x'),
      env('0199ec15-ffff', 'twin'),
      env('0199ec15-0000', 'twin'),
      env('0199ec15-1111', 'x'.repeat(101)),
      env('0199ec15-2222', 'ok_name.v2@team+1'),
      env('bad id;rm'),
    ])
    expect(words).toEqual(['0199ec15-0000', '0199ec15-1111', '0199ec15-2222', '0199ec15-aaaa', '0199ec15-bbbb', '0199ec15-cccc', '0199ec15-dddd', '0199ec15-eeee', '0199ec15-ffff', 'api-backend', 'ok_name.v2@team+1'])
  })

  it(`remembers at most ${MAX_REMEMBERED} environments`, () => {
    const many = Array.from({length: MAX_REMEMBERED + 50}, (_, i) => env(`id-${i}`, `name-${i}`))
    expect(completionWords(many)).toHaveLength(2 * MAX_REMEMBERED)
  })
})

describe('rememberForCompletion', () => {
  it('writes one file per origin, 0600, in the cache directory, and leaves it alone when nothing changed', async () => {
    await rememberForCompletion(platform, 'http://127.0.0.1:8787/api', [env('0199ec15-aaaa', 'api-backend')])
    const file = path.join(home, '.cache', 'ona', 'completion', 'http_127.0.0.1_8787')
    expect(completionDir(platform)).toBe(path.dirname(file))
    expect(await readFile(file, 'utf8')).toBe('0199ec15-aaaa\napi-backend\n')
    const first = await stat(file)
    expect(first.mode & 0o777).toBe(0o600)
    await rememberForCompletion(platform, 'http://127.0.0.1:8787/api', [env('0199ec15-aaaa', 'api-backend')])
    expect((await stat(file)).ino).toBe(first.ino)
    await rememberForCompletion(platform, 'http://127.0.0.1:8787/api', [])
    expect(await readFile(file, 'utf8')).toBe('')
  })

  it('never fails the command: a cache directory that cannot be made is skipped', async () => {
    await writeFile(path.join(home, '.cache'), 'a file where the directory would be')
    await expect(rememberForCompletion(platform, 'https://app.ona.com/api', [env('a')])).resolves.toBeUndefined()
  })

  it('remembers full listings of the caller only, and nothing when the listing fails', async () => {
    let fail = false
    const client = {
      baseUrl: 'https://app.ona.com/api',
      listEnvironments: async () => {
        if (fail) throw new Error('API down')
        return {environments: [env('0199ec15-aaaa', 'api-backend')], problems: []}
      },
    } as unknown as ApiClient
    const file = path.join(home, '.cache', 'ona', 'completion', 'https_app.ona.com')
    const remembering = rememberingListings(platform, 'https://app.ona.com/api', client)
    await remembering.listEnvironments({creatorId: 'someone-else'})
    await expect(stat(file)).rejects.toThrow(/ENOENT/)
    expect((await remembering.listEnvironments()).environments).toHaveLength(1)
    expect(await readFile(file, 'utf8')).toBe('0199ec15-aaaa\napi-backend\n')
    fail = true
    await expect(remembering.listEnvironments()).rejects.toThrow('API down')
    expect(await readFile(file, 'utf8')).toBe('0199ec15-aaaa\napi-backend\n')
  })
})
