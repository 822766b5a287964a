/** `ona environment list`: the caller's environments with what connecting needs to know. */
import type {Context} from '../context.js'
import {formatAddress, aliasOf} from '../sync/plan.js'
import {shortPhase} from './resolve.js'
import {printable} from '../printable.js'

export interface EnvironmentRow {
  id: string
  name: string | null
  /** As the API names it, like every JSON output of ona: `ENVIRONMENT_PHASE_RUNNING`. The table shows `running`. */
  phase: string
  /** The alias `ona ssh-sync` writes for it. */
  alias: string
  /** `user@host:port` while it runs, else null. */
  address: string | null
}

export async function listEnvironmentRows(ctx: Context, options: {apiUrl: string}): Promise<EnvironmentRow[]> {
  const {connect} = await import('../sync/sync.js')
  const client = await connect(ctx, options.apiUrl)
  const {environments} = await client.listEnvironments()
  return environments
    .map((e) => ({id: e.id, name: e.name ?? null, phase: e.phase, alias: aliasOf(e.id), address: e.ssh ? formatAddress(e.ssh) : null}))
    .sort((a, b) => (a.name ?? '').localeCompare(b.name ?? '') || a.id.localeCompare(b.id))
}

/** A plain table: ID, NAME, PHASE, ALIAS, ADDRESS (header included; `-` for nothing). */
export function formatEnvironmentRows(rows: readonly EnvironmentRow[]): string[] {
  if (rows.length === 0) return ['no environments']
  // Every cell is API text: printable (one line, no escapes), and capped so one name cannot stretch the table.
  const table = [['ID', 'NAME', 'PHASE', 'ALIAS', 'ADDRESS'], ...rows.map((r) => [r.id, r.name ?? '-', shortPhase(r.phase), r.alias, r.address ?? '-'].map((cell) => printable(cell, 80)))]
  const widths = table[0]!.map((_, i) => Math.max(...table.map((row) => row[i]!.length)))
  return table.map((row) => row.map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i]!))).join('  '))
}
