/**
 * oclif flag definitions shared by several commands. The value is resolved in the library
 * (resolveApiUrl: flag, ONA_API_URL, ONA_BASE_URL, GITPOD_BASE_URL, default), so no `env` here.
 */
import {Flags} from '@oclif/core'

export const apiUrlFlag = Flags.string({
  summary: 'management-plane API base URL (default https://app.ona.com/api)',
  description: 'Also read from ONA_API_URL, then ONA_BASE_URL and GITPOD_BASE_URL. Use it for enterprise installs.',
  helpValue: '<url>',
})

const timeoutSummary = 'give up after this long: 30s, 2m, 90 (seconds), 0 for never (default 60s, or ONA_TIMEOUT)'
const timeoutDescription = 'An overall deadline for the whole command: retries stop at it and the command fails with ERR_DEADLINE_EXCEEDED, changing nothing.'

/** The overall deadline of a one-shot command; read in the library (deadline.ts: flag, ONA_TIMEOUT, 60 s). */
export const timeoutFlag = Flags.string({summary: timeoutSummary, description: timeoutDescription, helpValue: '<duration>'})

/** The same for `ssh-sync`, whose watch mode runs until interrupted. */
export const syncTimeoutFlag = Flags.string({summary: `${timeoutSummary}; not with --watch`, description: timeoutDescription, helpValue: '<duration>', exclusive: ['watch']})
