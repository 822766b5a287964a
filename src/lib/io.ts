/**
 * Output streams that know whether they are a terminal and whether colour is allowed (gh's iostreams).
 * Library code writes through this object, never to process.stdout, so tests capture both TTY and
 * non-TTY output with real streams.
 */
import type {Writable} from 'node:stream'
import {MESSAGE_MAX, printable} from './printable.js'

export interface IOStreams {
  out: Writable
  err: Writable
  isTTY: boolean
  color: boolean
  /** Human progress and status lines go to stderr so stdout stays clean for data. */
  info(line: string): void
  warn(line: string): void
  print(line: string): void
}

export function colorAllowed(env: NodeJS.ProcessEnv, isTTY: boolean): boolean {
  if (env.NO_COLOR !== undefined && env.NO_COLOR !== '') return false
  if (env.FORCE_COLOR !== undefined && env.FORCE_COLOR !== '0') return true
  return isTTY && env.TERM !== 'dumb'
}

export function createIOStreams(options: {out: Writable; err: Writable; isTTY: boolean; env: NodeJS.ProcessEnv}): IOStreams {
  const color = colorAllowed(options.env, options.isTTY)
  const paint = (code: string, text: string) => (color ? `\u001B[${code}m${text}\u001B[0m` : text)
  return {
    out: options.out,
    err: options.err,
    isTTY: options.isTTY,
    color,
    info: (line) => void options.err.write(`${line}\n`),
    // Warnings quote API text (ids, names, server messages); one line each, whatever that text holds.
    warn: (line) => void options.err.write(`${paint('33', 'warning:')} ${printable(line, MESSAGE_MAX)}\n`),
    print: (line) => void options.out.write(`${line}\n`),
  }
}

export function processIOStreams(): IOStreams {
  return createIOStreams({out: process.stdout, err: process.stderr, isTTY: Boolean(process.stdout.isTTY), env: process.env})
}
