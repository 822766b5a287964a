/** The configured API as a preflight endpoint. Its own small module: `ona ssh` loads it without the preflight. */
import type {CatalogEndpoint} from './catalog.js'

/** The management plane as the user reaches it: the host and port of the API URL in use. */
export function apiEndpoint(apiUrl: string): CatalogEndpoint {
  const url = new URL(apiUrl)
  const host = url.hostname.replace(/^\[|\]$/g, '')
  const secure = url.protocol === 'https:'
  const port = url.port === '' ? (secure ? 443 : 80) : Number(url.port)
  return {
    id: 'management.api',
    category: 'management',
    protocol: secure ? 'https' : 'http',
    host,
    port,
    purpose: `management-plane API (${url.origin})`,
    when: {},
    urls: [url.origin],
    sources: ['user'],
  }
}
