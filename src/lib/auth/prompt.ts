/** Reading a token from standard input or from a hidden prompt, never echoing it. */
import {OnaError} from '../errors.js'

export type TokenInput = NodeJS.ReadableStream & {isTTY?: boolean; setRawMode?: (mode: boolean) => unknown}

/** Longer than any real token; bounds what a mistaken pipe (`cat bigfile |`) can make us hold. */
const MAX_TOKEN_BYTES = 16 * 1024

/** Reads all of stdin; the token is the trimmed content (a trailing newline from `echo` is fine). */
export async function readTokenFromStream(input: NodeJS.ReadableStream): Promise<string> {
  let text = ''
  for await (const chunk of input as AsyncIterable<Buffer | string>) {
    text += typeof chunk === 'string' ? chunk : chunk.toString('utf8')
    if (text.length > MAX_TOKEN_BYTES) throw new OnaError('ERR_TOKEN_EMPTY', 'standard input is far longer than a token')
  }
  return checkToken(text)
}

/** Trims and checks the shape of a token without ever putting it in a message. */
export function checkToken(raw: string): string {
  const token = raw.trim()
  if (token === '') throw new OnaError('ERR_TOKEN_EMPTY', 'no token was given')
  if (/\s/.test(token)) throw new OnaError('ERR_TOKEN_EMPTY', 'the token contains whitespace or several lines', {hint: 'Pass exactly one personal access token.'})
  if (/[^\x21-\x7E]/.test(token)) throw new OnaError('ERR_TOKEN_EMPTY', 'the token contains characters a token never has', {hint: 'Pass exactly one personal access token.'})
  return token
}

/**
 * Asks for the token on a terminal with echo off (raw mode, nothing printed per key). Ctrl-C and
 * Ctrl-D cancel with a usage error.
 */
export async function promptHidden(question: string, input: TokenInput, output: NodeJS.WritableStream): Promise<string> {
  if (!input.isTTY || typeof input.setRawMode !== 'function') throw new OnaError('ERR_TOKEN_EMPTY', 'standard input is not a terminal')
  // Echo goes off before the prompt is shown: a token pasted the instant the prompt appears (or typed
  // ahead) would otherwise be echoed by the terminal.
  input.setRawMode(true)
  input.resume()
  output.write(question)
  try {
    const typed = await new Promise<string>((resolve, reject) => {
      let value = ''
      const onData = (chunk: Buffer | string) => {
        for (const ch of typeof chunk === 'string' ? chunk : chunk.toString('utf8')) {
          if (ch === '\r' || ch === '\n') {
            cleanup()
            resolve(value)
            return
          }
          if (ch === '\u0003' || ch === '\u0004') {
            cleanup()
            reject(new OnaError('ERR_USAGE', 'login cancelled', {hint: 'Run `ona login` again when you have the token.'}))
            return
          }
          if (ch === '\u007F' || ch === '\b') value = value.slice(0, -1)
          else if (ch >= ' ') value += ch
        }
      }
      const cleanup = () => input.removeListener('data', onData)
      input.on('data', onData)
    })
    return checkToken(typed)
  } finally {
    input.setRawMode(false)
    input.pause()
    output.write('\n')
  }
}
