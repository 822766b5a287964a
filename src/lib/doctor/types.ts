/**
 * The shape of `ona doctor`'s report. `--json` prints a DoctorReport as is; its layout is locked by a golden
 * file (test/golden/output/doctor.json): add fields, never rename or remove them. Finding ids are stable.
 */
import type {ReportHeader} from '../report-header.js'

export type FindingStatus = 'pass' | 'warn' | 'fail' | 'skip'

/** The parts of the report, in the order a connection goes through them. */
export type Section = 'ona' | 'token' | 'api' | 'ssh-config' | 'environment' | 'watcher' | 'vscode'

export interface Finding {
  /** Stable: `ona.version`, `auth.user`, `api.tls`, `env.banner`... (an environment's findings carry `environment`). */
  id: string
  section: Section
  status: FindingStatus
  /** One line: what was found. */
  message: string
  /** What to do about it; null when there is nothing to do. */
  hint: string | null
  /** The environment id, for the findings of one environment. */
  environment?: string
  /** Where the cause is, when it is a line of a file. */
  file?: string
  line?: number
}

/** The header (report-header.ts): verdict fail when a finding failed, warn when one warned, else pass. */
export interface DoctorReport extends ReportHeader {
  version: string
  node: string
  apiUrl: string
  origin: string
  /** The file ona manages, and the user config a plain `ssh` reads. */
  sshConfig: string
  userSshConfig: string
  /** The environment asked about (`ona doctor <environment>`), as given; null for all. */
  environment: string | null
  counts: Record<FindingStatus, number>
  findings: Finding[]
}
