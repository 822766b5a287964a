/**
 * The SSH key pair `ona` connects with: one ed25519 pair per machine, created on first need in the ona
 * config directory (`~/.config/ona/ssh/id_ed25519` on Linux, mode 0600; see platform `configDir`), or an
 * existing key the user chose (`--identity-file`, saved in settings.json), whose `.pub` is registered.
 *
 * The key id under which it is registered on environments is one UUID per machine (`ssh/key-id` beside
 * the key), so switching keys replaces ona's own registration instead of piling up new ones, and keys
 * other tools registered are never touched.
 */
import {randomBytes, randomUUID} from 'node:crypto'
import {link, mkdir, readFile, rename, rm, writeFile} from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'

import type {Context} from '../context.js'
import {OnaError} from '../errors.js'
import {mkdirOwned, ownLikeDirectory} from '../fs/safe-write.js'
import {expandHome} from '../platform/platform.js'
import {fingerprint, keyIdentity, publicKeyFromOpenSshPrivate} from './openssh.js'
import {readSmallFile} from '../fs/small-file.js'

export interface MachineKey {
  /** The private key file (what `IdentityFile` names). */
  privateKeyPath: string
  /** `ssh-ed25519 AAAA... comment`: what is registered. */
  publicKey: string
  /** The id this machine registers its key under. */
  keyId: string
  fingerprint: string
  /** False for a key chosen with --identity-file. */
  own: boolean
  /** True when this call generated the key. */
  created: boolean
}

export function keyDir(ctx: Pick<Context, 'paths'>): string {
  return path.join(ctx.paths.configDir, 'ssh')
}

/** Where ona's own private key lives (whether or not it exists yet). */
export function ownKeyPath(ctx: Pick<Context, 'paths'>): string {
  return path.join(keyDir(ctx), 'id_ed25519')
}

/** The private key entries will name: the chosen identity file, else ona's own key. Creates nothing. */
export function plannedKeyPath(ctx: Pick<Context, 'paths' | 'platform'>, identityFile: string | undefined): string {
  return identityFile ? expandHome(ctx.platform, identityFile, ctx.paths.home) : ownKeyPath(ctx)
}

const memo = new Map<string, Promise<MachineKey>>()

/**
 * The key to connect with: `identityFile` when given (it must exist, with its public key beside it or in
 * its OpenSSH header), else ona's own, generated on first call. Safe against two `ona` processes creating
 * it at the same moment: the first to link its file wins, the other uses that one.
 */
export function machineKey(ctx: Pick<Context, 'paths' | 'platform' | 'env'>, options: {identityFile?: string} = {}): Promise<MachineKey> {
  const key = `${ctx.paths.configDir}\0${options.identityFile ?? ''}`
  let pending = memo.get(key)
  if (!pending) {
    pending = loadKey(ctx, options.identityFile)
    memo.set(key, pending)
    pending.catch(() => memo.delete(key))
  }
  return pending
}

async function loadKey(ctx: Pick<Context, 'paths' | 'platform' | 'env'>, identityFile: string | undefined): Promise<MachineKey> {
  const keyId = await machineKeyId(ctx)
  if (identityFile) {
    const privateKeyPath = plannedKeyPath(ctx, identityFile)
    const publicKey = await readPublicKey(privateKeyPath)
    return {privateKeyPath, publicKey, keyId, fingerprint: fingerprint(publicKey), own: false, created: false}
  }
  const privateKeyPath = ownKeyPath(ctx)
  let created = false
  let publicKey = await readPublicKey(privateKeyPath).catch((error: unknown) => {
    if ((error as OnaError).details?.missing) return undefined
    throw error
  })
  if (publicKey === undefined) {
    created = await generate(privateKeyPath)
    publicKey = await readPublicKey(privateKeyPath)
  }
  return {privateKeyPath, publicKey, keyId, fingerprint: fingerprint(publicKey), own: true, created}
}

