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
import path from 'node:path'

import {isOnaError} from '../errors.js'
import {readScopedEntry, writeScopedEntry, type ScopedStateFile} from '../fs/state-file.js'
import type {ApiClient} from './client.js'

interface SubjectEntry {
  token: string
  subjectId: string
}

export function subjectCacheFile(stateDir: string): string {
  return path.join(stateDir, 'subject-cache.json')
}

/** Origins remembered at once (16), the oldest going first. */
const store = (stateDir: string): ScopedStateFile => ({file: subjectCacheFile(stateDir), version: 1})

/** What identifies the token in the file: a hash, never the token itself. */
export function tokenHash(token: string): string {
  return createHash('sha256').update(`ona subject cache\u0000${token}`).digest('hex')
}

/** The subject id kept for this origin and token; undefined when none is (or it was asked with another token). */
export async function cachedSubject(stateDir: string, origin: string, token: string): Promise<string | undefined> {
  const entry = await readScopedEntry<SubjectEntry>(store(stateDir), origin)
  return entry && entry.token === tokenHash(token) && typeof entry.subjectId === 'string' && entry.subjectId !== '' ? entry.subjectId : undefined
}

export async function rememberSubject(stateDir: string, origin: string, token: string, subjectId: string): Promise<void> {
  await writeScopedEntry<SubjectEntry>(store(stateDir), origin, () => ({token: tokenHash(token), subjectId}))
}

export async function forgetSubject(stateDir: string, origin: string): Promise<void> {
  await writeScopedEntry<SubjectEntry>(store(stateDir), origin, () => undefined)
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
