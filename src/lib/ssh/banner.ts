/**
 * Is an SSH server answering at an address? A TCP connect and the server's identification line
 * (`SSH-2.0-...`, RFC 4253 4.2: a server may send other lines before it), within one timeout. The
 * connection is closed as soon as the line is seen; nothing is sent.
 */
import net from 'node:net'

export type BannerResult = {ok: true; banner: string; latencyMs: number} | {ok: false; detail: string}

/** At most this much is read looking for the identification line (RFC 4253 caps each line at 255 bytes). */
const MAX_PRELUDE = 8192

export function probeSshBanner(host: string, port: number, timeoutMs: number): Promise<BannerResult> {
  const started = Date.now()
  const target = `${host.includes(':') ? `[${host}]` : host}:${port}`
  return new Promise((resolve) => {
    let settled = false
    let connected = false
    let received = ''
    const socket = net.connect({host, port})
    const finish = (result: BannerResult) => {
      if (settled) return
      settled = true
      clearTimeout(timer)
      socket.destroy()
      resolve(result)
    }
    const timer = setTimeout(
      () => finish({ok: false, detail: connected ? `${target} accepted the connection but sent no SSH banner within ${timeoutMs} ms` : `no answer from ${target} within ${timeoutMs} ms`}),
      timeoutMs,
    )
    socket.setEncoding('latin1')
    socket.once('connect', () => {
      connected = true
    })
    socket.on('data', (chunk: string) => {
      received += chunk
      for (const line of received.split('\n').slice(0, -1)) {
        if (line.startsWith('SSH-')) return finish({ok: true, banner: line.replace(/\r$/, ''), latencyMs: Date.now() - started})
      }
      if (received.length > MAX_PRELUDE) finish({ok: false, detail: `${target} answered, but not as an SSH server`})
    })
    socket.once('error', (error: NodeJS.ErrnoException) => {
      const detail =
        error.code === 'ECONNREFUSED'
          ? `${target} refused the connection (no sshd listening)`
          : error.code === 'EHOSTUNREACH' || error.code === 'ENETUNREACH'
            ? `${target} is unreachable from here (${error.code})`
            : error.code === 'ENOTFOUND'
              ? `${host} does not resolve`
              : `${target}: ${error.code ?? error.message}`
      finish({ok: false, detail})
    })
    socket.once('close', () => finish({ok: false, detail: connected ? `${target} closed the connection before its SSH banner` : `${target} closed the connection`}))
  })
}
