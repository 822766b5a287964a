/**
 * `~user` as OpenSSH expands it: the home directory of `user` in the password database (getpwnam), or no
 * such user. Linux and the BSDs: `getent passwd <user>` when installed (it asks NSS, so LDAP and sssd users
 * are found), else /etc/passwd. macOS: Directory Services (`dscl`), as /etc/passwd there holds only system
 * accounts. Windows: only the current user (OpenSSH for Windows knows no other).
 *
 * Tests inject their own database through `Platform.passwd` (see platform.ts).
 */
import {readFileSync} from 'node:fs'
import os from 'node:os'
import path from 'node:path'

import type {Platform} from './platform.js'

/** A user's home directory, or undefined when there is no such user. */
export type PasswdLookup = (name: string) => string | undefined

/** The home of `name` in passwd(5) text (`name:pw:uid:gid:gecos:home:shell`), first entry wins. */
export function homeInPasswd(text: string, name: string): string | undefined {
  for (const line of text.split('\n')) {
    const fields = line.replace(/\r$/, '').split(':')
    if (fields.length >= 7 && fields[0] === name && fields[5] !== '') return fields[5]
  }
  return undefined
}

/** `NFSHomeDirectory: /Users/x` from `dscl . -read /Users/x NFSHomeDirectory`. */
export function homeInDscl(output: string): string | undefined {
  const match = /^NFSHomeDirectory:\s*(\S.*?)\s*$/m.exec(output)
  return match?.[1]
}

/**
 * A name worth asking the database about. getpwnam takes any string, and NSS knows names like
 * `alice@corp.example` (sssd), `CORP\\bob` (winbind) or non-ASCII ones, so only what cannot be a user name
 * or could be taken for an option is refused: empty, a leading `-`, `/`, `:` (the passwd field separator),
 * NUL and line breaks. It goes to argv, never to a shell.
 */
const USER_NAME = /^[^-/:\0\r\n][^/:\0\r\n]*$/
export const isLookupName = (name: string): boolean => USER_NAME.test(name)

/**
 * One answer per user for the whole process: a lookup may start a process (getent, dscl) that waits on a
 * slow NSS for up to 2 s, synchronously, and watch mode checks the tree after every write.
 */
const answers = new Map<string, string | undefined>()

function run(command: string, args: string[]): string | undefined {
  // node:child_process (about 4 ms to load) only when a lookup runs: a sync that needs none never loads it.
  const result = process.getBuiltinModule('node:child_process').spawnSync(command, args, {encoding: 'utf8', timeout: 2000, stdio: ['ignore', 'pipe', 'ignore']})
  return result.error || result.status !== 0 ? undefined : result.stdout
}

/** The password database of the machine `p` describes, with the current user answered without a process. */
export function systemPasswd(p: Platform): PasswdLookup {
  return (name) => {
    const key = `${p.name}\0${name}`
    if (answers.has(key)) return answers.get(key)
    let home: string | undefined
    const me = safeUserInfo()
    if (me && me.username === name) home = me.homedir
    else if (!USER_NAME.test(name) || p.name === 'win32') home = undefined
    else if (p.name === 'darwin') home = homeInDscl(run('dscl', ['.', '-read', `/Users/${name}`, 'NFSHomeDirectory']) ?? '')
    else {
      const entry = run('getent', ['passwd', name])
      home = entry === undefined ? homeInPasswd(readText('/etc/passwd'), name) : homeInPasswd(entry, name)
    }
    answers.set(key, home)
    return home
  }
}

function safeUserInfo(): {username: string; homedir: string} | undefined {
  try {
    return os.userInfo()
  } catch {
    return undefined
  }
}

function readText(file: string): string {
  try {
    return readFileSync(file, 'utf8')
  } catch {
    return ''
  }
}

/** The lookup in effect for `p`: the injected one, else the machine's. */
export function passwdOf(p: Platform): PasswdLookup {
  return p.passwd ?? systemPasswd(p)
}

/**
 * The user config a plain `ssh` reads: `.ssh/config` in the passwd entry's home (ssh.c takes pw_dir, never
 * $HOME, so a scratch or sudo'd HOME does not move it).
 */
export function sshUserConfig(p: Platform): string {
  const me = safeUserInfo()
  const home = (me ? passwdOf(p)(me.username) : undefined) ?? me?.homedir ?? p.homedir
  return (p.name === 'win32' ? path.win32 : path.posix).join(home, '.ssh', 'config')
}
