/** The status line's drawing rules, on a captured stream with a short delay. */
import {Writable} from 'node:stream'
import {setTimeout as delay} from 'node:timers/promises'

import {describe, expect, it} from 'vitest'

import {createStatusLine, describeApiWait} from '../../src/lib/status-line.js'

const CLEAR = '\r\u001B[2K'

function capture(columns?: number) {
  let text = ''
  const stream = new Writable({
    write(chunk, _encoding, callback) {
      text += String(chunk)
      callback()
    },
  }) as Writable & {columns?: number}
  if (columns !== undefined) stream.columns = columns
  return {stream, text: () => text}
}

describe('describeApiWait', () => {
  it.each([
    [{host: 'app.ona.com', rpc: 'ListEnvironments', attempt: 2, attempts: 4}, 'waiting for app.ona.com (ListEnvironments, attempt 2 of 4)...'],
    [{host: 'app.ona.com', rpc: 'ListEnvironments', attempt: 3, attempts: 4, retryInMs: 2100}, 'waiting for app.ona.com (ListEnvironments, attempt 3 of 4 in 2 s)...'],
    [{host: 'app.ona.com', rpc: 'GetAuthenticatedIdentity', attempt: 1, attempts: 1}, 'waiting for app.ona.com (GetAuthenticatedIdentity)...'],
  ])('%j reads %j', (wait, text) => {
    expect(describeApiWait(wait)).toBe(text)
  })
})

describe('createStatusLine', () => {
  it('says nothing about a wait that ends before the delay', async () => {
    const out = capture()
    const line = createStatusLine(out.stream, {delayMs: 50})
    line.begin('waiting for a').done()
    await delay(100)
    expect(out.text()).toBe('')
  })

  it('draws after the delay, redraws in place on update, and clears when the wait ends', async () => {
    const out = capture()
    const line = createStatusLine(out.stream, {delayMs: 20})
    const wait = line.begin('waiting for a (attempt 1 of 4)...')
    await delay(80)
    wait.update('waiting for a (attempt 2 of 4)...')
    wait.done()
    expect(out.text()).toBe(`${CLEAR}waiting for a (attempt 1 of 4)...${CLEAR}waiting for a (attempt 2 of 4)...${CLEAR}`)
  })

  it('shows the newest lasting wait, and the older one again when the newest ends', async () => {
    const out = capture()
    const line = createStatusLine(out.stream, {delayMs: 20})
    const a = line.begin('A')
    await delay(60)
    const b = line.begin('B')
    await delay(60)
    b.done()
    a.done()
    expect(out.text()).toBe(`${CLEAR}A${CLEAR}B${CLEAR}A${CLEAR}`)
  })

  it('clear() takes the line off before other output; the next update draws it again', async () => {
    const out = capture()
    const line = createStatusLine(out.stream, {delayMs: 10})
    const wait = line.begin('A')
    await delay(50)
    line.clear()
    line.clear()
    out.stream.write('warning: x\n')
    wait.update('A2')
    wait.done()
    expect(out.text()).toBe(`${CLEAR}A${CLEAR}warning: x\n${CLEAR}A2${CLEAR}`)
  })

  it('keeps to one row of the terminal', async () => {
    const out = capture(30)
    const line = createStatusLine(out.stream, {delayMs: 10})
    const wait = line.begin('waiting for a-very-long-host.example.com (ListEnvironments)...')
    await delay(50)
    wait.done()
    const drawn = out.text().split(CLEAR)[1]!
    expect(drawn).toHaveLength(29)
    expect(drawn.endsWith('...')).toBe(true)
  })
})
