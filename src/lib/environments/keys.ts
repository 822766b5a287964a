/**
 * Making sure the machine's key is registered on an environment: when the environment's
 * `spec.sshPublicKeys` does not hold it, only under ona's own key id (a key another tool added is never
 * removed or replaced), and a refusal for lack of permission is a warning, not a failure. A registration
 * is remembered against the record it was made from, so a stale record does not cause a second call, but
 * a newer one without the key (removed from the environment, or dropped by a restart) registers it again.
 */
import type {ApiClient, CallOptions} from '../api/client.js'
import type {Environment} from '../api/types.js'
import {isOnaError, type Warning} from '../errors.js'
import type {MachineKey} from '../keys/machine-key.js'
import {keyIdentity} from '../keys/openssh.js'

export interface KeyRegistration {
  /** present: already on the environment; registered: added now; denied: the token may not add keys. */
  status: 'present' | 'registered' | 'denied'
  /** The id the key is registered under there (ona's, or another tool's that holds the same key). */
  keyId: string
  warning?: Warning
}

/** The id under which `env` already holds this key (same type and data, any comment), if any. */
export function registeredKeyId(env: Environment, key: Pick<MachineKey, 'publicKey' | 'keyId'>): string | undefined {
  const wanted = keyIdentity(key.publicKey)
  const keys = env.sshPublicKeys ?? []
  // ona's own id first: after a key switch another tool's copy of the old key must not count.
  const own = keys.find((k) => k.id === key.keyId)
  if (own?.value !== undefined && keyIdentity(own.value) === wanted) return own.id
  return keys.find((k) => k.value !== undefined && keyIdentity(k.value) === wanted)?.id
}

/**
 * Registrations made by this process, each with the statusVersion of the record it was made from: a record
 * no newer than that (a listing taken before the registration took effect) does not cause a second call;
 * a newer one that still lacks the key does (the key was removed, or the environment restarted without
 * it). The plane bumps statusVersion with the key's own status, so every record taken after a
 * registration is newer. Bounded: a watcher left running for weeks keeps at most MAX_REMEMBERED.
 */
const done = new Map<string, bigint>()
const MAX_REMEMBERED = 10_000

export async function ensureKeyRegistered(client: ApiClient, env: Environment, key: MachineKey, options: CallOptions = {}): Promise<KeyRegistration> {
  const present = registeredKeyId(env, key)
  if (present) return {status: 'present', keyId: present}
  const memo = `${client.baseUrl}\0${env.id}\0${keyIdentity(key.publicKey)}`
  const at = done.get(memo)
  if (at !== undefined && env.statusVersion <= at) return {status: 'registered', keyId: key.keyId}
  try {
    await client.updateSshPublicKeys(env.id, [{id: key.keyId, value: key.publicKey}], options)
  } catch (error) {
    if (isOnaError(error) && error.code === 'ERR_PERMISSION_DENIED') {
      const name = env.name ? ` (${env.name})` : ''
      return {
        status: 'denied',
        keyId: key.keyId,
        warning: {
          code: 'W_KEY_NOT_REGISTERED',
          message: `could not register ona's SSH key on environment ${env.id}${name}: permission denied; ssh to it works only with a key it already has (a token scoped to one environment cannot add keys: use a personal access token, or add ${key.privateKeyPath}.pub to the environment yourself)`,
        },
      }
    }
    throw error
  }
  done.delete(memo)
  done.set(memo, env.statusVersion)
  if (done.size > MAX_REMEMBERED) done.delete(done.keys().next().value!)
  return {status: 'registered', keyId: key.keyId}
}

/** The key's propagation phase on the environment (`CONTENT_PHASE_READY` when sshd accepts it). */
export function keyPhase(env: Environment, keyId: string): string | undefined {
  return env.sshKeyStatus?.find((k) => k.id === keyId)?.phase
}
