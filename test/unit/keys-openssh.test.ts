/**
 * ona's own OpenSSH encoder (used when ssh-keygen is absent) checked against the real ssh-keygen: the key
 * it writes must be one OpenSSH reads, with the same public key and fingerprint.
 */
import {execFileSync} from 'node:child_process'
import {generateKeyPairSync} from 'node:crypto'
import {mkdtempSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import os from 'node:os'
import path from 'node:path'

import {afterAll, describe, expect, it} from 'vitest'

import {encodeEd25519, fingerprint, keyIdentity, publicKeyFromOpenSshPrivate} from '../../src/lib/keys/openssh.js'

const dir = mkdtempSync(path.join(os.tmpdir(), 'ona-keys-unit-'))
afterAll(() => rmSync(dir, {recursive: true, force: true}))

let haveKeygen = true
try {
  execFileSync('ssh-keygen', ['-?'], {stdio: 'ignore'})
} catch (error) {
  haveKeygen = (error as NodeJS.ErrnoException).code !== 'ENOENT'
}

describe('encodeEd25519', () => {
  it.skipIf(!haveKeygen)('writes a private key ssh-keygen reads back to the same public key and fingerprint', () => {
    const {privateKey} = generateKeyPairSync('ed25519')
    const encoded = encodeEd25519(privateKey, 'ona@test-host')
    const file = path.join(dir, 'node_key')
    writeFileSync(file, encoded.privateKey, {mode: 0o600})
    const derived = execFileSync('ssh-keygen', ['-y', '-f', file], {encoding: 'utf8'}).trim()
    expect(keyIdentity(derived)).toBe(keyIdentity(encoded.publicKey))
    expect(encoded.publicKey.endsWith(' ona@test-host')).toBe(true)
    writeFileSync(`${file}.pub`, `${encoded.publicKey}\n`)
    const listed = execFileSync('ssh-keygen', ['-l', '-f', `${file}.pub`], {encoding: 'utf8'})
    expect(listed.split(' ')[1]).toBe(fingerprint(encoded.publicKey))
  })

  it('pads the private section to 8 bytes whatever the comment length', () => {
    const {privateKey} = generateKeyPairSync('ed25519')
    for (const comment of ['', 'a', 'ab', 'abcdefg', 'ona@a-much-longer-host-name.example']) {
      const {privateKey: text, publicKey} = encodeEd25519(privateKey, comment, 0x01020304)
      expect(publicKeyFromOpenSshPrivate(text)).toBe(keyIdentity(publicKey))
    }
  })
})

describe('publicKeyFromOpenSshPrivate', () => {
  it.skipIf(!haveKeygen)('reads the public key of a passphrase-protected key from its header', () => {
    const file = path.join(dir, 'with_passphrase')
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', 'correct horse', '-C', 'me', '-f', file])
    expect(publicKeyFromOpenSshPrivate(readFileSync(file, 'utf8'))).toBe(keyIdentity(readFileSync(`${file}.pub`, 'utf8')))
  })

  it.each([
    ['a PEM RSA key', '-----BEGIN RSA PRIVATE KEY-----\nMIIEow==\n-----END RSA PRIVATE KEY-----\n'],
    ['garbage in the armour', '-----BEGIN OPENSSH PRIVATE KEY-----\nbm90IGEga2V5\n-----END OPENSSH PRIVATE KEY-----\n'],
    ['a truncated key', '-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAABG5vbmU=\n-----END OPENSSH PRIVATE KEY-----\n'],
    ['an empty file', ''],
  ])('returns undefined for %s', (_, text) => {
    expect(publicKeyFromOpenSshPrivate(text)).toBeUndefined()
  })
})
