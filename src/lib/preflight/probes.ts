/**
 * The network probes behind each preflight check: direct TCP, TLS with SNI and validation, the HTTPS
 * path through a CONNECT proxy, the UDP lighthouse and instance metadata. Each one settles by its own
 * timeout, never rejects, and releases its sockets; none of them retries past its deadline.
 */
import dgram from 'node:dgram'
import http from 'node:http'
import https from 'node:https'
import net, {BlockList, isIP} from 'node:net'
import {randomBytes} from 'node:crypto'
import tls from 'node:tls'

import type {AccessType, CheckStatus} from './types.js'

export interface ProbeOutcome {
  status: CheckStatus
  latencyMs: number
  detail: string
  hint: string | null
}

const PRIVATE = new BlockList()
for (const [net4, prefix] of [['10.0.0.0', 8], ['172.16.0.0', 12], ['192.168.0.0', 16], ['100.64.0.0', 10], ['127.0.0.0', 8], ['169.254.0.0', 16]] as const) {
  PRIVATE.addSubnet(net4, prefix, 'ipv4')
}
for (const [net6, prefix] of [['fc00::', 7], ['fe80::', 10], ['::1', 128]] as const) PRIVATE.addSubnet(net6, prefix, 'ipv6')

/** Whether an address is private (RFC 1918, CGNAT, ULA, loopback, link-local): what a VPC endpoint resolves to. */
export function isPrivateAddress(address: string): boolean {
  const family = isIP(address)
  if (family === 0) return false
  return PRIVATE.check(address, family === 6 ? 'ipv6' : 'ipv4')
}

/** The runner's access classification from the addresses DNS gave: all private = VPC endpoint. */
export function classifyAccess(addresses: string[]): AccessType | null {
  if (addresses.length === 0) return null
  const privateCount = addresses.filter((a) => isPrivateAddress(a)).length
  if (privateCount === addresses.length) return 'vpc_endpoint'
  if (privateCount === 0) return 'public'
  return 'mixed'
}

function since(start: bigint): number {
  return Math.round(Number(process.hrtime.bigint() - start) / 1e5) / 10
}

export interface TcpOutcome extends ProbeOutcome {
  socket?: net.Socket
  address?: string
}

function describeConnectError(code: string | undefined, target: string, timeoutMs: number): {detail: string; hint: string} {
  switch (code) {
    case 'ETIMEDOUT':
    case 'TIMEOUT': {
      return {detail: `no answer from ${target} within ${timeoutMs} ms (packets dropped)`, hint: 'A firewall or security group drops this traffic: allow outbound TCP to this host and port.'}
    }
    case 'ECONNREFUSED': {
      return {detail: `${target} refused the connection`, hint: 'Something rejects the connection (a firewall sending resets, or the wrong address): allow outbound TCP to this host and port.'}
    }
    case 'ENETUNREACH':
    case 'EHOSTUNREACH': {
      return {detail: `no route to ${target} (${code})`, hint: 'This network has no route there: check the subnet route table (NAT gateway, internet gateway or VPC endpoint).'}
    }
    default: {
      return {detail: `cannot connect to ${target} (${code ?? 'unknown error'})`, hint: 'Allow outbound TCP to this host and port.'}
    }
  }
}

/**
 * Opens a direct TCP connection (never through a proxy, as the vendor's runner does) to the first of
 * `addresses` that answers; all are tried at once. On success the open socket is handed back so TLS can
 * reuse it; the caller owns it.
 */
