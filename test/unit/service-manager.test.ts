/**
 * What a service carries from the user's shell (environment.ts) and what the service managers' answers
 * mean (manager.ts): tables of real outputs of systemctl, launchctl and schtasks.
 */
import {readFileSync} from 'node:fs'
import path from 'node:path'

import {describe, expect, it} from 'vitest'

import {maskCredentials, serviceEnvironment} from '../../src/lib/service/environment.js'
import {csvFields, managerError, parseManagerState, unreachableReason} from '../../src/lib/service/manager.js'

describe('serviceEnvironment', () => {
  const shell = {
    PATH: '/usr/bin',
    HOME: '/home/alice',
    HTTPS_PROXY: 'http://alice:s3cret@proxy.corp:3128',
    https_proxy: 'http://proxy.corp:3128',
    HTTP_PROXY: 'http://proxy.corp:3128',
    NO_PROXY: '.corp,169.254.169.254',
    NODE_EXTRA_CA_CERTS: '/etc/corp/ca.pem',
    SSL_CERT_FILE: '/etc/corp/bundle.pem',
    ONA_SSH: '/opt/openssh/bin/ssh',
    ONA_TIMEOUT: '2m',
    ONA_KEYRING: 'off',
    ONA_DEBUG: '1',
    XDG_CONFIG_HOME: '/home/alice/.xdg',
    XDG_RUNTIME_DIR: '/run/user/1000',
    XDG_SESSION_ID: '7',
    ONA_TOKEN: 'tok-1',
    GITPOD_TOKEN: 'tok-2',
    ONA_API_KEY: 'tok-3',
    GITPOD_API_KEY: 'tok-4',
    ONA_SIMULATOR_TOKEN: 'tok-5',
    ONA_SOME_FUTURE_SECRET: 'tok-6',
    ONA_API_URL: 'https://elsewhere.example/api',
    ONA_SSH_CONFIG: '/tmp/other',
    ONA_EMPTY: '',
    ONA_MULTILINE: 'a\nb',
  }

  it('carries proxy, CA, ONA_* and the XDG base directories; never a token, never a session variable', () => {
    const {env, skipped} = serviceEnvironment(shell)
    expect(env).toEqual({
      HTTPS_PROXY: 'http://alice:s3cret@proxy.corp:3128',
      https_proxy: 'http://proxy.corp:3128',
      HTTP_PROXY: 'http://proxy.corp:3128',
      NO_PROXY: '.corp,169.254.169.254',
      NODE_EXTRA_CA_CERTS: '/etc/corp/ca.pem',
      SSL_CERT_FILE: '/etc/corp/bundle.pem',
      ONA_SSH: '/opt/openssh/bin/ssh',
      ONA_TIMEOUT: '2m',
      ONA_KEYRING: 'off',
      ONA_DEBUG: '1',
      XDG_CONFIG_HOME: '/home/alice/.xdg',
    })
    expect(skipped).toEqual(['ONA_MULTILINE'])
    expect(JSON.stringify(env)).not.toMatch(/tok-\d/)
  })

  it.each([
    ['http://alice:s3cret@proxy.corp:3128', 'http://****@proxy.corp:3128'],
    ['http://token@proxy.corp:3128/', 'http://****@proxy.corp:3128/'],
    ['alice:s3cret@proxy.corp:3128', '****@proxy.corp:3128'],
    ['http://proxy.corp:3128', 'http://proxy.corp:3128'],
    ['/home/alice/ca.pem', '/home/alice/ca.pem'],
  ])('maskCredentials(%s) = %s', (value, masked) => {
    expect(maskCredentials(value)).toBe(masked)
  })
})

describe('service managers that cannot be reached', () => {
  it.each([
    ['systemd', 1, 'Failed to connect to bus: No medium found', /loginctl enable-linger/],
    ['systemd', 1, '$DBUS_SESSION_BUS_ADDRESS and $XDG_RUNTIME_DIR not defined (consider using --machine=<user>@.host --user to connect to bus of other user)', /loginctl enable-linger/],
    ['systemd', 1, 'Failed to connect to user scope bus via local transport: No such file or directory', /loginctl enable-linger/],
    ['systemd', 1, "System has not been booted with systemd as init system (PID 1). Can't operate.", /wsl\.conf/],
    ['systemd', 127, 'spawn systemctl ENOENT', /ona ssh-sync --watch/],
    ['launchd', 125, 'Bootstrap failed: 125: Domain does not support specified action', /Terminal on the Mac/],
    ['launchd', 1, 'Could not find domain for user gui: 501', /Terminal on the Mac/],
    ['task', 1, 'ERROR: Access is denied.', /not elevated/],
  ] as const)('%s, exit %i, "%s": ERR_SERVICE_MANAGER_UNREACHABLE with a hint for the case', (kind, code, stderr, hint) => {
    const error = managerError(kind, ['x', 'y'], {code, stdout: '', stderr}, 'could not start')
    expect(error.code).toBe('ERR_SERVICE_MANAGER_UNREACHABLE')
    expect(error.hint).toMatch(hint)
    expect(error.hint).toContain('ona ssh-sync --watch')
  })

  it('any other failure stays ERR_SERVICE with the command and its output', () => {
    const error = managerError('systemd', ['systemctl', '--user', 'enable', '--now', 'ona-watch.service'], {code: 1, stdout: '', stderr: 'Unit file ona-watch.service does not exist.'}, 'could not start')
    expect(error.code).toBe('ERR_SERVICE')
    expect(error.message).toContain('`systemctl --user enable --now ona-watch.service` failed (exit 1): Unit file ona-watch.service does not exist.')
    expect(unreachableReason('systemd', {code: 1, stdout: '', stderr: 'Unit file x does not exist.'})).toBeUndefined()
  })
})

