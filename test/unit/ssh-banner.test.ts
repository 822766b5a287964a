/**
 * The SSH half of `ona ssh`'s path check: a TCP connect and the server's identification line, against real
 * sockets on 127.0.0.1.
 */
import net from 'node:net'

import {afterEach, describe, expect, it} from 'vitest'

import {probeSsh, sshProbeFailure} from '../../src/lib/ssh/banner.js'

const servers: net.Server[] = []
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => new Promise<void>((resolve) => s.close(() => resolve()))))
})

async function serve(onConnection: (socket: net.Socket) => void): Promise<number> {
  const server = net.createServer(onConnection)
  servers.push(server)
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()))
  return (server.address() as net.AddressInfo).port
}

async function closedPort(): Promise<number> {
  const server = net.createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()))
  const {port} = server.address() as net.AddressInfo
  await new Promise<void>((resolve) => server.close(() => resolve()))
  return port
}

describe('probeSsh: the TCP connect and the SSH banner, each with its own result', () => {
  it('a server that sends its SSH identification line: both pass', async () => {
    const port = await serve((socket) => socket.write('SSH-2.0-OpenSSH_9.6\r\n'))
    const probe = await probeSsh('127.0.0.1', port, 5000)
    expect(probe).toMatchObject({target: `127.0.0.1:${port}`, tcp: {ok: true}, banner: {ok: true, detail: 'SSH-2.0-OpenSSH_9.6'}})
    expect(probe.tcp.detail).toMatch(/^connected in \d+ ms$/)
    expect(sshProbeFailure(probe)).toBeUndefined()
  })

  it('accepts other lines before the identification line (RFC 4253 4.2), split over several writes', async () => {
    const port = await serve((socket) => {
      socket.write('welcome\r\nSS')
      setImmediate(() => socket.write('H-2.0-dropbear\r\n'))
    })
    expect(await probeSsh('127.0.0.1', port, 5000)).toMatchObject({tcp: {ok: true}, banner: {ok: true, detail: 'SSH-2.0-dropbear'}})
  })

  it('a refused connection: TCP fails with its code, no banner step, and the failure says no sshd listens', async () => {
    const port = await closedPort()
    const probe = await probeSsh('127.0.0.1', port, 5000)
    expect(probe.tcp).toMatchObject({ok: false, code: 'ECONNREFUSED', detail: 'refused the connection (no sshd listening)'})
    expect(probe.banner).toBeUndefined()
    expect(sshProbeFailure(probe)).toBe(`127.0.0.1:${port} refused the connection (no sshd listening)`)
  })

  it('a server that closes without a banner, or answers as something else: TCP passes, the banner fails', async () => {
    const closes = await serve((socket) => socket.end())
    const closed = await probeSsh('127.0.0.1', closes, 5000)
    expect(closed).toMatchObject({tcp: {ok: true}, banner: {ok: false, detail: 'closed the connection before its SSH banner'}})
    expect(sshProbeFailure(closed)).toBe(`127.0.0.1:${closes} closed the connection before its SSH banner`)
    const http = await serve((socket) => socket.end('HTTP/1.1 400 Bad Request\r\n\r\n'))
    const answered = await probeSsh('127.0.0.1', http, 5000)
    expect(answered).toMatchObject({tcp: {ok: true}, banner: {ok: false}})
    expect(answered.banner!.detail).toContain('HTTP/1.1 400')
  })

  it('a server that accepts and stays silent: TCP passes, the banner fails once the timeout is over', async () => {
    const port = await serve(() => {})
    const probe = await probeSsh('127.0.0.1', port, 200)
    expect(probe).toMatchObject({tcp: {ok: true}, banner: {ok: false, detail: 'accepted the connection but sent no SSH banner within 200 ms'}})
    expect(sshProbeFailure(probe)).toBe(`127.0.0.1:${port} accepted the connection but sent no SSH banner within 200 ms`)
  })
})
