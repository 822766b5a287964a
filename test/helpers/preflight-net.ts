/**
 * A network without internet for preflight tests: a per-run CA and certificates made with the openssl
 * CLI, a DNS server (dns2) on loopback, TLS servers on 127.0.0.x, a TCP black hole (a child process
 * that listens and never accepts, so the queue fills and later SYNs are dropped), a CONNECT proxy, a
 * TLS-inspecting proxy and fake UDP lighthouses. Everything binds 127.0.0.0/8.
 */
import {execFileSync, spawn, type ChildProcess} from 'node:child_process'
import dgram from 'node:dgram'
import {mkdtempSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import http from 'node:http'
import https from 'node:https'
import net from 'node:net'
import os from 'node:os'
import path from 'node:path'
import tls from 'node:tls'

export interface Pki {
  dir: string
  caCert: string
  /** Writes a leaf certificate signed by `issuer` ('ca' = the trusted per-run CA, 'rogue' = an untrusted one). */
  leaf(name: string, options: {dns?: string[]; ips?: string[]; expired?: boolean; issuer?: 'ca' | 'rogue'}): {key: string; cert: string}
  cleanup(): void
}

function openssl(args: string[], cwd: string): void {
  execFileSync('openssl', args, {cwd, stdio: ['ignore', 'ignore', 'pipe']})
}

/** A per-run CA ("Ona Test Root CA") and a rogue one ("Corp Inspection CA") nobody trusts. */
export function createPki(): Pki {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'ona-pki-'))
  for (const [name, cn] of [['ca', 'Ona Test Root CA'], ['rogue', 'Corp Inspection CA']] as const) {
    openssl(['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', `${name}.key`, '-out', `${name}.pem`, '-days', '60', '-subj', `/CN=${cn}/O=ona-tests`], dir)
  }
  return {
    dir,
    caCert: readFileSync(path.join(dir, 'ca.pem'), 'utf8'),
    leaf(name, options) {
      const sans = [...(options.dns ?? []).map((d) => `DNS:${d}`), ...(options.ips ?? []).map((i) => `IP:${i}`)].join(',')
      name = `leaf-${name}`
      writeFileSync(path.join(dir, `${name}.ext`), `subjectAltName=${sans}\nbasicConstraints=CA:FALSE\n`)
      openssl(['req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${options.dns?.[0] ?? options.ips?.[0] ?? name}`], dir)
      const issuer = options.issuer ?? 'ca'
      // -days -1 puts notAfter one day before now: a really expired certificate, no clock tricks.
      openssl(['x509', '-req', '-in', `${name}.csr`, '-CA', `${issuer}.pem`, '-CAkey', `${issuer}.key`, '-CAcreateserial', '-days', options.expired ? '-1' : '30', '-extfile', `${name}.ext`, '-out', `${name}.pem`], dir)
      return {key: readFileSync(path.join(dir, `${name}.key`), 'utf8'), cert: readFileSync(path.join(dir, `${name}.pem`), 'utf8')}
    },
    cleanup() {
      rmSync(dir, {recursive: true, force: true})
    },
  }
}

export interface Closable {
  close(): Promise<void>
}

export type DnsBehaviour = {a?: string[]; aaaa?: string[]} | 'nxdomain' | 'servfail' | 'silent'

/** A DNS server on 127.0.0.1 (UDP) answering from `zone`; names not in it are NXDOMAIN. */
export async function startDns(zone: Record<string, DnsBehaviour>, fallback: DnsBehaviour = 'nxdomain'): Promise<Closable & {server: string; queries: string[]}> {
  const dns2 = (await import('dns2')).default as unknown as {
    createServer(options: {udp: boolean; handle: (request: any, send: (response: any) => void) => void}): any
    Packet: any
  }
  const {Packet} = dns2
  const queries: string[] = []
  const server = dns2.createServer({
    udp: true,
    handle(request, send) {
      const response = Packet.createResponseFromRequest(request)
      const [question] = request.questions
      const name = String(question.name).toLowerCase()
      queries.push(`${name}/${question.type === Packet.TYPE.AAAA ? 'AAAA' : 'A'}`)
      const behaviour = zone[name] ?? fallback
      if (behaviour === 'silent') return
      if (behaviour === 'nxdomain') response.header.rcode = 3
      else if (behaviour === 'servfail') response.header.rcode = 2
      else {
        const list = question.type === Packet.TYPE.AAAA ? (behaviour.aaaa ?? []) : question.type === Packet.TYPE.A ? (behaviour.a ?? []) : []
        for (const address of list) {
          response.answers.push({name: question.name, type: question.type, class: Packet.CLASS.IN, ttl: 60, address})
        }
      }
      send(response)
    },
  })
  const addresses = (await server.listen({udp: {port: 0, address: '127.0.0.1'}})) as {udp: net.AddressInfo}
  const {port} = addresses.udp
  return {
    server: `127.0.0.1:${port}`,
    queries,
    close: () => server.close(),
  }
}

/** An HTTPS server on host:port (port 0 picks one) that answers every request with 204. */
export async function startHttps(host: string, port: number, credentials: {key: string; cert: string}): Promise<Closable & {port: number}> {
  const server = https.createServer(credentials, (_req, res) => {
    res.writeHead(204)
    res.end()
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(port, host, () => resolve())
  })
  return {
    port: (server.address() as net.AddressInfo).port,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  }
}

/** A TCP server that accepts and then says nothing: TCP passes, TLS never completes. */
export async function startSilentTcp(host: string, port: number): Promise<Closable & {port: number}> {
  const sockets = new Set<net.Socket>()
  const server = net.createServer((socket) => {
    sockets.add(socket)
    socket.on('error', () => {})
  })
  await new Promise<void>((resolve) => server.listen(port, host, () => resolve()))
  return {
    port: (server.address() as net.AddressInfo).port,
    close: () =>
      new Promise((resolve) => {
        for (const s of sockets) s.destroy()
        server.close(() => resolve())
      }),
  }
}

/**
 * A TCP black hole on 127.0.0.x: a child node process listens with a backlog of 1 and then blocks its
 * event loop, so it never accepts; once the kernel's accept queue is full, new SYNs are dropped and
 * connects hang until the caller's timeout, like a firewall that drops packets.
 */
export async function startBlackHole(host: string): Promise<Closable & {port: number}> {
  const code = `const s=require('net').createServer();s.listen({host:${JSON.stringify(host)},port:0,backlog:1},()=>{process.stdout.write(String(s.address().port)+'\\n');Atomics.wait(new Int32Array(new SharedArrayBuffer(4)),0,0)})`
  const child: ChildProcess = spawn(process.execPath, ['-e', code], {stdio: ['ignore', 'pipe', 'inherit']})
  const port = await new Promise<number>((resolve, reject) => {
    let text = ''
    child.stdout?.on('data', (chunk: Buffer) => {
      text += chunk.toString()
      if (text.includes('\n')) resolve(Number(text.trim()))
    })
    child.once('exit', () => reject(new Error('black hole process exited')))
  })
  // Fill the accept queue: connects succeed in the kernel until it is full, then they hang.
  const fillers: net.Socket[] = []
  for (let i = 0; i < 8; i++) {
    const socket = net.connect({host, port})
    socket.on('error', () => {})
    fillers.push(socket)
    const connected = await new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => resolve(false), 300)
      socket.once('connect', () => {
        clearTimeout(timer)
        resolve(true)
      })
    })
    if (!connected) break
  }
  return {
    port,
    close: async () => {
      for (const s of fillers) s.destroy()
      child.kill('SIGKILL')
    },
  }
}

