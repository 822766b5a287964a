/** The human form of `ona doctor`'s report: one line per finding, grouped as a connection goes, hints under. */
import type {IOStreams} from '../io.js'
import {MESSAGE_MAX, printable} from '../printable.js'
import type {DoctorReport, Finding, FindingStatus, Section} from './types.js'

const LABEL: Record<FindingStatus, string> = {pass: 'PASS', warn: 'WARN', fail: 'FAIL', skip: 'SKIP'}
const COLOR: Record<FindingStatus, string> = {pass: '32', warn: '33', fail: '31', skip: '2'}
const TITLES: Record<Section, string> = {
  ona: 'ona',
  token: 'Token',
  api: 'Management-plane API',
  'ssh-config': 'SSH config',
  environment: 'Environments',
  watcher: 'Watcher and service',
  vscode: 'VS Code Remote-SSH',
}

function paint(io: IOStreams, status: FindingStatus, text: string): string {
  return io.color ? `\u001B[${COLOR[status]}m${text}\u001B[0m` : text
}

/** `~/...` for paths under the home, as the other commands print them. */
function tilde(text: string, home: string | undefined): string {
  return home ? text.split(`${home}/`).join('~/') : text
}

export function renderDoctor(report: DoctorReport, io: IOStreams, home?: string): string {
  const lines: string[] = [`ona doctor: ${report.origin}, SSH config ${tilde(report.sshConfig, home)}`]
  let section: Section | undefined
  let environment: string | undefined
  const row = (f: Finding) => {
    lines.push(`  ${paint(io, f.status, LABEL[f.status])}  ${printable(tilde(f.message, home), MESSAGE_MAX)}`)
    if (f.hint && (f.status === 'fail' || f.status === 'warn')) lines.push(`        hint: ${printable(tilde(f.hint, home), MESSAGE_MAX)}`)
  }
  for (const f of report.findings) {
    if (f.section !== section) {
      section = f.section
      environment = undefined
      lines.push('', TITLES[f.section])
    }
    if (f.environment !== undefined && f.environment !== environment) {
      environment = f.environment
      lines.push(` ${printable(f.environment)}`)
    }
    row(f)
  }
  const c = report.counts
  const counts = `${c.fail} failed, ${c.warn} warning${c.warn === 1 ? '' : 's'}, ${c.pass} passed, ${c.skip} skipped in ${(report.durationMs / 1000).toFixed(1)} s`
  const verdict = report.verdict === 'fail' ? paint(io, 'fail', 'problems found') : report.verdict === 'warn' ? paint(io, 'warn', 'no failures, some warnings') : paint(io, 'pass', 'all good')
  lines.push('', `${verdict}: ${counts}`)
  return lines.join('\n')
}
