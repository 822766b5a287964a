/**
 * The SSH half of `ona ssh`'s path check: a TCP connect and the server's identification line, against real
 * sockets on 127.0.0.1.
 */
import net from 'node:net'

import {afterEach, describe, expect, it} from 'vitest'

import {probeSshBanner} from '../../src/lib/ssh/banner.js'

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

describe('probeSshBanner', () => {
  it('accepts a server that sends its SSH identification line', async () => {
    const port = await serve((socket) => socket.write('SSH-2.0-OpenSSH_9.6\r\n'))
    expect(await probeSshBanner('127.0.0.1', port, 5000)).toMatchObject({ok: true, banner: 'SSH-2.0-OpenSSH_9.6'})
  })

  it('accepts other lines before the identification line (RFC 4253 4.2), split over several writes', async () => {
    const port = await serve((socket) => {
      socket.write('welcome\r\nSS')
      setImmediate(() => socket.write('H-2.0-dropbear\r\n'))
    })
    expect(await probeSshBanner('127.0.0.1', port, 5000)).toMatchObject({ok: true, banner: 'SSH-2.0-dropbear'})
  })

  it('fails on a refused connection, saying no sshd listens', async () => {
    const port = await closedPort()
    expect(await probeSshBanner('127.0.0.1', port, 5000)).toEqual({ok: false, detail: `127.0.0.1:${port} refused the connection (no sshd listening)`})
  })

  it('fails on a server that closes without a banner, or answers as something else', async () => {
    const closes = await serve((socket) => socket.end())
    expect(await probeSshBanner('127.0.0.1', closes, 5000)).toEqual({ok: false, detail: `127.0.0.1:${closes} closed the connection before its SSH banner`})
    const http = await serve((socket) => socket.end('HTTP/1.1 400 Bad Request\r\n\r\n'))
    expect(await probeSshBanner('127.0.0.1', http, 5000)).toMatchObject({ok: false})
  })

  it('fails on a server that accepts and stays silent, once the timeout is over', async () => {
    const port = await serve(() => {})
    expect(await probeSshBanner('127.0.0.1', port, 200)).toEqual({ok: false, detail: `127.0.0.1:${port} accepted the connection but sent no SSH banner within 200 ms`})
  })
})
