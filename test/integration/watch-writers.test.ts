/**
 * Watch mode never loses a byte another program writes: real shell writers (truncate-and-write slowly, an
 * appender holding the file open, a vim-style write by rename) against a running watcher, the simulator's
 * event stream, and the real `ssh -G` reading the result.
 */
import {spawn} from 'node:child_process'
import {readFile, rename, stat, writeFile} from 'node:fs/promises'
import path from 'node:path'

import {beforeEach, describe, expect, it} from 'vitest'

import type {ApiClient} from '../../src/lib/api/client.js'
import type {Context} from '../../src/lib/context.js'
import type {Simulator} from '../../src/lib/simulator/server.js'
import {BEGIN_MARKER} from '../../src/lib/ssh-config/index.js'
import type {WatchOptions} from '../../src/lib/watch/watch.js'
import {useFixture} from '../helpers/fixture.js'
import {sshG} from '../helpers/ssh.js'
import {waitForQuiet} from '../helpers/wait-for.js'
import {startLibraryWatch, waitForShowing} from '../helpers/watch.js'

const A = '0199ec15-59d3-7e92-8e22-8cb6c7ba4df7'
const USER_PART = '# mine\nHost github.com\n  User git\n'

const fixture = useFixture({prefix: 'writers', configText: USER_PART})
let config: string
let sim: Simulator
let client: ApiClient
let ctx: Context
/** What the watcher printed. */
const output = () => fixture.output()
beforeEach(async () => {
  ;({config, sim, ctx} = fixture)
  client = await fixture.client()
})

const startWatch = (options: Partial<WatchOptions> = {}) => startLibraryWatch(ctx, {client, fileDebounceMs: 200, replacedPollMs: 50, backoff: {baseMs: 50, maxMs: 200}, ...options})

/** Runs a shell script (the writer) and resolves with its exit code; it never outlives the test. */
function shell(script: string): Promise<number | null> {
  const child = spawn('sh', ['-c', script], {cwd: path.dirname(config), stdio: 'ignore'})
  return new Promise((resolve) => child.once('exit', (code) => resolve(code)))
}

const text = () => readFile(config, 'utf8')
const waitFor = (condition: () => Promise<boolean>, ms: number, what: string) => waitForShowing(output, config)(condition, ms, what)
const has = (...parts: string[]) => async () => {
  const now = await text()
  return parts.every((p) => now.includes(p))
}

