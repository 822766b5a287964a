/**
 * OpenSSH key formats, for when `ssh-keygen` is not installed (Windows without the OpenSSH client tools,
 * minimal containers): an ed25519 private key in the `openssh-key-v1` format, public key lines, and
 * SHA256 fingerprints. Pure functions over bytes; tests check the output with the real `ssh-keygen`.
 */
import {createHash, randomBytes, type KeyObject} from 'node:crypto'

const MAGIC = Buffer.from('openssh-key-v1\0', 'latin1')
const KEY_TYPE = 'ssh-ed25519'

function sshString(value: Buffer | string): Buffer {
  const bytes = typeof value === 'string' ? Buffer.from(value, 'utf8') : value
  const length = Buffer.alloc(4)
  length.writeUInt32BE(bytes.length)
  return Buffer.concat([length, bytes])
}

function uint32(value: number): Buffer {
  const b = Buffer.alloc(4)
  b.writeUInt32BE(value >>> 0)
  return b
}

/** The public key blob (`string "ssh-ed25519", string pk`) of a raw 32-byte ed25519 public key. */
export function ed25519PublicBlob(publicKey: Buffer): Buffer {
  return Buffer.concat([sshString(KEY_TYPE), sshString(publicKey)])
}

/** Raw seed and public key of a Node ed25519 key pair (through JWK, the one raw export Node has for it). */
export function rawEd25519(privateKey: KeyObject): {seed: Buffer; publicKey: Buffer} {
  const jwk = privateKey.export({format: 'jwk'}) as {d?: string; x?: string; crv?: string}
  if (jwk.crv !== 'Ed25519' || !jwk.d || !jwk.x) throw new Error('not an ed25519 private key')
  return {seed: Buffer.from(jwk.d, 'base64url'), publicKey: Buffer.from(jwk.x, 'base64url')}
}

/** The private key file text (`-----BEGIN OPENSSH PRIVATE KEY-----`, unencrypted) and public key line. */
export function encodeEd25519(privateKey: KeyObject, comment: string, checkInt = randomBytes(4).readUInt32BE()): {privateKey: string; publicKey: string} {
  const {seed, publicKey} = rawEd25519(privateKey)
  const blob = ed25519PublicBlob(publicKey)
  let inner = Buffer.concat([uint32(checkInt), uint32(checkInt), sshString(KEY_TYPE), sshString(publicKey), sshString(Buffer.concat([seed, publicKey])), sshString(comment)])
  // Padded with 1, 2, 3, ... to the cipher block size (8 for "none").
  const pad = (8 - (inner.length % 8)) % 8
  inner = Buffer.concat([inner, Buffer.from(Array.from({length: pad}, (_, i) => i + 1))])
  const body = Buffer.concat([MAGIC, sshString('none'), sshString('none'), sshString(''), uint32(1), sshString(blob), sshString(inner)])
  const base64 = body.toString('base64').replace(/.{1,70}/g, '$&\n')
  return {
    privateKey: `-----BEGIN OPENSSH PRIVATE KEY-----\n${base64}-----END OPENSSH PRIVATE KEY-----\n`,
    publicKey: `${KEY_TYPE} ${blob.toString('base64')} ${comment}`,
  }
}

/**
 * The public key line of an `openssh-key-v1` private key file, read from its unencrypted header, so it
 * works for keys with a passphrase too. Undefined for any other format (PEM, PuTTY).
 */
export function publicKeyFromOpenSshPrivate(text: string): string | undefined {
  const match = /-----BEGIN OPENSSH PRIVATE KEY-----([\s\S]*?)-----END OPENSSH PRIVATE KEY-----/.exec(text)
  if (!match) return undefined
  const body = Buffer.from(match[1]!.replace(/\s+/g, ''), 'base64')
  if (body.length < MAGIC.length || !body.subarray(0, MAGIC.length).equals(MAGIC)) return undefined
  let offset = MAGIC.length
  const read = (): Buffer | undefined => {
    if (offset + 4 > body.length) return undefined
    const length = body.readUInt32BE(offset)
    offset += 4
    if (offset + length > body.length) return undefined
    const value = body.subarray(offset, offset + length)
    offset += length
    return value
  }
  for (let i = 0; i < 3; i++) if (!read()) return undefined // cipher, kdf, kdf options
  if (offset + 4 > body.length || body.readUInt32BE(offset) < 1) return undefined
  offset += 4
  const blob = read()
  if (!blob) return undefined
  const typeLength = blob.length >= 4 ? blob.readUInt32BE(0) : 0
  const type = blob.subarray(4, 4 + typeLength).toString('latin1')
  if (!/^[a-z0-9@.-]+$/.test(type)) return undefined
  return `${type} ${blob.toString('base64')}`
}

/** Type and base64 of a public key line, without the comment: what identifies a key. */
export function keyIdentity(line: string): string | undefined {
  const [type, data] = line.trim().split(/\s+/)
  if (!type || !data || !/^[a-z0-9@.-]+$/.test(type) || !/^[A-Za-z0-9+/]+={0,3}$/.test(data)) return undefined
  return `${type} ${data}`
}

/** `SHA256:...` as `ssh-keygen -l` prints it. */
export function fingerprint(line: string): string {
  const data = line.trim().split(/\s+/)[1] ?? ''
  return `SHA256:${createHash('sha256').update(Buffer.from(data, 'base64')).digest('base64').replace(/=+$/, '')}`
}