export function probeTcp(addresses: string[], port: number, timeoutMs: number): Promise<TcpOutcome> {
  const start = process.hrtime.bigint()
  const candidates = addresses.slice(0, 4)
  return new Promise((resolve) => {
    const sockets: net.Socket[] = []
    const errors: string[] = []
    let settled = false
    const finish = (outcome: TcpOutcome) => {
      if (settled) return
      settled = true
      clearTimeout(timer)
      for (const s of sockets) if (s !== outcome.socket) s.destroy()
      resolve(outcome)
    }
    const timer = setTimeout(() => {
      const target = candidates.length === 1 ? `${formatHost(candidates[0] ?? '')}:${port}` : `${candidates.length} addresses on port ${port}`
      finish({status: 'fail', latencyMs: since(start), ...describeConnectError('TIMEOUT', target, timeoutMs)})
    }, timeoutMs)
    for (const address of candidates) {
      const socket = net.connect({host: address, port})
      sockets.push(socket)
      socket.once('connect', () => {
        socket.removeAllListeners('error')
        socket.on('error', () => {})
        finish({status: 'pass', latencyMs: since(start), detail: `connected to ${formatHost(address)}:${port}`, hint: null, socket, address})
      })
      socket.once('error', (error: NodeJS.ErrnoException) => {
        errors.push(error.code ?? 'EUNKNOWN')
        if (errors.length === candidates.length) {
          const code = errors.find((c) => c !== 'ECONNREFUSED') ?? errors[0]
          finish({status: 'fail', latencyMs: since(start), ...describeConnectError(code, `${formatHost(address)}:${port}`, timeoutMs)})
        }
      })
    }
  })
}

function formatHost(address: string): string {
  return isIP(address) === 6 ? `[${address}]` : address
}

function nameOf(entity: tls.Certificate | undefined): string {
  if (!entity) return 'an unnamed issuer'
  const cn = Array.isArray(entity.CN) ? entity.CN[0] : entity.CN
  const o = Array.isArray(entity.O) ? entity.O[0] : entity.O
  if (cn && o && !cn.includes(o)) return `${cn} (${o})`
  return cn ?? o ?? 'an unnamed issuer'
}