describe('watch mode and other programs writing the SSH config', () => {
  it('a writer that truncates and writes slowly (`> config`) loses nothing: what it writes after the restore is re-applied', async () => {
    const stop = startWatch()
    try {
      await waitFor(has(BEGIN_MARKER), 5000, 'the first sync')
      // The watcher restores the block while the writer sleeps (its quiet period is shorter than the
      // sleep); the writer then writes into the file the rename replaced.
      const code = await shell(`(printf 'Host a\\n  Port 2201\\n'; sleep 1; printf 'Host b\\n  Port 2202\\n') > config`)
      expect(code).toBe(0)
      await waitFor(has('Host a\n  Port 2201\n', 'Host b\n  Port 2202\n', BEGIN_MARKER, 'HostName 127.0.0.11'), 5000, 'both hosts and the block')
      const final = await text()
      expect(final.indexOf('Host a')).toBeLessThan(final.indexOf('Host b'))
      expect(final).not.toContain('# mine')
      // The real OpenSSH client reads both the writer's hosts and the aliases.
      expect((await sshG(config, 'b')).get('port')).toBe('2202')
      expect((await sshG(config, 'a')).get('port')).toBe('2201')
      expect((await sshG(config, `${A}.gitpod.environment`)).get('hostname')).toBe('127.0.0.11')
    } finally {
      await stop()
    }
  }, 20_000)

  it('does not replace a file that is still being written: it waits until the file has been quiet', async () => {
    // The quiet period is longer than the writer's pause, and the replaced-file guard is off: only the
    // quiet gate can save the writer here.
    const stop = startWatch({fileDebounceMs: 1500, replacedGuardMs: 0})
    try {
      await waitFor(has(BEGIN_MARKER), 5000, 'the first sync')
      // The stream's opening lists once more: let that listing (and any write it makes) be over before the
      // writer starts. A write decided the instant before the writer opens the file is the replaced-file
      // guard's case (off here), not the quiet gate's.
      await waitFor(async () => sim.openStreams() > 0 && sim.requests.filter((r) => r.rpc === 'ListEnvironments' && r.status === 200).length >= 2, 5000, 'the listing on stream open')
      // The key registered by the first sync turns READY a moment later: the events (and the write each
      // may decide) must be over too.
      await waitForQuiet(() => sim.requests.length, 500, 10_000, 'the key-ready events to be handled')
      const {ino} = await stat(config)
      const writer = shell(`(printf 'Host a\\n'; sleep 1; printf 'Host b\\n') > config`)
      let replacedWhileWriting = false
      let writing = true
      void writer.then(() => (writing = false))
      while (writing) {
        if (writing && (await stat(config)).ino !== ino) replacedWhileWriting = true
        await new Promise((resolve) => setTimeout(resolve, 20))
      }
      expect(replacedWhileWriting).toBe(false)
      await waitFor(has('Host a\n', 'Host b\n', BEGIN_MARKER), 6000, 'the block restored after the writer')
    } finally {
      await stop()
    }
  }, 20_000)

  it('regression: a writer that starts while a write is under way (after its quiet check) is not replaced mid-write', async () => {
    // The quiet gate used to be checked once, before the write's own work; a program that began writing
    // in between (on a loaded machine that is easily a few hundred ms) had its half-written file replaced.
    // The hook starts the writer at exactly that moment, so this does not depend on timing.
    let armed = false
    let writer: Promise<number | null> | undefined
    const stop = startWatch({
      fileDebounceMs: 1500,
      replacedGuardMs: 0,
      beforeWrite: async () => {
        if (!armed) return
        armed = false
        writer = shell(`(printf 'Host a\\n'; sleep 1; printf 'Host b\\n') > config`)
        await waitFor(async () => (await text()) === 'Host a\n', 5000, 'the writer to be half way')
      },
    })
    try {
      await waitFor(has(BEGIN_MARKER), 5000, 'the first sync')
      await waitFor(async () => sim.openStreams() > 0, 5000, 'the event stream')
      const {ino} = await stat(config)
      armed = true
      sim.setSshAddress(A, {host: '127.0.0.72', port: 2222})
      await waitFor(async () => writer !== undefined, 5000, 'a write pass for the new address')
      let replacedWhileWriting = false
      let writing = true
      void writer!.then(() => (writing = false))
      while (writing) {
        if ((await stat(config)).ino !== ino) replacedWhileWriting = true
        await new Promise((resolve) => setTimeout(resolve, 20))
      }
      expect(replacedWhileWriting).toBe(false)
      // Once the writer is done and the file quiet, the block goes back in, with the new address.
      await waitFor(has('Host a\nHost b\n', BEGIN_MARKER, 'HostName 127.0.0.72'), 8000, 'the block on top of what the writer wrote')
      expect((await sshG(config, `${A}.gitpod.remote`)).get('hostname')).toBe('127.0.0.72')
    } finally {
      await stop()
    }
  }, 30_000)

  it('an appender holding the file open while an address changes keeps every line', async () => {
    const stop = startWatch()
    try {
      await waitFor(has(BEGIN_MARKER), 5000, 'the first sync')
      await waitFor(async () => sim.openStreams() > 0, 5000, 'the event stream')
      // The key-ready events after the first sync (a fetch and a write pass each) are over before the
      // appender starts, so the only write it meets is the one for the address change below.
      await waitForQuiet(() => sim.requests.length, 500, 10_000, 'the key-ready events to be handled')
      // The appender writes its second entry only once the watcher has replaced the file (the inode
      // changed), so that entry always goes into the replaced file, however slow the machine is.
      const writer = shell(
        `exec 3>>config; ino=$(stat -c %i config); printf 'Host c\\n  Port 2203\\n' >&3; ` +
          `n=0; while [ "$(stat -c %i config)" = "$ino" ] && [ $n -lt 300 ]; do sleep 0.05; n=$((n+1)); done; printf 'Host d\\n  Port 2204\\n' >&3`,
      )
      await waitFor(has('Host c\n'), 5000, 'the first appended line')
      sim.setSshAddress(A, {host: '127.0.0.70', port: 2222})
      await waitFor(has('HostName 127.0.0.70'), 5000, 'the new address, written while the appender sleeps')
      expect(await writer).toBe(0)
      await waitFor(has('Host github.com\n  User git\n', 'Host c\n  Port 2203\n', 'Host d\n  Port 2204\n', 'HostName 127.0.0.70'), 5000, 'the appended lines and the new address')
      // The report line follows the rename (after the config-tree check): wait for it, do not race it.
      await waitFor(async () => output().includes('kept what a program wrote into ~/.ssh/config after ona had replaced it'), 5000, 'the report line')
      expect((await sshG(config, 'd')).get('port')).toBe('2204')
      expect((await sshG(config, `${A}.gitpod.remote`)).get('hostname')).toBe('127.0.0.70')
    } finally {
      await stop()
    }
  }, 60_000)

  it('a vim-style write (temp file renamed over the config) without the block gets the block back and keeps the edit', async () => {
    const stop = startWatch()
    try {
      await waitFor(has(BEGIN_MARKER), 5000, 'the first sync')
      const temp = path.join(path.dirname(config), '.config.swp')
      await writeFile(temp, `${USER_PART}Host vim-edit\n  Port 2205\n`, {mode: 0o600})
      await rename(temp, config)
      await waitFor(has('Host vim-edit\n  Port 2205\n', BEGIN_MARKER), 5000, 'the block restored')
      expect((await sshG(config, 'vim-edit')).get('port')).toBe('2205')
      expect((await sshG(config, `${A}.gitpod.environment`)).get('hostname')).toBe('127.0.0.11')
    } finally {
      await stop()
    }
  }, 20_000)

  it('when the file changed again after a writer wrote into the replaced one, that text is saved aside, not dropped', async () => {
    const stop = startWatch()
    try {
      await waitFor(has(BEGIN_MARKER), 5000, 'the first sync')
      const writer = shell(`(printf 'Host late\\n'; sleep 1; printf 'Host later\\n') > config`)
      // Wait for the restore (the writer now holds a replaced file), then edit the new file as well.
      await waitFor(has('Host late\n', BEGIN_MARKER), 5000, 'the restore')
      const now = await text()
      await writeFile(config, `${now}Host edited-meanwhile\n`)
      await writer
      await waitFor(async () => output().includes('is saved in'), 5000, 'the warning naming the saved text')
      const saved = /saved in (\S+)/.exec(output())![1]!
      expect(await readFile(saved, 'utf8')).toBe('Host late\nHost later\n')
      expect(((await stat(saved)).mode & 0o777).toString(8)).toBe('600')
      expect(await text()).toContain('Host edited-meanwhile\n')
    } finally {
      await stop()
    }
  }, 20_000)
})
