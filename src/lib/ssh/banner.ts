/**
 * Is an SSH server answering at an address? Two steps, each with its own result: the TCP connect, then the
 * server's identification line (`SSH-2.0-...`; RFC 4253 4.2: a server may send other lines before it),
 * within one timeout for both. The connection is closed as soon as the line is seen; nothing is sent.
 * `ona ssh`'s path check needs both to pass; `ona doctor` reports each (a refused connect and a proxy that
 * answers as something else call for different fixes).
 */
import net from 'node:net'

export interface ProbeStep {
  ok: boolean
  /** Milliseconds from the start of the probe to this step's outcome. */
  latencyMs: number
  /** One line: what happened (without the address, which the caller names). */
  detail: string
  /** The socket error's code when the step failed on one (ECONNREFUSED, EHOSTUNREACH...). */
  code?: string
}

export interface SshProbe {
  /** The address as `host:port` (`[v6]:port`), for messages. */
  target: string
  tcp: ProbeStep
  /** The identification line (`detail` holds it when ok); absent when TCP failed. */
  banner?: ProbeStep
}

/** At most this much is read looking for the identification line (RFC 4253 caps each line at 255 bytes). */
const MAX_PRELUDE = 8192

const got = (received: string) => (received ? ` (got ${JSON.stringify(received.slice(0, 40))})` : '')

/** Connects to `host:port` and reads the SSH identification line, giving up after `timeoutMs` in all. */
export function probeSsh(host: string, port: number, timeoutMs: number): Promise<SshProbe> {
  const started = performance.now()
  const elapsed = () => Math.round(performance.now() - started)
  const target = `${host.includes(':') ? `[${host}]` : host}:${port}`
  return new Promise((resolve) => {
    let tcp: ProbeStep | undefined
    let received = ''
    let settled = false
    const socket = net.connect({host, port})
    const finish = (result: {tcp: ProbeStep; banner?: ProbeStep}) => {
      if (settled) return
      settled = true
      clearTimeout(timer)
      socket.destroy()
      resolve({target, ...result})
    }
    const fail = (detail: string, code?: string): ProbeStep => ({ok: false, latencyMs: elapsed(), detail, ...(code ? {code} : {})})
    const timer = setTimeout(() => {
      if (!tcp) finish({tcp: fail(`no TCP connection within ${timeoutMs} ms (filtered, or nothing routes there)`)})
      else finish({tcp, banner: fail(`accepted the connection but sent no SSH banner within ${timeoutMs} ms${got(received)}`)})
    }, timeoutMs)
    socket.setEncoding('latin1')
    socket.once('connect', () => {
      tcp = {ok: true, latencyMs: elapsed(), detail: `connected in ${elapsed()} ms`}
    })
    socket.on('data', (chunk: string) => {
      received += chunk
      for (const line of received.split('\n').slice(0, -1)) {
        if (line.startsWith('SSH-')) return finish({tcp: tcp!, banner: {ok: true, latencyMs: elapsed(), detail: line.replace(/\r$/, '').slice(0, 255)}})
      }
      if (received.length > MAX_PRELUDE) finish({tcp: tcp!, banner: fail(`answered, but not as an SSH server${got(received)}`)})
    })
    socket.once('error', (error: NodeJS.ErrnoException) => {
      const code = error.code
      if (tcp) return finish({tcp, banner: fail(`the connection failed before its SSH banner (${code ?? error.message})`, code)})
      const detail =
        code === 'ECONNREFUSED'
          ? 'refused the connection (no sshd listening)'
          : code === 'EHOSTUNREACH' || code === 'ENETUNREACH'
            ? `is unreachable from here (${code})`
            : code === 'ENOTFOUND'
              ? `does not resolve (${host})`
              : `failed: ${code ?? error.message}`
      finish({tcp: fail(detail, code)})
    })
    socket.once('close', () => {
      if (tcp) finish({tcp, banner: fail(`closed the connection before its SSH banner${got(received)}`)})
      else finish({tcp: fail('closed the connection')})
    })
  })
}

/** Why `probe` says no SSH server answers there (`host:port` first), or undefined when one does. */
export function sshProbeFailure(probe: SshProbe): string | undefined {
  const failed = !probe.tcp.ok ? probe.tcp : probe.banner && !probe.banner.ok ? probe.banner : undefined
  return failed ? `${probe.target} ${failed.detail}` : undefined
}
