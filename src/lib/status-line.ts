/**
 * The one status line a one-shot command shows on a terminal while it waits ("waiting for app.ona.com
 * (ListEnvironments, attempt 2 of 4)..."): on stderr, only after a wait has lasted ~1.5 s, redrawn in
 * place, and cleared before anything else is printed and when the wait ends. Never on a pipe, never with
 * --json (createContext decides). Costs one object until a wait actually lasts: the timers are unref'd
 * and started only by a wait.
 */
import type {Writable} from 'node:stream'

import type {ApiWait, WaitHandle} from './api/transport.js'

/** How long a wait goes unmentioned: most calls answer well within it. */
export const STATUS_DELAY_MS = 1500

export interface StatusLine {
  /** Starts a wait described by `text`; the line shows it once it has lasted STATUS_DELAY_MS. */
  begin(text: string): WaitText
  /** Takes the line off the screen now (before other output); a wait still going draws it again on its next update. */
  clear(): void
}

export interface WaitText {
  update(text: string): void
  done(): void
}

type Err = Writable & {isTTY?: boolean; columns?: number}

/** What an API wait says: `waiting for app.ona.com (ListEnvironments, attempt 2 of 4)...`. */
export function describeApiWait(wait: ApiWait): string {
  const attempt = wait.attempts > 1 ? `, attempt ${wait.attempt} of ${wait.attempts}` : ''
  const retry = wait.retryInMs === undefined ? '' : ` in ${Math.max(1, Math.round(wait.retryInMs / 1000))} s`
  return `waiting for ${wait.host} (${wait.rpc}${attempt}${retry})...`
}

export function createStatusLine(err: Err, options: {delayMs?: number} = {}): StatusLine {
  const delayMs = options.delayMs ?? STATUS_DELAY_MS
  // Waits in the order they began; the newest one that has lasted is the one shown.
  const waits: Array<{text: string; shown: boolean; timer?: NodeJS.Timeout}> = []
  let onScreen = false
  const clear = () => {
    if (!onScreen) return
    err.write('\r\u001B[2K')
    onScreen = false
  }
  const draw = () => {
    const visible = waits.filter((w) => w.shown).at(-1)
    if (!visible) return clear()
    // One row at most, or the next redraw would leave the wrapped part behind.
    const width = Math.max(20, (err.columns || 80) - 1)
    const text = visible.text.length > width ? `${visible.text.slice(0, width - 3)}...` : visible.text
    err.write(`\r\u001B[2K${text}`)
    onScreen = true
  }
  return {
    begin(text) {
      const wait: (typeof waits)[number] = {text, shown: false}
      wait.timer = setTimeout(() => {
        wait.shown = true
        draw()
      }, delayMs)
      wait.timer.unref?.()
      waits.push(wait)
      return {
        update(next) {
          wait.text = next
          if (wait.shown) draw()
        },
        done() {
          clearTimeout(wait.timer)
          const index = waits.indexOf(wait)
          if (index === -1) return
          waits.splice(index, 1)
          if (wait.shown) draw()
        },
      }
    },
    clear,
  }
}

/** The transport's onWait hook for a status line. */
export function apiWaitReporter(status: StatusLine): (wait: ApiWait) => WaitHandle {
  return (wait) => {
    const line = status.begin(describeApiWait(wait))
    return {update: (next) => line.update(describeApiWait(next)), done: () => line.done()}
  }
}