/** The npm `proxy` CONNECT proxy on 127.0.0.1, optionally demanding Basic credentials. */
export async function startConnectProxy(options: {auth?: string} = {}): Promise<Closable & {url: string; connects: string[]}> {
  const {createProxy} = await import('proxy')
  const connects: string[] = []
  const server = createProxy(http.createServer())
  server.on('connect', (req: http.IncomingMessage) => connects.push(req.url ?? ''))
  if (options.auth) {
    const expected = `Basic ${Buffer.from(options.auth).toString('base64')}`
    ;(server as unknown as {authenticate: (req: http.IncomingMessage) => boolean}).authenticate = (req) => req.headers['proxy-authorization'] === expected
  }
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()))
  const {port} = server.address() as net.AddressInfo
  return {
    url: `http://127.0.0.1:${port}`,
    connects,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections?.()
        server.close(() => resolve())
      }),
  }
}

/** A TLS-inspecting proxy: it accepts CONNECT, then terminates TLS itself with a certificate from its own CA. */
export async function startInspectingProxy(credentials: {key: string; cert: string}): Promise<Closable & {url: string}> {
  const server = http.createServer()
  const sockets = new Set<net.Socket>()
  // Handing the raw socket to a TLS server (its documented 'connection' path) terminates TLS here.
  const terminator = tls.createServer(credentials, (secure) => {
    secure.on('error', () => {})
    secure.on('data', () => secure.end('HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n'))
  })
  terminator.on('tlsClientError', () => {})
  server.on('connect', (_req, socket: net.Socket) => {
    sockets.add(socket)
    socket.on('error', () => {})
    socket.write('HTTP/1.1 200 Connection Established\r\n\r\n', () => terminator.emit('connection', socket))
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()))
  const {port} = server.address() as net.AddressInfo
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise((resolve) => {
        for (const s of sockets) s.destroy()
        server.close(() => resolve())
      }),
  }
}

/** A fake Nebula lighthouse: answers the 16-byte probe with a recv_error header echoing the index, or stays silent. */
export async function startLighthouse(host: string, mode: 'reply' | 'silent'): Promise<Closable & {port: number; received: number}> {
  const socket = dgram.createSocket('udp4')
  const state = {received: 0}
  socket.on('message', (message, remote) => {
    state.received += 1
    if (mode === 'silent') return
    const reply = Buffer.alloc(16)
    reply[0] = 0x12
    message.copy(reply, 4, 4, 8)
    socket.send(reply, remote.port, remote.address)
  })
  await new Promise<void>((resolve) => socket.bind(0, host, () => resolve()))
  return {
    port: socket.address().port,
    get received() {
      return state.received
    },
    close: () => new Promise((resolve) => socket.close(() => resolve())),
  }
}

/** A UDP port on host with nothing bound: probes get ICMP port unreachable. */
export async function closedUdpPort(host: string): Promise<number> {
  const socket = dgram.createSocket('udp4')
  await new Promise<void>((resolve) => socket.bind(0, host, () => resolve()))
  const {port} = socket.address()
  await new Promise<void>((resolve) => socket.close(() => resolve()))
  return port
}