const UNKNOWN_ISSUER = new Set(['UNABLE_TO_GET_ISSUER_CERT_LOCALLY', 'UNABLE_TO_GET_ISSUER_CERT', 'SELF_SIGNED_CERT_IN_CHAIN', 'DEPTH_ZERO_SELF_SIGNED_CERT', 'UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'CERT_UNTRUSTED'])

/** Judges an established TLS connection: trust chain, expiry and host name, naming the issuer. */
export function judgeCertificate(socket: tls.TLSSocket, servername: string, now: number): Omit<ProbeOutcome, 'latencyMs'> {
  const cert = socket.getPeerCertificate(true) as tls.DetailedPeerCertificate | undefined
  if (!cert || Object.keys(cert).length === 0) {
    return {status: 'fail', detail: 'the server sent no certificate', hint: 'Something between you and the server is not speaking TLS properly; check for a proxy or firewall on this path.'}
  }
  const issuer = nameOf(cert.issuer)
  const authError = socket.authorizationError as unknown as (Error & {code?: string}) | string | null
  const rawCode = typeof authError === 'string' ? authError : (authError?.code ?? authError?.message ?? null)
  // Node folds the host-name check into authorizationError; it is judged below, with the names shown.
  const authCode = rawCode === 'ERR_TLS_CERT_ALTNAME_INVALID' ? null : rawCode
  const validTo = new Date(cert.valid_to)
  if (authCode === 'CERT_HAS_EXPIRED' || (Number.isFinite(validTo.getTime()) && validTo.getTime() < now)) {
    return {status: 'fail', detail: `certificate expired on ${validTo.toISOString().slice(0, 10)} (issuer ${issuer})`, hint: 'The server (or an intercepting proxy) presents an expired certificate; check the system clock, then report it to whoever runs that endpoint or proxy.'}
  }
  if (authCode && UNKNOWN_ISSUER.has(authCode)) {
    return {
      status: 'fail',
      detail: `certificate issued by "${issuer}", which is not a trusted CA (${authCode})`,
      hint: `Probably a TLS-inspecting proxy or firewall: ask to exempt ${servername} from TLS inspection, or trust its CA with NODE_EXTRA_CA_CERTS=/path/to/ca.pem.`,
    }
  }
  if (authCode && authCode !== 'CERT_HAS_EXPIRED') {
    return {status: 'fail', detail: `certificate rejected (${authCode}), issuer ${issuer}`, hint: 'The certificate chain does not validate; check for a TLS-inspecting proxy.'}
  }
  const mismatch = tls.checkServerIdentity(servername, cert)
  if (mismatch) {
    const names = cert.subjectaltname ? cert.subjectaltname.replaceAll('DNS:', '').replaceAll('IP Address:', '') : nameOf(cert.subject)
    return {status: 'fail', detail: `certificate is for ${names}, not ${servername} (issuer ${issuer})`, hint: 'The address answers for another name: check DNS overrides, a VPC endpoint without private DNS, or a proxy.'}
  }
  const days = Math.floor((validTo.getTime() - now) / 86_400_000)
  if (days < 14) {
    return {status: 'warn', detail: `valid, but expires in ${days} day(s) on ${validTo.toISOString().slice(0, 10)} (issuer ${issuer})`, hint: 'The certificate is about to expire; report it to whoever runs this endpoint or proxy.'}
  }
  return {status: 'pass', detail: `valid until ${validTo.toISOString().slice(0, 10)}, issuer ${issuer}`, hint: null}
}

export interface TlsOptions {
  /** Trust these CAs instead of Node's default roots (tests use a per-run CA). */
  ca?: string[]
  now?: number
}

/** Runs a TLS handshake with SNI over an open socket (or a new one), validating the certificate by hand to name the issuer. */
export function probeTls(socket: net.Socket, servername: string, timeoutMs: number, options: TlsOptions = {}): Promise<ProbeOutcome & {tlsSocket?: tls.TLSSocket}> {
  const start = process.hrtime.bigint()
  return new Promise((resolve) => {
    let settled = false
    const tlsSocket = tls.connect({
      socket,
      ...(isIP(servername) === 0 ? {servername} : {}),
      rejectUnauthorized: false,
      ...(options.ca ? {ca: options.ca} : {}),
      ALPNProtocols: ['http/1.1'],
    })
    const finish = (outcome: ProbeOutcome, keep = false) => {
      if (settled) return
      settled = true
      clearTimeout(timer)
      if (!keep) setImmediate(() => tlsSocket.destroy())
      resolve(keep ? {...outcome, tlsSocket} : outcome)
    }
    const timer = setTimeout(() => {
      finish({status: 'fail', latencyMs: since(start), detail: `TCP connected but no TLS handshake within ${timeoutMs} ms`, hint: 'A firewall or proxy holds the connection after it opens (deep packet inspection?); allow TLS to this host.'})
    }, timeoutMs)
    tlsSocket.once('secureConnect', () => {
      const judged = judgeCertificate(tlsSocket, servername, options.now ?? Date.now())
      finish({...judged, latencyMs: since(start)}, true)
    })
    tlsSocket.once('error', (error: NodeJS.ErrnoException) => {
      finish({
        status: 'fail',
        latencyMs: since(start),
        detail: `TLS handshake failed: ${error.code === 'ECONNRESET' ? 'connection reset' : error.message}`,
        hint: error.code === 'ECONNRESET' ? 'The connection was cut during the handshake, typical of a firewall filtering by server name (SNI): allow this host.' : 'Check for a proxy or firewall interfering with TLS to this host.',
      })
    })
  })
}

/** Strips credentials from a proxy URL for display. */
export function redactProxy(proxy: string): string {
  try {
    const url = new URL(proxy)
    if (url.username || url.password) {
      url.username = '***'
      url.password = ''
    }
    return url.toString().replace(/\/$/, '')
  } catch {
    return proxy.replace(/\/\/[^@/]*@/, '//***@')
  }
}

/**
 * The HTTPS path through a CONNECT proxy: CONNECT, TLS with SNI through the tunnel (so a TLS-inspecting
 * proxy shows as an unknown issuer), then one `HEAD /`. Any HTTP answer from the endpoint is a pass.
 */
export function probeProxy(proxy: string, host: string, port: number, timeoutMs: number, options: TlsOptions = {}): Promise<ProbeOutcome> {
  const start = process.hrtime.bigint()
  let proxyUrl: URL
  try {
    proxyUrl = new URL(proxy)
  } catch {
    return Promise.resolve({status: 'fail', latencyMs: 0, detail: 'the configured proxy (HTTPS_PROXY) is not a valid URL', hint: 'Set HTTPS_PROXY to a URL such as http://proxy.example.com:3128.'} as ProbeOutcome)
  }
  const shown = redactProxy(proxy)
  return new Promise((resolve) => {
    let settled = false
    const sockets: net.Socket[] = []
    const finish = (outcome: Omit<ProbeOutcome, 'latencyMs'>) => {
      if (settled) return
      settled = true
      clearTimeout(timer)
      // Outermost first and off the TLS callback stack: destroying the raw socket under a TLS socket
      // from inside its own secureConnect handler crashes Node 24 (SIGSEGV).
      setImmediate(() => {
        for (const s of sockets.reverse()) s.destroy()
      })
      resolve({...outcome, latencyMs: since(start)})
    }
    const timer = setTimeout(() => finish({status: 'fail', detail: `no answer through proxy ${shown} within ${timeoutMs} ms`, hint: 'The proxy did not answer in time: check HTTPS_PROXY, and that the proxy allows this host.'}), timeoutMs)
    const proxyPort = Number(proxyUrl.port || (proxyUrl.protocol === 'https:' ? 443 : 80))
    const proxyHost = proxyUrl.hostname.replace(/^\[|\]$/g, '')
    const headers: Record<string, string> = {host: `${formatHost(host)}:${port}`}
    if (proxyUrl.username) {
      headers['proxy-authorization'] = `Basic ${Buffer.from(`${decodeURIComponent(proxyUrl.username)}:${decodeURIComponent(proxyUrl.password)}`).toString('base64')}`
    }
    const request = (proxyUrl.protocol === 'https:' ? https : http).request({
      host: proxyHost,
      port: proxyPort,
      method: 'CONNECT',
      path: `${formatHost(host)}:${port}`,
      headers,
      agent: false,
      ...(proxyUrl.protocol === 'https:' && options.ca ? {ca: options.ca} : {}),
    })
    request.once('socket', (socket) => sockets.push(socket))
    request.once('error', (error: NodeJS.ErrnoException) => {
      if (error.code === 'ECONNREFUSED') {
        finish({status: 'fail', detail: `proxy ${shown} refused the connection (ECONNREFUSED)`, hint: 'Nothing accepts connections at the proxy address: check the host and port in HTTPS_PROXY / https_proxy, and that the proxy is running.'})
        return
      }
      finish({status: 'fail', detail: `cannot reach proxy ${shown}: ${error.code ?? error.message}`, hint: 'Check HTTPS_PROXY / https_proxy: the proxy itself is unreachable.'})
    })
    request.once('connect', (response, tunnel: net.Socket) => {
      sockets.push(tunnel)
      if (response.statusCode === 407) {
        finish({status: 'fail', detail: `proxy ${shown} wants authentication (407)`, hint: 'Put credentials in the proxy URL (http://user:pass@proxy:port) or ask for an exemption.'})
        return
      }
      if (response.statusCode !== 200) {
        finish({status: 'fail', detail: `proxy ${shown} refused CONNECT to ${host}:${port} (${response.statusCode} ${response.statusMessage ?? ''})`.trim(), hint: `Ask your proxy administrator to allow ${host}:${port}, or add it to NO_PROXY if it is reachable directly.`})
        return
      }
      const secured = tls.connect({socket: tunnel, ...(isIP(host) === 0 ? {servername: host} : {}), rejectUnauthorized: false, ...(options.ca ? {ca: options.ca} : {}), ALPNProtocols: ['http/1.1']})
      sockets.push(secured)
      secured.once('error', (error: NodeJS.ErrnoException) => finish({status: 'fail', detail: `TLS through proxy ${shown} failed: ${error.message}`, hint: 'The proxy cuts TLS to this host; ask to allow it.'}))
      secured.once('secureConnect', () => {
        const judged = judgeCertificate(secured, host, options.now ?? Date.now())
        if (judged.status === 'fail') {
          finish({...judged, detail: `through proxy ${shown}: ${judged.detail}`})
          return
        }
        let buffer = ''
        secured.on('data', (chunk: Buffer) => {
          buffer += chunk.toString('latin1')
          const line = /^HTTP\/\d(?:\.\d)? (\d{3})/.exec(buffer)
          if (line) finish({status: judged.status, detail: `through proxy ${shown}: HTTP ${line[1]}; ${judged.detail}`, hint: judged.hint})
          else if (buffer.length > 4096 || buffer.includes('\r\n')) finish({status: 'fail', detail: `through proxy ${shown}: the endpoint did not answer HTTP`, hint: 'Something on the proxy path mangles the traffic.'})
        })
        secured.once('end', () => finish({status: 'fail', detail: `through proxy ${shown}: connection closed before an HTTP answer`, hint: 'The proxy closes the tunnel; ask to allow this host.'}))
        secured.write(`HEAD / HTTP/1.1\r\nHost: ${host}${port === 443 ? '' : `:${port}`}\r\nUser-Agent: ona-preflight\r\nConnection: close\r\n\r\n`)
      })
    })
    request.end()
  })
}

/**
 * The lighthouse probe from the preflight notes: one 16-byte Nebula header (byte 0 = 0x11, type
 * Message, random remote index in bytes 4-7), sent up to three times within the timeout. A reply is a
 * pass; ICMP port unreachable (ECONNREFUSED on the connected socket) a fail; silence is unknown,
 * because UDP filtering and a lighthouse configured not to answer look the same.
 */
export function probeUdp(address: string, port: number, timeoutMs: number): Promise<ProbeOutcome> {
  const start = process.hrtime.bigint()
  const socket = dgram.createSocket(isIP(address) === 6 ? 'udp6' : 'udp4')
  const index = randomBytes(4)
  const packet = Buffer.alloc(16)
  packet[0] = 0x11
  index.copy(packet, 4)
  const target = `${formatHost(address)}:${port}`
  return new Promise((resolve) => {
    let settled = false
    const timers: NodeJS.Timeout[] = []
    const finish = (outcome: Omit<ProbeOutcome, 'latencyMs'>) => {
      if (settled) return
      settled = true
      for (const t of timers) clearTimeout(t)
      try {
        socket.close()
      } catch {}
      resolve({...outcome, latencyMs: since(start)})
    }
    socket.on('error', (error: NodeJS.ErrnoException) => {
      if (error.code === 'ECONNREFUSED') finish({status: 'fail', detail: `${target} answered "port unreachable": nothing listens there`, hint: 'The UDP port is closed at the far end or rejected by a firewall: allow outbound UDP 4242.'})
      else finish({status: 'unknown', detail: `UDP probe could not run (${error.code ?? error.message})`, hint: 'Allow outbound UDP 4242 to the lighthouse.'})
    })
    socket.on('message', (message) => {
      const echoes = message.length >= 8 && message.subarray(4, 8).equals(index)
      finish({status: 'pass', detail: `${target} replied (${message.length} bytes${message[0] === 0x12 && echoes ? ', a Nebula recv_error echoing our index' : ''})`, hint: null})
    })
    timers.push(setTimeout(() => finish({status: 'unknown', detail: `no reply from ${target} within ${timeoutMs} ms: UDP may be filtered, or the lighthouse does not answer unauthenticated packets`, hint: 'If the gateway fails to connect, allow outbound UDP 4242; silence alone proves nothing.'}), timeoutMs))
    socket.connect(port, address, () => {
      const send = () => {
        if (!settled) socket.send(packet, () => {})
      }
      send()
      timers.push(setTimeout(send, timeoutMs / 3), setTimeout(send, (2 * timeoutMs) / 3))
    })
  })
}

/** One HTTP request to instance metadata (IMDSv2 token PUT), direct; any HTTP answer proves the path. */
export function probeMetadata(host: string, port: number, timeoutMs: number): Promise<ProbeOutcome> {
  const start = process.hrtime.bigint()
  return new Promise((resolve) => {
    let settled = false
    const finish = (outcome: Omit<ProbeOutcome, 'latencyMs'>) => {
      if (settled) return
      settled = true
      clearTimeout(timer)
      request.destroy()
      resolve({...outcome, latencyMs: since(start)})
    }
    const request = http.request({host, port, method: 'PUT', path: '/latest/api/token', agent: false, headers: {'x-aws-ec2-metadata-token-ttl-seconds': '60'}})
    const timer = setTimeout(() => finish({status: 'fail', detail: `instance metadata at ${host}:${port} did not answer within ${timeoutMs} ms`, hint: 'Check the instance metadata options (hop limit 2 in containers) and that 169.254.169.254 is not sent to a proxy.'}), timeoutMs)
    request.once('response', (response) => {
      response.resume()
      finish({status: 'pass', detail: `instance metadata answered HTTP ${response.statusCode}`, hint: null})
    })
    request.once('error', (error: NodeJS.ErrnoException) => finish({status: 'fail', detail: `instance metadata unreachable (${error.code ?? error.message})`, hint: 'Enable instance metadata (IMDSv2) and allow 169.254.169.254 directly.'}))
    request.end()
  })
}
