/** IdentityService: who the token belongs to. */
import type {CallOptions, Transport} from './transport.js'
import type {Identity} from './types.js'

export interface IdentityCalls {
  getAuthenticatedIdentity(options?: CallOptions): Promise<Identity>
}

export function identityCalls(t: Transport): IdentityCalls {
  return {
    async getAuthenticatedIdentity(callOptions: CallOptions = {}): Promise<Identity> {
      return t.schema.parseIdentity('GetAuthenticatedIdentity', await t.call('IdentityService/GetAuthenticatedIdentity', {}, undefined, callOptions))
    },
  }
}
