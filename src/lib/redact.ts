/**
 * Last line of defence against a token leaking into output: any text that may have touched a request
 * (error messages, debug lines) goes through `redact` with the secrets in play before it is printed.
 */

const MASK = '[REDACTED]'

/** Replaces every occurrence of each secret (ignoring ones too short to be a token) with a mask. */
export function redact(text: string, secrets: ReadonlyArray<string | undefined>): string {
  let out = text
  for (const secret of secrets) {
    if (secret === undefined || secret.length < 4) continue
    out = out.split(secret).join(MASK)
  }
  return out
}

/** Masks `Authorization`-style bearer values whatever the token is (for text built from headers). */
export function redactBearer(text: string): string {
  return text.replace(/(bearer\s+)[^\s"',}]+/gi, `$1${MASK}`)
}
