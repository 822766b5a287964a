/**
 * `npm run simulator -- [options]`: the management-plane simulator for trying ona by hand (and for the
 * demo). Serves the demo set (fixtures/environments.json) on loopback until interrupted, prints the URL and
 * the token, and reads commands on stdin so the environments can change live. `--sshd` also starts a real
 * local OpenSSH server that accepts the keys registered through the API and points every environment's SSH
 * address at it, so `ona ssh <env>` ends in a shell. Not in the published package.
 */
import {mkdtemp, rm, writeFile} from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import {createInterface} from 'node:readline'
import {fileURLToPath} from 'node:url'

import {startSimulator, type Simulator} from './server.js'

export const USAGE = `usage: npm run simulator -- [--port N] [--host 127.0.0.1] [--seed file.json] [--token T] [--sshd]

Serves a stand-in for the management plane on loopback until interrupted (Ctrl-C), with the environments
of fixtures/environments.json, and prints the URL and the token to use with it.

options:
  --port N        port to listen on (default: a free one)
  --host ADDR     loopback address to bind (127.0.0.0/8 or ::1; default 127.0.0.1)
  --seed FILE     environments to serve ({"environments": [...]}; default the demo set)
  --token T       the token to accept (default: a random one; also ONA_SIMULATOR_TOKEN)
  --sshd          also start a real local sshd (needs openssh-server) that accepts the SSH keys registered
                  through the API, and point every environment's SSH address at it: \`ona ssh <env>\`
                  then logs you in as yourself on this machine
  -h, --help      this text

${commandHelp()}`

function commandHelp(): string {
  return `commands (type them here while it runs):
  list                      the environments as GetEnvironment returns them
  ip <env-id> <host> [port] move an environment to a new SSH address (an "IP change")
  stop <env-id>             stop it (its address is kept for the next start)
  start <env-id> [host]     run it again, where it ran last or on host
  delete <env-id>           delete it
  help                      this list`
}

function argValue(args: string[], name: string): string | undefined {
  const index = args.indexOf(name)
  if (index !== -1) return args[index + 1]
  const inline = args.find((a) => a.startsWith(`${name}=`))
  return inline?.slice(name.length + 1)
}

/**
 * Starts one real sshd on 127.0.0.1 for every environment of the simulator: its AuthorizedKeysFile lists one
 * file per environment, each kept equal to that environment's READY keys, and every environment's address
 * (now, and where a stopped one comes up when started) is that sshd, as the current user.
 */
async function startSharedSshd(simulator: Simulator): Promise<{host: string; port: number; user: string; stop(): Promise<void>}> {
  const {createSshKeys, startSshd} = await import('./sshd.js')
  const dir = await mkdtemp(path.join(os.tmpdir(), 'ona-simulator-keys-'))
  const ids = simulator.environmentIds()
  const files = ids.map((id) => path.join(dir, `authorized_keys.${id}`))
  await Promise.all(files.map((file) => writeFile(file, '', {mode: 0o600})))
  const keys = await createSshKeys()
  const sshd = await startSshd({host: '127.0.0.1', keys, authorizedKeysFile: files.join(' ')})
  const address = {host: sshd.host, port: sshd.port, user: sshd.user}
  ids.forEach((id, i) => {
    simulator.linkAuthorizedKeys(id, files[i]!)
    simulator.setStartAddress(id, address)
    const phase = (simulator.environmentJson(id) as {status?: {phase?: string}} | undefined)?.status?.phase
    if (phase === 'ENVIRONMENT_PHASE_RUNNING') simulator.setSshAddress(id, address)
  })
  return {
    ...address,
    async stop() {
      await sshd.stop()
      await keys.release()
      await rm(dir, {recursive: true, force: true})
    },
  }
}

async function main(): Promise<void> {
  const args = process.argv.slice(2)
  if (args.includes('--help') || args.includes('-h') || args[0] === 'help') {
    process.stdout.write(`${USAGE}\n`)
    return
  }
  const known = new Set(['--port', '--host', '--seed', '--token', '--sshd'])
  const unknown = args.find((a, i) => a.startsWith('-') && !known.has(a.replace(/=.*$/s, '')) && !(i > 0 && ['--port', '--host', '--seed', '--token'].includes(args[i - 1]!)))
  if (unknown !== undefined) {
    process.stderr.write(`error: unknown option ${unknown.replace(/=.*$/s, '').slice(0, 40)}\nhint: npm run simulator -- --help lists the options.\n`)
    process.exitCode = 2
    return
  }
  const port = Number(argValue(args, '--port') ?? 0)
  const host = argValue(args, '--host') ?? '127.0.0.1'
  if (!/^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host) && host !== '::1' && host !== 'localhost') {
    process.stderr.write('error: the simulator only binds loopback addresses (127.0.0.0/8, ::1)\n')
    process.exitCode = 2
    return
  }
  const seed = argValue(args, '--seed') ?? fileURLToPath(new URL('../../../fixtures/environments.json', import.meta.url))
  const simulator = await startSimulator({port, host, seed, token: argValue(args, '--token') ?? process.env.ONA_SIMULATOR_TOKEN})
  let sshd: Awaited<ReturnType<typeof startSharedSshd>> | undefined
  if (args.includes('--sshd')) {
    const {sshdInstalled, SSHD_PATH} = await import('./sshd.js')
    if (!sshdInstalled()) {
      await simulator.close()
      process.stderr.write(`error: --sshd needs OpenSSH's server at ${SSHD_PATH}\nhint: Install openssh-server (apt-get install openssh-server; on macOS it is built in), or leave --sshd out.\n`)
      process.exitCode = 1
      return
    }
    sshd = await startSharedSshd(simulator)
  }

  process.stdout.write(`simulator listening on ${simulator.url}\n`)
  process.stdout.write(`token: ${simulator.token}\n`)
  if (sshd) process.stdout.write(`sshd listening on ${sshd.host}:${sshd.port}: every environment's SSH address, logging in as ${sshd.user} with the keys registered through the API\n`)
  process.stdout.write(`try: ONA_API_URL=${simulator.url} ONA_KEYRING=off ona login --token-stdin <<< "$TOKEN"\n`)
  process.stdout.write('type `help` for the commands that change the environments\n')

  const rl = createInterface({input: process.stdin, terminal: false})
  rl.on('line', (line) => {
    const [command, id = '', a, b] = line.trim().split(/\s+/)
    try {
      switch (command) {
        case 'help':
          process.stdout.write(`${commandHelp()}\n`)
          return
        case 'ip':
          simulator.setSshAddress(id, {host: a ?? '127.0.0.1', port: b ? Number(b) : 22})
          break
        case 'stop':
          simulator.stopEnvironment(id)
          break
        case 'start':
          simulator.startEnvironment(id, a)
          break
        case 'delete':
          simulator.deleteEnvironment(id)
          break
        case 'list':
          for (const envId of simulator.environmentIds()) process.stdout.write(`${JSON.stringify(simulator.environmentJson(envId))}\n`)
          return
        case undefined:
        case '':
          return
        default:
          process.stdout.write(`unknown command ${command.slice(0, 40)}; type \`help\` for the list\n`)
          return
      }
      process.stdout.write(`ok ${command} ${id}\n`)
    } catch (error) {
      process.stdout.write(`error: ${(error as Error).message}\n`)
    }
  })

  const shutdown = () => {
    rl.close()
    void Promise.all([simulator.close(), sshd?.stop()]).then(() => process.exit(0))
  }
  process.on('SIGINT', shutdown)
  process.on('SIGTERM', shutdown)
}

await main()