/** The public key line of a private key: its `.pub`, else the OpenSSH header. */
export async function readPublicKey(privateKeyPath: string): Promise<string> {
  let privateText: string
  try {
    // Not readSmallFile: the key may be any file the user named (--identity-file), on any mount.
    privateText = await readFile(privateKeyPath, 'utf8')
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code
    throw new OnaError('ERR_KEY', code === 'ENOENT' ? `the SSH key ${privateKeyPath} does not exist` : `cannot read the SSH key ${privateKeyPath} (${code ?? 'error'})`, {
      details: {file: privateKeyPath, missing: code === 'ENOENT'},
    })
  }
  const fromPub = await readFile(`${privateKeyPath}.pub`, 'utf8').then(
    (text) => text.trim(),
    () => undefined,
  )
  if (fromPub !== undefined) {
    if (!keyIdentity(fromPub) || /[\r\n]/.test(fromPub)) throw new OnaError('ERR_KEY', `${privateKeyPath}.pub is not one public key line`, {details: {file: `${privateKeyPath}.pub`}})
    const header = publicKeyFromOpenSshPrivate(privateText)
    if (header && header !== keyIdentity(fromPub)) {
      throw new OnaError('ERR_KEY', `${privateKeyPath}.pub does not belong to ${privateKeyPath}`, {details: {file: privateKeyPath}})
    }
    return fromPub
  }
  const header = publicKeyFromOpenSshPrivate(privateText)
  if (!header) throw new OnaError('ERR_KEY', `no public key for ${privateKeyPath}: ${privateKeyPath}.pub is missing and the key is not in OpenSSH format`, {details: {file: privateKeyPath}})
  return header
}

/** One UUID per machine, created with the first key. */
async function machineKeyId(ctx: Pick<Context, 'paths'>): Promise<string> {
  const file = path.join(keyDir(ctx), 'key-id')
  const existing = await readSmallFile(file, 'utf8').then(
    (text) => text.trim(),
    () => undefined,
  )
  if (existing && /^[0-9a-f-]{36}$/.test(existing)) return existing
  await mkdirOwned(keyDir(ctx))
  const temporary = `${file}.${process.pid}.${randomBytes(4).toString('hex')}`
  await writeFile(temporary, `${randomUUID()}\n`, {mode: 0o600})
  await ownLikeDirectory(temporary)
  try {
    if (existing === undefined) await link(temporary, file).catch((error: NodeJS.ErrnoException) => (error.code === 'EEXIST' ? undefined : Promise.reject(error)))
    else await rename(temporary, file)
  } finally {
    await rm(temporary, {force: true})
  }
  return (await readFile(file, 'utf8')).trim()
}

function comment(): string {
  const host = os.hostname().replace(/[^A-Za-z0-9._-]/g, '') || 'machine'
  return `ona@${host}`
}

/** Generates the pair; resolves true when this process's key was the one kept. */
async function generate(privateKeyPath: string): Promise<boolean> {
  const dir = path.dirname(privateKeyPath)
  await mkdirOwned(dir)
  const temporary = path.join(dir, `.${path.basename(privateKeyPath)}.${process.pid}.${randomBytes(4).toString('hex')}`)
  try {
    if (!(await sshKeygen(temporary))) {
      const [{generateKeyPairSync}, {encodeEd25519}] = await Promise.all([import('node:crypto'), import('./openssh.js')])
      const {privateKey} = generateKeyPairSync('ed25519')
      const encoded = encodeEd25519(privateKey, comment())
      await writeFile(temporary, encoded.privateKey, {mode: 0o600})
      await writeFile(`${temporary}.pub`, `${encoded.publicKey}\n`, {mode: 0o644})
    }
    // Under sudo on a user's home, the key is the user's: ssh refuses a key the user cannot read.
    await ownLikeDirectory(temporary)
    await ownLikeDirectory(`${temporary}.pub`)
    // Linking never replaces: the first process to link its key wins. A loser reads the winner's public key
    // from the private key's OpenSSH header until the winner's .pub is renamed into place.
    try {
      await link(temporary, privateKeyPath)
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false
      throw new OnaError('ERR_KEY', `cannot create the SSH key ${privateKeyPath}: ${(error as Error).message}`, {details: {file: privateKeyPath}})
    }
    await rename(`${temporary}.pub`, `${privateKeyPath}.pub`)
    return true
  } finally {
    await rm(temporary, {force: true})
    await rm(`${temporary}.pub`, {force: true})
  }
}

/** `ssh-keygen -t ed25519` into `file`; false when ssh-keygen is not installed. */
function sshKeygen(file: string): Promise<boolean> {
  return new Promise((resolve, reject) => {
    // node:child_process only when a key is made: a sync with the key in place never loads it.
    process.getBuiltinModule('node:child_process').execFile('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', comment(), '-f', file], {timeout: 30_000, windowsHide: true}, (error) => {
      if (!error) return resolve(true)
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return resolve(false)
      reject(new OnaError('ERR_KEY', `ssh-keygen could not create ${file}: ${error.message.split('\n')[0]}`, {details: {file}}))
    })
  })
}
