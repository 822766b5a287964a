/**
 * Where a personal access token rests between runs: the OS keychain (through @napi-rs/keyring, the
 * maintained successor of the archived keytar that installs from the npm registry alone), or a private
 * file when there is no keychain (headless Linux without a Secret Service).
 *
 * Tokens are keyed by API origin (scheme, host, port): `ona:https://app.ona.com` in the keychain, the
 * same origin in the file. ona 0.1 keyed them by host (`ona:app.ona.com`, `ona:host:8443`); such an entry
 * is READ only for the https origin on the default port of that host (and moved to the origin key when
 * read), so an https install on the default port needs no new login after the upgrade. Logout and a new
 * login REMOVE the host[:port] entry 0.1 would have used for the origin, whatever its scheme and port,
 * so no old token is left behind.
 *
 * Every keychain call is time-boxed: a Secret Service that is locked, waiting for a prompt nobody can
 * answer, or not answering at all must not hang the CLI. The file is refused when group or others can
 * read it, as ssh refuses such keys.
 */
import {randomBytes} from 'node:crypto'
import {constants as fsConstants, existsSync} from 'node:fs'
import {chmod, mkdir, open, rm} from 'node:fs/promises'
import path from 'node:path'
import {fileURLToPath} from 'node:url'

import type {Context} from '../context.js'
import {formatDuration} from '../deadline.js'
import {OnaError} from '../errors.js'
import {apiOriginKey, legacyHostKey, legacyStoredHostKey} from '../api/base-url.js'
import {isMac, isWindows, type Platform} from '../platform/platform.js'
import {mkdirOwned, ownerIn, ownLikeDirectory} from '../fs/safe-write.js'
import {renameWithRetry} from '../platform/rename.js'

/** The keychain account name under each service; one token per API origin. */
export const KEYCHAIN_ACCOUNT = 'personal-access-token'
export const TOKEN_FILE_NAME = 'credentials.json'
const DEFAULT_KEYCHAIN_TIMEOUT_MS = 5000
/**
 * On a macOS terminal, a keychain helper still busy after this long is taken to be behind an access
 * prompt (macOS asks again for each new node binary): the user is told once to answer it.
 */
export const KEYCHAIN_PROMPT_NOTICE_MS = 2000

/** `ona:https://app.ona.com`: one service per API origin so several installs can coexist. */
export function keychainService(apiUrl: string): string {
  return `ona:${apiOriginKey(apiUrl)}`
}

/** ona 0.1's host-keyed service (`ona:app.ona.com`), only for the origin it may stand for; see legacyHostKey. */
export function legacyKeychainService(apiUrl: string): string | undefined {
  const host = legacyHostKey(apiUrl)
  return host === undefined ? undefined : `ona:${host}`
}

/** The service ona 0.1 would have stored `apiUrl`'s token under (`ona:host:8443`): removed, never read. */
export function oldKeychainService(apiUrl: string): string {
  return `ona:${legacyStoredHostKey(apiUrl)}`
}

/** What a delete removed: the origin's entry, and ona 0.1's host-keyed entry for that origin. */
export interface Removed {
  origin: boolean
  legacy: boolean
}

export function tokenFilePath(ctx: Context): string {
  return path.join(ctx.paths.configDir, TOKEN_FILE_NAME)
}

/** `ONA_KEYRING=off` (or `0`, `false`, `file`) forces the file store: for tests and headless users. */
export function keychainDisabled(env: NodeJS.ProcessEnv): boolean {
  const value = (env.ONA_KEYRING ?? '').trim().toLowerCase()
  return value === 'off' || value === '0' || value === 'false' || value === 'no' || value === 'file'
}

function keychainTimeoutMs(env: NodeJS.ProcessEnv): number {
  const value = Number(env.ONA_KEYRING_TIMEOUT_MS)
  return Number.isFinite(value) && value > 0 ? value : DEFAULT_KEYCHAIN_TIMEOUT_MS
}

/** Why the keychain could not be used; `unavailable` and `timeout` mean "fall back to the file". */
export type KeychainResult<T> = {ok: true; value: T} | {ok: false; reason: 'disabled' | 'unavailable' | 'timeout'; detail: string}

/** The worker script beside this module: compiled .js in dist, the .ts source under vitest. */
function workerPath(): string {
  const js = fileURLToPath(new URL('keychain-worker.js', import.meta.url))
  return existsSync(js) ? js : fileURLToPath(new URL('keychain-worker.ts', import.meta.url))
}

