/**
 * The subject id a token belongs to, kept in the state dir so that a listing (`ona ssh-sync`, watch mode,
 * `ona ssh`) is one round trip instead of two (issue 21: GetAuthenticatedIdentity before every
 * ListEnvironments).
 *
 * An id is kept per API origin together with a hash of the token it was asked with (never the token): a
 * new token (`ona login`, another ONA_TOKEN) asks again. A listing with a kept id that the plane refuses
 * (the token expired or was revoked, or the id is not the token's) forgets it and asks GetAuthenticatedIdentity,
 * whose answer (or error) is then what the caller gets.
 */
import {createHash} from 'node:crypto'
import {readFile, rename, rm, writeFile} from 'node:fs/promises'
import path from 'node:path'

import {isOnaError} from '../errors.js'
import type {ApiClient} from './client.js'

const VERSION = 1
/** Origins remembered at once; the oldest goes first. */
const MAX_ENTRIES = 16

interface SubjectEntry {
  token: string
  subjectId: string
  at: number
}

interface SubjectFile {
  version: number
  entries: Record<string, SubjectEntry>
}

export function subjectCacheFile(stateDir: string): string {
  return path.join(stateDir, 'subject-cache.json')
}

/** What identifies the token in the file: a hash, never the token itself. */
export function tokenHash(token: string): string {
  return createHash('sha256').update(`ona subject cache\u0000${token}`).digest('hex')
}

async function readSubjectFile(file: string): Promise<SubjectFile> {
  try {
    const data = JSON.parse(await readFile(file, 'utf8')) as SubjectFile
    if (data && data.version === VERSION && data.entries && typeof data.entries === 'object') return data
  } catch {
    // Missing or damaged: ask the API (it only saves a round trip).
  }
  return {version: VERSION, entries: {}}
}

async function writeSubjectFile(file: string, data: SubjectFile): Promise<void> {
  const temporary = `${file}.${process.pid}.tmp`
  try {
    // Under `sudo -E` the state dir is in a home root does not own: what it creates there is that home's owner's.
    const {mkdirOwned, ownLikeDirectory} = await import('../fs/safe-write.js')
    await mkdirOwned(path.dirname(file))
    await writeFile(temporary, JSON.stringify(data), {mode: 0o600})
    await ownLikeDirectory(temporary)
    await rename(temporary, file)
  } catch {
    await rm(temporary, {force: true}).catch(() => {})
  }
}

/** The subject id kept for this origin and token; undefined when none is (or it was asked with another token). */
export async function cachedSubject(stateDir: string, origin: string, token: string): Promise<string | undefined> {
  const entry = (await readSubjectFile(subjectCacheFile(stateDir))).entries[origin]
  return entry && entry.token === tokenHash(token) && typeof entry.subjectId === 'string' && entry.subjectId !== '' ? entry.subjectId : undefined
}

export async function rememberSubject(stateDir: string, origin: string, token: string, subjectId: string): Promise<void> {
  const file = subjectCacheFile(stateDir)
  const data = await readSubjectFile(file)
  data.entries[origin] = {token: tokenHash(token), subjectId, at: Date.now()}
  data.entries = Object.fromEntries(Object.entries(data.entries).sort(([, a], [, b]) => b.at - a.at).slice(0, MAX_ENTRIES))
  await writeSubjectFile(file, data)
}

export async function forgetSubject(stateDir: string, origin: string): Promise<void> {
  const file = subjectCacheFile(stateDir)
  const data = await readSubjectFile(file)
  if (!(origin in data.entries)) return
  delete data.entries[origin]
  await writeSubjectFile(file, data)
}

/** Errors a listing with a kept subject id may get because of that id: then the API is asked who the token is. */
const REFUSED = new Set(['ERR_AUTH_EXPIRED', 'ERR_PERMISSION_DENIED'])

/**
 * The client with listEnvironments using the kept subject id (one round trip); without one, or when the
 * plane refuses the listing with it, GetAuthenticatedIdentity is asked and its answer kept.
 */
export function withCachedSubject(client: ApiClient, options: {stateDir: string; token: string}): ApiClient {
  const origin = new URL(client.baseUrl).origin
  const listEnvironments: ApiClient['listEnvironments'] = async (callOptions = {}) => {
    if (callOptions.creatorId !== undefined) return client.listEnvironments(callOptions)
    const kept = await cachedSubject(options.stateDir, origin, options.token)
    if (kept !== undefined) {
      try {
        return await client.listEnvironments({...callOptions, creatorId: kept})
      } catch (error) {
        if (!isOnaError(error) || !REFUSED.has(error.code)) throw error
        await forgetSubject(options.stateDir, origin)
      }
    }
    const {subjectId} = await client.getAuthenticatedIdentity(callOptions)
    await rememberSubject(options.stateDir, origin, options.token, subjectId)
    return client.listEnvironments({...callOptions, creatorId: subjectId})
  }
  return {...client, listEnvironments}
}
