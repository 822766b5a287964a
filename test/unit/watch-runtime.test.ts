/** The watcher's memory settings: the service passes them to node; a hand-started watcher sets what it can. */
import {spawnSync} from 'node:child_process'

import {describe, expect, it} from 'vitest'

import {applyWatcherRuntimeFlags, WATCH_NODE_FLAGS} from '../../src/lib/watch/runtime.js'

describe('watcher runtime flags', () => {
  it('are flags this node accepts on its command line, and they shrink the young generation', () => {
    const probe = "const s = require('v8').getHeapSpaceStatistics().find((x) => x.space_name === 'new_space'); console.log(s.space_size)"
    const lean = spawnSync(process.execPath, [...WATCH_NODE_FLAGS, '-e', probe], {encoding: 'utf8'})
    expect(lean.stderr).toBe('')
    expect(lean.status).toBe(0)
    expect(Number(lean.stdout)).toBeLessThanOrEqual(2 * 1024 * 1024)
  })

  it('leave a process started with them alone (V8 already runs that way)', () => {
    expect(applyWatcherRuntimeFlags(['--inspect', ...WATCH_NODE_FLAGS])).toBe(false)
  })
})
