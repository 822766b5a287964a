/**
 * The management plane as `ona` sees it: only the fields the CLI uses, already validated and parsed.
 * Wire shapes (protobuf JSON) live in schema.ts; nothing outside src/lib/api should need them.
 */

/** An SSH endpoint parsed strictly from `status.environmentUrls.ssh.url` (`ssh://user@host:port`). */
export interface SshAddress {
  user: string
  /** A DNS name or an IP literal; IPv6 without brackets. */
  host: string
  port: number
}

export interface Environment {
  id: string
  name?: string
  /** e.g. `ENVIRONMENT_PHASE_RUNNING`; kept as a string so a phase added by the vendor does not break the CLI. */
  phase: string
  /** Increases with every status change; orders updates of one environment. */
  statusVersion: bigint
  /** Set only while the environment runs and its SSH url parsed cleanly. */
  ssh?: SshAddress
  creatorId?: string
  organizationId?: string
  /** `spec.desiredPhase`: what the environment is heading for (e.g. RUNNING right after a start). */
  desiredPhase?: string
  /** `spec.sshPublicKeys`: the keys registered on the environment (ids and values). */
  sshPublicKeys?: SshPublicKeySpec[]
  /** `status.sshPublicKeys`: how far each registered key has propagated to the environment's sshd. */
  sshKeyStatus?: SshKeyStatus[]
  /** `status.content.contentLocationInMachine`: where the checkout is in the environment (an absolute path). */
  checkoutFolder?: string
}

/** A key as UpdateEnvironment takes it: without `value`, the key of that id is removed. */
export interface SshPublicKeySpec {
  id: string
  value?: string
}

export interface SshKeyStatus {
  id: string
  /** `CONTENT_PHASE_CREATING`, `..._INITIALIZING`, `..._READY`, `..._UPDATING`, `..._FAILED`. */
  phase: string
}

export interface Identity {
  subjectId: string
  /** e.g. `PRINCIPAL_USER`, `PRINCIPAL_SERVICE_ACCOUNT`. */
  principal: string
  organizationId?: string
}

/**
 * A problem with one environment that did not stop the listing. An SSH url that does not parse: the
 * environment is listed without `ssh`. A record that does not validate at all (`unreadable`): the
 * environment is left out of the listing, and what ona wrote for it must stay as it was ("could not read"
 * is never "deleted"); when even its id could not be read (`idUnknown`), `environmentId` is its place in
 * the response, and no environment absent from that listing may be taken for deleted.
 */
export interface EnvironmentProblem {
  environmentId: string
  field: string
  message: string
  unreadable?: boolean
  idUnknown?: boolean
}

export interface ListEnvironmentsResult {
  environments: Environment[]
  problems: EnvironmentProblem[]
}

export type ResourceOperation =
  | 'RESOURCE_OPERATION_CREATE'
  | 'RESOURCE_OPERATION_UPDATE'
  | 'RESOURCE_OPERATION_DELETE'
  | 'RESOURCE_OPERATION_UPDATE_STATUS'
  | (string & {})

/** One WatchEvents event. Events carry no payload: fetch the resource to learn what changed. */
export interface WatchEvent {
  operation: ResourceOperation
  resourceType: string
  resourceId: string
}
