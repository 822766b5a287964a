import {PassThrough} from 'node:stream'

import {describe, expect, it} from 'vitest'

import {createProgressReporter} from '../../src/lib/environments/progress.js'
import type {ReadyProgress} from '../../src/lib/environments/ready.js'

const events: ReadyProgress[] = [
  {environmentId: 'e', step: 'starting', phase: 'ENVIRONMENT_PHASE_STOPPED', elapsedMs: 0},
  {environmentId: 'e', step: 'starting', phase: 'ENVIRONMENT_PHASE_STARTING', elapsedMs: 400},
  {environmentId: 'e', step: 'starting', phase: 'ENVIRONMENT_PHASE_STARTING', elapsedMs: 900},
  {environmentId: 'e', step: 'starting', phase: 'ENVIRONMENT_PHASE_STARTING', elapsedMs: 16_000},
  {environmentId: 'e', step: 'waiting-for-key', phase: 'CONTENT_PHASE_CREATING', elapsedMs: 17_000},
  {environmentId: 'e', step: 'ready', phase: 'ENVIRONMENT_PHASE_RUNNING', elapsedMs: 17_500},
]

function capture(tty: boolean, list: ReadyProgress[]): string {
  const err = new PassThrough()
  let text = ''
  err.on('data', (c: Buffer) => (text += c.toString()))
  const reporter = createProgressReporter(err, '0199ec15 (api)', {tty})
  for (const e of list) reporter.onProgress(e)
  reporter.done()
  return text
}

describe('progress on stderr', () => {
  it('without a terminal: one plain line per change, a heartbeat every 15 s, and the time waited', () => {
    expect(capture(false, events).split('\n')).toEqual([
      'ona: 0199ec15 (api): starting (stopped), 0 s',
      'ona: 0199ec15 (api): starting (starting), 0 s',
      'ona: 0199ec15 (api): starting (starting), 16 s',
      'ona: 0199ec15 (api): waiting for the SSH key (creating), 17 s',
      'ona: 0199ec15 (api): ready after 17 s',
      '',
    ])
  })

  it('on a terminal: a spinner line redrawn in place, then one final line', () => {
    const text = capture(true, events)
    expect(text).toContain('\r\u001B[2K⠙ 0199ec15 (api): starting (stopped), 0 s')
    expect(text).not.toContain('\nona: 0199ec15 (api): starting')
    expect(text.endsWith('ona: 0199ec15 (api): ready after 17 s\n')).toBe(true)
  })

  it('prints nothing for an environment that was ready at once', () => {
    expect(capture(false, [events.at(-1)!])).toBe('')
    expect(capture(true, [events.at(-1)!])).toBe('')
  })
})

describe('API text in progress lines (issue 13)', () => {
  it('a name and a phase carrying escapes and newlines stay on ona\'s own line, escapes visible', () => {
    const err = new PassThrough()
    let text = ''
    err.on('data', (c: Buffer) => (text += c.toString()))
    const reporter = createProgressReporter(err, '0199ec15 (api\u001b[2J\u001b[1;1Hfake: ok\n)', {tty: false})
    reporter.onProgress({environmentId: 'e', step: 'starting', phase: 'ENVIRONMENT_PHASE_STARTING\nfake: ok\u202e', elapsedMs: 0})
    reporter.done()
    expect(text).toBe('ona: 0199ec15 (api\\e[2J\\e[1;1Hfake: ok\\n): starting (starting\\nfake: ok\\u202e), 0 s\n')
  })
})