/**
 * On Linux the Secret Service lives on the D-Bus session bus; libdbus finds it through
 * DBUS_SESSION_BUS_ADDRESS or `$XDG_RUNTIME_DIR/bus`. With neither, skip the helper process entirely.
 */
function sessionBusMissing(platform: Platform, env: NodeJS.ProcessEnv): string | undefined {
  if (platform.name !== 'linux') return undefined
  if (env.DBUS_SESSION_BUS_ADDRESS) return undefined
  if (env.XDG_RUNTIME_DIR && existsSync(path.join(env.XDG_RUNTIME_DIR, 'bus'))) return undefined
  return 'no D-Bus session bus, so no Secret Service (DBUS_SESSION_BUS_ADDRESS is unset)'
}

function firstLine(error: unknown): string {
  return String((error as Error)?.message ?? error).split('\n')[0] ?? 'unknown error'
}

/**
 * How long a keychain operation may take. Normally the keychain's own short bound (5 s,
 * `ONA_KEYRING_TIMEOUT_MS`); on a macOS terminal, as long as the command's deadline allows, since the
 * keychain may be waiting for the user to answer its access prompt. Never past the command's deadline.
 */
export function keychainWait(ctx: Pick<Context, 'env' | 'platform' | 'interactive' | 'deadline'>): {timeoutMs: number; prompt: boolean} {
  const left = ctx.deadline?.remaining() ?? Number.POSITIVE_INFINITY
  const prompt = isMac(ctx.platform) && ctx.interactive === true
  return {timeoutMs: prompt ? left : Math.min(keychainTimeoutMs(ctx.env), left), prompt}
}

/**
 * The error for a keychain that did not answer and no token file to fall back on: its own code, never
 * "not logged in", with what to do on this platform.
 */
export function keychainTimeoutError(ctx: Pick<Context, 'platform'>, detail: string): OnaError {
  const file = 'or set ONA_KEYRING=off and run `ona login` to keep the token in a private file instead'
  const hint = isMac(ctx.platform)
    ? `macOS asks again for access to ona's keychain item after node is upgraded or moved: run the command in a terminal and answer the prompt (Always Allow stops it asking; ona waits for it there, up to --timeout), ${file}.`
    : isWindows(ctx.platform)
      ? `Windows Credential Manager did not answer; try again, ${file}.`
      : `The Secret Service (gnome-keyring, KWallet) did not answer; unlock it, ${file}.`
  return new OnaError('ERR_KEYCHAIN_TIMEOUT', detail, {hint, details: {platform: ctx.platform.name}})
}

/**
 * Runs one keychain operation in a child process with a deadline (see keychain-worker.ts for why a
 * process). The token travels on stdin, never on the command line.
 */
async function withKeychain<T>(ctx: Context, apiUrl: string, request: {op: 'get' | 'set' | 'delete'; token?: string}): Promise<KeychainResult<T>> {
  if (keychainDisabled(ctx.env)) return {ok: false, reason: 'disabled', detail: 'ONA_KEYRING is off'}
  const noBus = sessionBusMissing(ctx.platform, ctx.env)
  if (noBus) return {ok: false, reason: 'unavailable', detail: noBus}
  const {timeoutMs, prompt} = keychainWait(ctx)
  const {spawn} = await import('node:child_process')
  const waiting = prompt ? undefined : ctx.status?.begin('waiting for the OS keychain...')
  return new Promise((resolve) => {
    let settled = false
    let notice: NodeJS.Timeout | undefined
    const finish = (result: KeychainResult<T>) => {
      if (settled) return
      settled = true
      clearTimeout(timer)
      clearTimeout(notice)
      waiting?.done()
      resolve(result)
    }
    const child = spawn(process.execPath, [workerPath()], {
      stdio: ['pipe', 'pipe', 'ignore'],
      env: ctx.env,
      windowsHide: true,
    })
    const within = prompt
      ? `within ${formatDuration(timeoutMs)}${ctx.deadline ? ` (${ctx.deadline.source})` : ''}: its access prompt was not answered`
      : `within ${Math.round(timeoutMs / 100) / 10} s`
    // No deadline at all (`--timeout 0`) on a macOS terminal: wait for the prompt as long as the user does.
    const timer = Number.isFinite(timeoutMs)
      ? setTimeout(() => {
          child.kill('SIGKILL')
          finish({ok: false, reason: 'timeout', detail: `the ${prompt ? 'macOS' : 'OS'} keychain did not answer ${within}`})
        }, timeoutMs)
      : undefined
    if (prompt && timeoutMs > KEYCHAIN_PROMPT_NOTICE_MS) {
      notice = setTimeout(() => {
        const limit = Number.isFinite(timeoutMs) ? ` (ona waits up to ${formatDuration(timeoutMs)})` : ''
        ctx.io.info(`macOS is asking for access to ona's keychain item ${keychainService(apiUrl)}: answer the prompt on your screen (Always Allow stops it asking again)${limit}`)
      }, KEYCHAIN_PROMPT_NOTICE_MS)
    }
    let out = ''
    child.stdout.setEncoding('utf8')
    child.stdout.on('data', (chunk: string) => {
      if (out.length < 65_536) out += chunk
    })
    child.on('error', (error) => finish({ok: false, reason: 'unavailable', detail: firstLine(error)}))
    child.on('close', () => {
      try {
        const reply = JSON.parse(out) as {ok: boolean; value?: T; error?: string}
        finish(reply.ok ? {ok: true, value: reply.value as T} : {ok: false, reason: 'unavailable', detail: reply.error ?? 'unknown error'})
      } catch {
        finish({ok: false, reason: 'unavailable', detail: 'the keychain helper ended without an answer'})
      }
    })
    child.stdin.on('error', () => {})
    // The worker reads, moves and removes the legacy host-keyed entry in the same process (one spawn).
    child.stdin.end(
      JSON.stringify({op: request.op, service: keychainService(apiUrl), legacyService: legacyKeychainService(apiUrl), oldService: oldKeychainService(apiUrl), account: KEYCHAIN_ACCOUNT, token: request.token}),
    )
  })
}

