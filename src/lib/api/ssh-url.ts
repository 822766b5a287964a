/**
 * Strict parsing of the `ssh://user@host:port` URL the management plane reports for a running
 * environment. The result ends up in `~/.ssh/config`, so anything that is not plainly a user, a host
 * and a port is refused rather than guessed at.
 */
import {isIP} from 'node:net'

import type {SshAddress} from './types.js'

const USER = /^[A-Za-z0-9._][A-Za-z0-9._-]{0,63}$/
// RFC 1123 labels; a trailing dot is not accepted because it changes how ssh matches Host patterns.
const HOSTNAME = /^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/

export type SshUrlResult = {ok: true; address: SshAddress} | {ok: false; reason: string}

/**
 * Parses `ssh://user@host[:port]` (port defaults to 22). Rejects other schemes, passwords, paths,
 * queries, fragments, percent-escapes, empty or odd users and hosts, and ports outside 1-65535.
 */
export function parseSshUrl(raw: string): SshUrlResult {
  const fail = (reason: string): SshUrlResult => ({ok: false, reason})
  if (typeof raw !== 'string' || raw === '') return fail('is empty')
  if (/[\s\u0000-\u001F\u007F%\\]/.test(raw)) return fail('contains whitespace, control characters, "%" or "\\"')
  const m = /^ssh:\/\/([^@/?#]+)@(\[[^\]]+\]|[^:/?#[\]]+)(?::(\d{1,5}))?\/?$/i.exec(raw)
  if (!m) return fail(`is not of the form ssh://user@host:port`)
  const [, user = '', hostPart = '', portText] = m
  if (!USER.test(user)) return fail(`has an invalid user "${user}"`)
  let host = hostPart
  if (host.startsWith('[')) {
    host = host.slice(1, -1)
    if (isIP(host) !== 6) return fail(`has an invalid IPv6 host "${host}"`)
  } else if (isIP(host) === 0) {
    if (/^[\d.]+$/.test(host)) return fail(`has an invalid IPv4 host "${host}"`)
    if (!HOSTNAME.test(host)) return fail(`has an invalid host "${host}"`)
  }
  const port = portText === undefined ? 22 : Number(portText)
  if (!Number.isInteger(port) || port < 1 || port > 65_535) return fail(`has an invalid port "${portText}"`)
  return {ok: true, address: {user, host: host.toLowerCase(), port}}
}
