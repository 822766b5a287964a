/**
 * Runs one keychain operation in a child process. The binding connects to D-Bus synchronously, so a
 * Secret Service that does not answer blocks the whole thread; only a separate process can be given a
 * deadline and killed. Reads `{op, service, legacyService?, oldService?, account, token?}` as JSON on stdin (never
 * argv: other users can read a process's arguments) and writes `{ok, value}` or `{ok: false, error}` on stdout.
 *
 * Self-contained on purpose (no relative imports): tests run it straight from the TypeScript source.
 */
import {AsyncEntry} from '@napi-rs/keyring'

interface Request {
  op: 'get' | 'set' | 'delete'
  service: string
  /** ona 0.1's host-keyed service, only for the origin it may be read for: read and moved on get. */
  legacyService?: string
  /**
   * The service ona 0.1 would have used for this origin, whatever the scheme and port (`ona:host:8443`):
   * removed on set and delete, never read.
   */
  oldService?: string
  account: string
  token?: string
}

async function readStdin(): Promise<string> {
  let text = ''
  for await (const chunk of process.stdin) text += String(chunk)
  return text
}

async function run(request: Request): Promise<unknown> {
  // Pinned to the Secret Service on Linux: the binding's default falls back to the kernel keyring,
  // which forgets the token at logout and keeps a copy behind when the Secret Service write fails.
  const options = {linux: {store: 'secret-service' as const}}
  const entry = new AsyncEntry(request.service, request.account, options)
  const legacy = request.legacyService ? new AsyncEntry(request.legacyService, request.account, options) : undefined
  const old = request.oldService ? new AsyncEntry(request.oldService, request.account, options) : undefined
  switch (request.op) {
    case 'get': {
      const value = await entry.getPassword()
      if (value != null || !legacy) return value ?? null
      const old = await legacy.getPassword()
      if (old == null) return null
      // Moved, not copied: the legacy entry goes only once the origin entry reads back.
      try {
        await entry.setPassword(old)
        if ((await entry.getPassword()) === old) await legacy.deletePassword()
      } catch {
        // Still usable from the legacy entry; the move is tried again next time.
      }
      return old
    }
    case 'set': {
      const token = request.token ?? ''
      try {
        await entry.setPassword(token)
        // Some backends accept a write they cannot read back (a locked collection); only a read proves it.
        if ((await entry.getPassword()) !== token) throw new Error('the token could not be read back after storing it')
      } catch (error) {
        await entry.deletePassword().catch(() => false)
        throw error
      }
      await old?.deletePassword().catch(() => false)
      return null
    }
    case 'delete': {
      const origin = await entry.deletePassword()
      const legacyRemoved = old ? await old.deletePassword() : false
      return {origin, legacy: legacyRemoved}
    }
    default:
      throw new Error('unknown keychain operation')
  }
}

try {
  const value = await run(JSON.parse(await readStdin()) as Request)
  process.stdout.write(JSON.stringify({ok: true, value}))
} catch (error) {
  const message = String((error as Error)?.message ?? error).split('\n')[0]
  process.stdout.write(JSON.stringify({ok: false, error: message}))
}