/**
 * Reads the keychain token for `apiUrl`'s origin; `undefined` value when there is none. A legacy
 * host-keyed entry (https, default port only) is returned and moved to the origin key.
 */
export async function keychainGet(ctx: Context, apiUrl: string): Promise<KeychainResult<string | undefined>> {
  const result = await withKeychain<string | null>(ctx, apiUrl, {op: 'get'})
  return result.ok ? {ok: true, value: result.value ?? undefined} : result
}

/** Stores the token under the origin and reads it back (a failed write leaves no copy); drops ona 0.1's entry for it. */
export function keychainSet(ctx: Context, apiUrl: string, token: string): Promise<KeychainResult<void>> {
  return withKeychain<void>(ctx, apiUrl, {op: 'set', token})
}

/**
 * Deletes the origin's keychain token and the entry ona 0.1 would have stored for it (`ona:host[:port]`,
 * whatever the scheme); value says which there were.
 */
export function keychainDelete(ctx: Context, apiUrl: string): Promise<KeychainResult<Removed>> {
  return withKeychain<Removed>(ctx, apiUrl, {op: 'delete'})
}

interface TokenFile {
  version: 1
  /** API origin (`https://app.ona.com`) -> token; ona 0.1 wrote host keys (`app.ona.com`), see legacyHostKey. */
  tokens: Record<string, string>
}

function emptyFile(): TokenFile {
  return {version: 1, tokens: {}}
}

/**
 * Reads the token file. Missing file: empty. A file group or others can read (or that another user
 * owns) is refused with ERR_TOKEN_FILE_PERMISSIONS; the check uses the opened descriptor, so the file
 * cannot be swapped between check and read.
 */
export async function readTokenFile(ctx: Context): Promise<TokenFile> {
  const file = tokenFilePath(ctx)
  let handle: import('node:fs/promises').FileHandle
  try {
    handle = await open(file, fsConstants.O_RDONLY | (fsConstants.O_NOFOLLOW ?? 0))
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code
    if (code === 'ENOENT') return emptyFile()
    if (code === 'ELOOP') throw new OnaError('ERR_TOKEN_FILE_PERMISSIONS', `the token file ${file} is a symlink; ona only reads a regular file it owns`)
    throw new OnaError('ERR_TOKEN_FILE_PERMISSIONS', `cannot read the token file ${file} (${code ?? 'error'})`)
  }
  try {
    const stat = await handle.stat()
    if (!stat.isFile()) throw new OnaError('ERR_TOKEN_FILE_PERMISSIONS', `the token file ${file} is not a regular file`)
    if (process.platform !== 'win32') {
      if ((stat.mode & 0o077) !== 0) {
        throw new OnaError('ERR_TOKEN_FILE_PERMISSIONS', `the token file ${file} is readable by group or others (mode ${(stat.mode & 0o777).toString(8).padStart(4, '0')}); ona refuses to use it`)
      }
      const uid = process.getuid?.()
      // Root in a home another user owns (sudo -E) reads that user's file: ona gave it to them when it wrote it.
      const homeOwner = uid === 0 ? await ownerIn(path.dirname(file)) : undefined
      if (uid !== undefined && stat.uid !== uid && stat.uid !== homeOwner?.uid) {
        throw new OnaError('ERR_TOKEN_FILE_PERMISSIONS', `the token file ${file} belongs to another user (uid ${stat.uid})`)
      }
    }
    const text = await handle.readFile('utf8')
    try {
      const parsed = JSON.parse(text) as Partial<TokenFile>
      const tokens: Record<string, string> = {}
      for (const [host, value] of Object.entries(parsed.tokens ?? {})) if (typeof value === 'string' && value !== '') tokens[host] = value
      return {version: 1, tokens}
    } catch {
      // Never echo the content: it is a token file.
      throw new OnaError('ERR_TOKEN_FILE_PERMISSIONS', `the token file ${file} is not valid JSON`, {hint: 'Delete it and run `ona login` again.'})
    }
  } finally {
    await handle.close()
  }
}

