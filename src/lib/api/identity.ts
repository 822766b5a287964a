/** IdentityService: who the token belongs to. */
import type {CallOptions, Transport} from './transport.js'
import type {Identity} from './types.js'

/** The names people recognise, where the plane gives them (best effort: absent when it does not). */
export interface DisplayNames {
  userName?: string
  organizationName?: string
}

export interface IdentityCalls {
  getAuthenticatedIdentity(options?: CallOptions): Promise<Identity>
  /**
   * The user's display name (UserService/GetAuthenticatedUser) and the organisation's name
   * (OrganizationService/GetOrganization). Never fails: a plane that does not answer either (an older
   * install, a token that may not read its organisation) leaves the name out.
   */
  getDisplayNames(identity: Identity, options?: CallOptions): Promise<DisplayNames>
}

/** A name as the plane sends it: a non-empty string, else nothing. */
function nameIn(body: unknown, key: 'user' | 'organization'): string | undefined {
  const name = (body as Record<string, {name?: unknown} | undefined> | undefined)?.[key]?.name
  return typeof name === 'string' && name.trim() !== '' ? name : undefined
}

export function identityCalls(t: Transport): IdentityCalls {
  return {
    async getAuthenticatedIdentity(callOptions: CallOptions = {}): Promise<Identity> {
      return t.schema.parseIdentity('GetAuthenticatedIdentity', await t.call('IdentityService/GetAuthenticatedIdentity', {}, undefined, callOptions))
    },
    async getDisplayNames(identity: Identity, callOptions: CallOptions = {}): Promise<DisplayNames> {
      const [user, organization] = await Promise.all([
        t.call('UserService/GetAuthenticatedUser', {}, undefined, callOptions).then((body) => nameIn(body, 'user'), () => undefined),
        identity.organizationId === undefined
          ? undefined
          : t.call('OrganizationService/GetOrganization', {organizationId: identity.organizationId}, undefined, callOptions).then((body) => nameIn(body, 'organization'), () => undefined),
      ])
      return {...(user ? {userName: user} : {}), ...(organization ? {organizationName: organization} : {})}
    },
  }
}
