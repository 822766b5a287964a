/** Finding the token to use, in one documented order. */
import type {Context} from '../context.js'
import {OnaError} from '../errors.js'
import {apiOriginKey} from '../api/base-url.js'
import {fileGet, keychainGet, keychainTimeoutError} from './token-store.js'

export type TokenSource = 'env' | 'keychain' | 'file'

/** Environment variables that carry a token, in the order they are read (the vendor CLI's, then the SDK's). */
export const TOKEN_ENV_VARS = ['ONA_TOKEN', 'GITPOD_TOKEN', 'ONA_API_KEY', 'GITPOD_API_KEY'] as const

/** The first non-empty token variable, if any. */
export function envToken(env: NodeJS.ProcessEnv): {token: string; variable: string} | undefined {
  for (const variable of TOKEN_ENV_VARS) {
    const value = env[variable]?.trim()
    if (value) return {token: value, variable}
  }
  return undefined
}

/**
 * The token for `apiUrl`: `ONA_TOKEN` / `GITPOD_TOKEN` / `ONA_API_KEY` / `GITPOD_API_KEY`, then the OS
 * keychain (service `ona:<origin>`, e.g. `ona:https://app.ona.com`), then the private file. Throws ERR_NOT_LOGGED_IN when there is none,
 * and ERR_TOKEN_FILE_PERMISSIONS when the only candidate is a file others can read.
 */
export async function resolveToken(ctx: Context, apiUrl: string): Promise<{token: string; source: TokenSource; variable?: string}> {
  const fromEnv = envToken(ctx.env)
  if (fromEnv) return {token: fromEnv.token, source: 'env', variable: fromEnv.variable}
  const keychain = await keychainGet(ctx, apiUrl)
  if (keychain.ok && keychain.value) return {token: keychain.value, source: 'keychain'}
  const timedOut = !keychain.ok && keychain.reason === 'timeout'
  const fromFile = await fileGet(ctx, apiUrl)
  if (fromFile) {
    if (timedOut) ctx.io.warn(`${keychain.detail}; using the token file instead`)
    return {token: fromFile, source: 'file'}
  }
  // A keychain that did not answer may well hold the token: "not logged in" would send the user the wrong way.
  if (timedOut) throw keychainTimeoutError(ctx, keychain.detail)
  throw new OnaError('ERR_NOT_LOGGED_IN', `not logged in to ${apiOriginKey(apiUrl)}`, {
    hint: `Run \`ona login${apiUrl === 'https://app.ona.com/api' ? '' : ` --api-url ${apiUrl}`}\` (or set ONA_TOKEN) first.`,
  })
}
