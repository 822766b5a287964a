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