/** Writes the token file atomically with mode 0600 in a 0700 directory. */
async function writeTokenFile(ctx: Context, data: TokenFile): Promise<void> {
  const file = tokenFilePath(ctx)
  const dir = path.dirname(file)
  await mkdirOwned(dir)
  if (process.platform !== 'win32') await chmod(dir, 0o700)
  const temp = path.join(dir, `.${TOKEN_FILE_NAME}.${randomBytes(6).toString('hex')}.tmp`)
  // Created 0600 from the first byte: never a moment where the token sits in a wider file.
  try {
    const handle = await open(temp, 'wx', 0o600)
    try {
      await handle.writeFile(`${JSON.stringify(data, null, 2)}\n`, 'utf8')
      await handle.sync()
    } finally {
      await handle.close()
    }
    await ownLikeDirectory(temp)
    await renameWithRetry(temp, file)
  } catch (error) {
    // A failed write (ENOSPC, EIO) must not leave a copy of the token behind.
    await rm(temp, {force: true})
    throw error
  }
}

/**
 * The file's token for `apiUrl`'s origin. A legacy host-keyed token (https, default port only) is
 * returned and moved to the origin key; a failed move is not an error (it is tried again next time).
 */
export async function fileGet(ctx: Context, apiUrl: string): Promise<string | undefined> {
  const data = await readTokenFile(ctx)
  const origin = apiOriginKey(apiUrl)
  const found = data.tokens[origin]
  if (found !== undefined) return found
  const legacy = legacyHostKey(apiUrl)
  const old = legacy === undefined ? undefined : data.tokens[legacy]
  if (legacy === undefined || old === undefined) return undefined
  data.tokens[origin] = old
  delete data.tokens[legacy]
  await writeTokenFile(ctx, data).catch(() => undefined)
  return old
}

export async function fileSet(ctx: Context, apiUrl: string, token: string): Promise<string> {
  let data: TokenFile
  try {
    data = await readTokenFile(ctx)
  } catch (error) {
    // A file we refuse to read is one we replace: the new file has the right mode and only the new token.
    if (error instanceof OnaError && error.code === 'ERR_TOKEN_FILE_PERMISSIONS') data = emptyFile()
    else throw error
  }
  data.tokens[apiOriginKey(apiUrl)] = token
  // The origin's token replaces whatever ona 0.1 stored for it (host[:port], any scheme).
  delete data.tokens[legacyStoredHostKey(apiUrl)]
  await writeTokenFile(ctx, data)
  return tokenFilePath(ctx)
}

/**
 * Removes the origin's token, and the host[:port] one ona 0.1 would have stored for that origin (whatever
 * the scheme), from the file (and the file when it becomes empty); says which there were.
 */
export async function fileDelete(ctx: Context, apiUrl: string): Promise<Removed> {
  let data: TokenFile
  try {
    data = await readTokenFile(ctx)
  } catch (error) {
    if (error instanceof OnaError && error.code === 'ERR_TOKEN_FILE_PERMISSIONS') {
      // Logging out must work even when the file is unusable: remove it.
      await rm(tokenFilePath(ctx), {force: true})
      return {origin: true, legacy: false}
    }
    throw error
  }
  const originKey = apiOriginKey(apiUrl)
  const oldKey = legacyStoredHostKey(apiUrl)
  const removed: Removed = {origin: originKey in data.tokens, legacy: oldKey in data.tokens}
  if (!removed.origin && !removed.legacy) return removed
  delete data.tokens[originKey]
  delete data.tokens[oldKey]
  if (Object.keys(data.tokens).length === 0) await rm(tokenFilePath(ctx), {force: true})
  else await writeTokenFile(ctx, data)
  return removed
}
