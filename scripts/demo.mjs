// `npm run demo`: the product's main job against the bundled management-plane simulator, in a scratch HOME,
// with no account and no network. Shows the block `ona ssh-sync` writes and the aliases resolving with the
// real `ssh -G`, then an IP change, a stopped environment and a no-op run; then real logins through a real
// sshd that accepts only registered keys: the first connection through the alias, and a stopped environment
// started on connect.
import {execFileSync, spawn} from 'node:child_process'
import {mkdtempSync, mkdirSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import {fileURLToPath} from 'node:url'

const root = fileURLToPath(new URL('..', import.meta.url))
const {startSimulator} = await import(path.join(root, 'dist/lib/simulator/server.js'))

const home = mkdtempSync(path.join(os.tmpdir(), 'ona-demo-home-'))
const sshDir = path.join(home, '.ssh')
mkdirSync(sshDir, {mode: 0o700})
const config = path.join(sshDir, 'config')
writeFileSync(
  config,
  ['# my own settings: ona leaves every byte of these alone', 'ServerAliveInterval 60', '', 'Host github.com', '  User git', '  IdentityFile ~/.ssh/id_ed25519', ''].join('\n'),
  {mode: 0o600},
)

const simulator = await startSimulator({seed: path.join(root, 'fixtures/environments.json')})
const env = {...process.env, HOME: home, XDG_CONFIG_HOME: path.join(home, '.config'), XDG_STATE_HOME: path.join(home, '.local/state'), ONA_API_URL: simulator.url, ONA_KEYRING: 'off', NO_COLOR: '1'}
delete env.ONA_TOKEN
delete env.GITPOD_TOKEN

const heading = (text) => console.log(`\n\u001b[1m== ${text}\u001b[0m`)
// The simulator lives in this process, so the CLI runs asynchronously (a sync spawn would block its answers).
const ona = async (...args) => {
  console.log(`$ ona ${args.join(' ')}`)
  const child = spawn(process.execPath, [path.join(root, 'bin/run.js'), ...args], {env, stdio: ['pipe', 'inherit', 'inherit']})
  child.stdin.end(args.includes('--token-stdin') ? simulator.token : '')
  const status = await new Promise((resolve) => child.once('exit', resolve))
  if (status !== 0 && !args.includes('--check')) throw new Error(`ona ${args.join(' ')} exited ${status}`)
  return status
}

// A real sshd per environment that, like an environment, accepts only the keys registered through the
// API: the simulator keeps its AuthorizedKeysFile equal to the environment's READY keys. The server itself
// is the one the simulator's --sshd and the tests start (src/lib/simulator/sshd.ts).
const sshd = await import(path.join(root, 'dist/lib/simulator/sshd.js'))
const sshds = []
async function startSshd(host, name) {
  const keys = path.join(home, `authorized_keys.${name}`)
  writeFileSync(keys, '', {mode: 0o600})
  const server = await sshd.startSshd({host, authorizedKeysFile: keys})
  sshds.push(server)
  return {host: server.host, port: server.port, user: server.user, keys}
}

const sshPlain = async (alias, command) => {
  console.log(`$ ssh ${alias} ${command}`)
  const sshEnv = {...env}
  delete sshEnv.SSH_AUTH_SOCK
  const child = spawn('ssh', ['-F', config, '-o', 'BatchMode=yes', '-o', 'StrictHostKeyChecking=accept-new', '-o', `UserKnownHostsFile=${path.join(sshDir, 'known_hosts')}`, alias, command], {env: sshEnv, stdio: ['ignore', 'inherit', 'inherit']})
  return new Promise((resolve) => child.once('exit', resolve))
}

async function connectDemo() {
  if (!sshd.sshdInstalled()) {
    heading(`connecting: skipped (no ${sshd.SSHD_PATH} here; apt-get install openssh-server to see it)`)
    return
  }
  const a = await startSshd('127.0.0.51', 'a')
  const b = await startSshd('127.0.0.52', 'b')
  const running = '0199ec15-aaaa-7e92-8e22-8cb6c7ba4d01'
  const sleeping = '0199ec15-bbbb-7e92-8e22-8cb6c7ba4d02'
  simulator.addEnvironment({id: running, name: 'demo-running', ssh: a})
  simulator.addEnvironment({id: sleeping, name: 'demo-stopped', ssh: b})
  simulator.linkAuthorizedKeys(running, a.keys)
  simulator.linkAuthorizedKeys(sleeping, b.keys)

  heading('first connection through the alias: ona registered its own key, the entry names it (no -i, no agent)')
  await ona('ssh-sync')
  await new Promise((r) => setTimeout(r, 1000)) // the key becomes READY on the environment a moment later
  await sshPlain(`${running}.gitpod.environment`, 'echo "logged in as $(whoami) on $(hostname)"')

  heading('resolve on connect: the second environment stops; plain ssh starts it through the ProxyCommand')
  simulator.stopEnvironment(sleeping)
  await ona('ssh-sync', '--resolve-on-connect')
  console.log(readFileSync(config, 'utf8').split('\n').filter((l) => l.includes('ProxyCommand')).slice(0, 1).join('\n'))
  await sshPlain(`${sleeping}.gitpod.environment`, 'echo "woke up and logged in"')
  await ona('environment', 'list')
  await ona('ssh-sync', '--no-resolve-on-connect')
}

try {
  heading(`scratch HOME ${home}, simulator at ${simulator.url}`)
  await ona('login', '--token-stdin')
  await ona('whoami')

  heading('first sync')
  await ona('ssh-sync')
  heading(`${config} now`)
  console.log(readFileSync(config, 'utf8'))

  heading('the aliases as the real OpenSSH client resolves them (ssh -G)')
  const id = '0199ec15-59d3-7e92-8e22-8cb6c7ba4df7'
  for (const alias of [`${id}.gitpod.environment`, `${id}.gitpod.remote`, 'github.com']) {
    const out = execFileSync('ssh', ['-G', '-F', config, alias], {encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore']})
    const keep = out.split('\n').filter((l) => /^(hostname|user|port|hostkeyalias|serveraliveinterval) /.test(l))
    console.log(`${alias}:  ${keep.join(', ')}`)
  }

  heading('the environment restarts on a new IP, another one stops')
  simulator.setSshAddress(id, {host: '127.0.0.21', port: 2222, user: 'gitpod_devcontainer'})
  simulator.stopEnvironment('0199ec15-b2c7-7f55-a1e0-5d9c3e8f4a13')
  await ona('ssh-sync', '--dry-run')
  await ona('ssh-sync')

  heading('nothing changed since: a no-op, and --check agrees')
  await ona('ssh-sync')
  await ona('ssh-sync', '--check')

  await connectDemo()

  heading('--remove gives back the original file')
  await ona('ssh-sync', '--remove')
  console.log(readFileSync(config, 'utf8'))
} finally {
  for (const server of sshds) await server.stop()
  await simulator.close()
  rmSync(home, {recursive: true, force: true})
}
