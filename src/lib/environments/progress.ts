/**
 * Showing the wait for an environment on stderr (which ssh and VS Code show while a ProxyCommand runs):
 * a spinner line redrawn in place on a terminal, plain lines otherwise (one per change of phase, and one
 * every 15 s while nothing changes, so a log shows it is still alive).
 */
import type {Writable} from 'node:stream'

import type {ReadyProgress} from './ready.js'
import {printable} from '../printable.js'

const FRAMES = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏']
const HEARTBEAT_MS = 15_000

/** What one progress event says, in words: `starting (stopped)`, `waiting for the SSH key (creating)`. */
export function describeProgress(progress: ReadyProgress): string {
  const phase = printable(progress.phase.replace(/^(ENVIRONMENT|CONTENT)_PHASE_/, '').toLowerCase())
  switch (progress.step) {
    case 'starting':
      return `starting (${phase})`
    case 'waiting':
      return `waiting until it runs (${phase})`
    case 'registering-key':
      return 'registering the SSH key'
    case 'waiting-for-key':
      return `waiting for the SSH key (${phase})`
    default:
      return 'ready'
  }
}

export interface ProgressReporter {
  onProgress(progress: ReadyProgress): void
  /** Clears the spinner line (TTY) and stops its timer. */
  done(): void
}

/**
 * `label` names the environment (`0199ec15... (api)`); nothing is printed for an environment that was
 * ready at once (its only event is `ready`).
 */
export function createProgressReporter(err: Writable & {isTTY?: boolean}, rawLabel: string, options: {tty?: boolean; prefix?: string} = {}): ProgressReporter {
  // The label names the environment with API text (id, name): it must not move the cursor or add lines.
  const label = printable(rawLabel, 120)
  const tty = options.tty ?? Boolean(err.isTTY)
  const prefix = options.prefix ?? 'ona: '
  let last: ReadyProgress | undefined
  let lastText = ''
  let lastLineAt = 0
  let frame = 0
  let timer: NodeJS.Timeout | undefined
  let shown = false
  const seconds = (ms: number) => `${Math.floor(ms / 1000)} s`
  const draw = () => {
    if (!last) return
    frame = (frame + 1) % FRAMES.length
    err.write(`\r\u001B[2K${FRAMES[frame]} ${label}: ${describeProgress(last)}, ${seconds(last.elapsedMs + (Date.now() - lastAt))}`)
    shown = true
  }
  let lastAt = Date.now()
  return {
    onProgress(progress) {
      if (progress.step === 'ready' && !shown && !last) return
      const text = describeProgress(progress)
      const changed = text !== lastText
      last = progress
      lastAt = Date.now()
      if (tty) {
        if (progress.step === 'ready') {
          if (shown) err.write(`\r\u001B[2K${prefix}${label}: ready after ${seconds(progress.elapsedMs)}\n`)
          shown = false
          clearInterval(timer)
          timer = undefined
          return
        }
        timer ??= setInterval(draw, 100)
        timer.unref?.()
        draw()
        return
      }
      if (changed || progress.elapsedMs - lastLineAt >= HEARTBEAT_MS) {
        err.write(`${prefix}${label}: ${progress.step === 'ready' ? `ready after ${seconds(progress.elapsedMs)}` : `${text}, ${seconds(progress.elapsedMs)}`}\n`)
        lastLineAt = progress.elapsedMs
        lastText = text
        shown = true
      }
    },
    done() {
      clearInterval(timer)
      timer = undefined
      if (tty && shown) err.write('\r\u001B[2K')
      shown = false
    },
  }
}