describe('parseManagerState', () => {
  const show = (active: string, sub: string, status: number, load = 'loaded') => ({code: 0, stderr: '', stdout: `LoadState=${load}\nActiveState=${active}\nSubState=${sub}\nResult=${status ? 'exit-code' : 'success'}\nExecMainStatus=${status}\nNRestarts=0\n`})
  it.each([
    ['systemd running', 'systemd', show('active', 'running', 0), {state: 'running', lastExit: 0}],
    ['systemd stopped by exit 4 (RestartPreventExitStatus)', 'systemd', show('failed', 'failed', 4), {state: 'failed', lastExit: 4}],
    ['systemd stopped cleanly', 'systemd', show('inactive', 'dead', 0), {state: 'stopped', lastExit: 0}],
    ['systemd unit unknown', 'systemd', show('inactive', 'dead', 0, 'not-found'), {state: 'not-loaded'}],
    ['systemd without a user bus', 'systemd', {code: 1, stdout: '', stderr: 'Failed to connect to bus: No medium found'}, {state: 'unreachable', detail: expect.stringContaining('no systemd user session')}],
    ['launchd running', 'launchd', {code: 0, stderr: '', stdout: 'gui/501/dev.ona.watch = {\n\tactive count = 1\n\tstate = running\n\tlast exit code = (never exited)\n}'}, {state: 'running'}],
    ['launchd ended after an expired token', 'launchd', {code: 0, stderr: '', stdout: 'gui/501/dev.ona.watch = {\n\tstate = not running\n\tlast exit code = 0\n}'}, {state: 'stopped', lastExit: 0}],
    ['launchd not loaded', 'launchd', {code: 113, stderr: 'Could not find service "dev.ona.watch" in domain for user gui: 501', stdout: ''}, {state: 'not-loaded'}],
  ] as const)('%s', (_name, kind, result, expected) => {
    expect(parseManagerState(kind, result)).toEqual(expected)
  })
})

describe('the service managers\' answers in the formats the real tools print (fixtures/service-managers)', () => {
  const fixture = (name: string) => readFileSync(path.resolve('fixtures/service-managers', name), 'utf8')
  it.each([
    // Running, restarted twice before (runs = 3, last exit code = 1): the nested blocks' lines do not count.
    ['launchctl-print-running.txt', {state: 'running', lastExit: 1}],
    // Waiting out ThrottleInterval after a crash; `78: EX_CONFIG` is a number and its name; an environment
    // value reading "state = running" is not the service's state.
    ['launchctl-print-spawn-scheduled.txt', {state: 'failed', lastExit: 78}],
    ['launchctl-print-exited-0.txt', {state: 'stopped', lastExit: 0}],
    ['launchctl-print-killed.txt', {state: 'failed'}],
  ] as const)('launchctl print: %s', (name, expected) => {
    expect(parseManagerState('launchd', {code: 0, stdout: fixture(name), stderr: ''})).toEqual(expected)
  })

  it.each([
    ['schtasks-en-running.csv', {state: 'running'}],
    ['schtasks-en-ready-exit4.csv', {state: 'failed', lastExit: 4}],
    ['schtasks-en-never-ran.csv', {state: 'stopped'}],
    // German: translated columns and words; the numbers decide.
    ['schtasks-de-running.csv', {state: 'running'}],
    ['schtasks-de-oem-running.csv', {state: 'running'}],
    // 0xC000013A (ended with Ctrl+C), a negative number as schtasks prints it.
    ['schtasks-de-ready-crashed.csv', {state: 'failed', lastExit: -1073741510}],
  ] as const)('schtasks /FO CSV /NH /V: %s', (name, expected) => {
    expect(parseManagerState('task', {code: 0, stdout: fixture(name), stderr: ''})).toEqual(expected)
  })

  it.each(['schtasks-en-not-found.txt', 'schtasks-de-not-found.txt'])('schtasks for a task that is not registered (%s): not loaded', (name) => {
    expect(parseManagerState('task', {code: 1, stdout: '', stderr: fixture(name)})).toEqual({state: 'not-loaded'})
  })

  it('the running word alone, in English or German, says running whatever Last Result says', () => {
    expect(parseManagerState('task', {code: 0, stderr: '', stdout: '"PC","\\ona-watch","N/A","Wird ausgeführt","Nur interaktiv","Nicht zutreffend","0"\r\n'})).toEqual({state: 'running', lastExit: 0})
    expect(parseManagerState('task', {code: 0, stderr: '', stdout: '"PC","\\ona-watch","N/A","Running","Interactive only","N/A","0"\r\n'})).toEqual({state: 'running', lastExit: 0})
  })

  it('CSV fields: quotes doubled inside quoted fields, commas inside quotes', () => {
    expect(csvFields('"a","""b"" c","d,e",""')).toEqual(['a', '"b" c', 'd,e', ''])
  })
})
