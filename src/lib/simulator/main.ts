/**
 * `npm run simulator -- [--port N] [--host 127.0.0.1] [--seed file.json] [--token T]`: serves the demo
 * set (fixtures/environments.json) until interrupted, and prints the URL and the token to use with it.
 * Reads commands on stdin so a demo can change things live: `ip <env-id> <host> [port]`, `stop <id>`,
 * `start <id> [host]`, `delete <id>`, `list`.
 */
import {createInterface} from 'node:readline'
import {fileURLToPath} from 'node:url'

import {startSimulator} from './server.js'

function argValue(args: string[], name: string): string | undefined {
  const index = args.indexOf(name)
  if (index !== -1) return args[index + 1]
  const inline = args.find((a) => a.startsWith(`${name}=`))
  return inline?.slice(name.length + 1)
}

const args = process.argv.slice(2)
const port = Number(argValue(args, '--port') ?? 0)
const host = argValue(args, '--host') ?? '127.0.0.1'
if (!/^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host) && host !== '::1' && host !== 'localhost') {
  console.error('error: the simulator only binds loopback addresses (127.0.0.0/8, ::1)')
  process.exit(2)
}
const seed = argValue(args, '--seed') ?? fileURLToPath(new URL('../../../fixtures/environments.json', import.meta.url))
const simulator = await startSimulator({port, host, seed, token: argValue(args, '--token') ?? process.env.ONA_SIMULATOR_TOKEN})

process.stdout.write(`simulator listening on ${simulator.url}\n`)
process.stdout.write(`token: ${simulator.token}\n`)
process.stdout.write(`try: ONA_API_URL=${simulator.url} ONA_KEYRING=off ona login --token-stdin <<< "$TOKEN"\n`)

const rl = createInterface({input: process.stdin, terminal: false})
rl.on('line', (line) => {
  const [command, id = '', a, b] = line.trim().split(/\s+/)
  try {
    switch (command) {
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
        process.stdout.write(`unknown command ${command}\n`)
        return
    }
    process.stdout.write(`ok ${command} ${id}\n`)
  } catch (error) {
    process.stdout.write(`error: ${(error as Error).message}\n`)
  }
})

const shutdown = () => {
  rl.close()
  void simulator.close().then(() => process.exit(0))
}
process.on('SIGINT', shutdown)
process.on('SIGTERM', shutdown)
