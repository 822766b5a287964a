/**
 * Issue 17, "one truth for the block": the freshness each entry carries in the block, the one decision
 * every writer goes through (an entry is replaced only by strictly newer information), "could not read"
 * is never "deleted", nulls read as protobuf defaults, and duplicate records collapse to the newest.
 */
import {describe, expect, it} from 'vitest'

import {parseEnvironment, parseListPage} from '../../src/lib/api/schema.js'
import type {Environment, EnvironmentProblem} from '../../src/lib/api/types.js'
import {NAME_MAX, freshnessLine, parseBlock, readFreshness} from '../../src/lib/ssh-config/block.js'
import {BEGIN_MARKER, END_MARKER, applyBlock, readBlockEnvironments} from '../../src/lib/ssh-config/index.js'
import {replaceEntryAddress} from '../../src/lib/sync/entry-address.js'
import type {SshEnvironment} from '../../src/lib/ssh-config/validate.js'
import {decideEntry, planBlock, type Observation} from '../../src/lib/sync/plan.js'

const A = '0199ec15-59d3-7e92-8e22-8cb6c7ba4df7'
const B = '0199ec15-8a41-7c10-9d3b-2f6e1b7a9c02'

const running = (id: string, version: number, host: string, extra: Partial<Environment> = {}): Environment => ({
  id,
  phase: 'ENVIRONMENT_PHASE_RUNNING',
  statusVersion: BigInt(version),
  ssh: {user: 'gitpod_devcontainer', host, port: 22},
  ...extra,
})
const entry = (id: string, host: string, version?: number, name?: string): SshEnvironment => ({
  id,
  host,
  port: 22,
  user: 'gitpod_devcontainer',
  ...(version === undefined ? {} : {statusVersion: BigInt(version)}),
  ...(name === undefined ? {} : {name}),
})
const hosts = (list: readonly SshEnvironment[]) => Object.fromEntries(list.map((e) => [e.id, e.host]))

describe('freshness in the block', () => {
  it('each entry carries its statusVersion and name on the line above its Host line, and the parser reads it back', () => {
    const text = applyBlock('', [entry(A, '10.0.0.1', 42, 'api-backend')]).text
    const lines = text.split('\n')
    expect(lines.slice(0, 3)).toEqual([BEGIN_MARKER, '# ona env statusVersion 42: api-backend', `Host ${A}.gitpod.environment ${A}.gitpod.remote`])
    expect(readBlockEnvironments(text)).toEqual([entry(A, '10.0.0.1', 42, 'api-backend')])
    // Applying what was read back changes nothing.
    expect(applyBlock(text, readBlockEnvironments(text)).changed).toBe(false)
  })

  it('a block of an earlier ona (no freshness lines) still parses: freshness unknown', () => {
    const old = [BEGIN_MARKER, `Host ${A}.gitpod.environment ${A}.gitpod.remote`, '  HostName 10.0.0.1', '  User u', '  Port 22', `  HostKeyAlias ${A}.gitpod.environment`, END_MARKER, ''].join('\n')
    const [read] = readBlockEnvironments(old)
    expect(read).toEqual({id: A, host: '10.0.0.1', user: 'u', port: 22})
    expect(read!.statusVersion).toBeUndefined()
  })

  it.each([
    ['control characters and a newline', 'evil\u001B[2J\nHost *', 'evil\\e[2J\\nHost *'],
    ['a bidi override', 'abc\u202Edef', 'abc\\u202edef'],
    ['non-ASCII text (kept, as UTF-8 in the file)', 'café ☕', 'café ☕'],
  ])('the name is made printable: %s', (_name, raw, shown) => {
    const line = freshnessLine({statusVersion: 7n, name: raw})!
    expect(line).not.toMatch(/[\r\n]/)
    expect(readFreshness(line)).toEqual({statusVersion: 7n, name: shown})
    // The rendered block passes the strict check and holds the name on one comment line.
    const text = applyBlock('', [entry(A, '10.0.0.1', 7, raw)]).text
    expect(parseBlock(text)!.parts[0]!.entries[0]!.environment.name).toBe(shown)
  })

  it(`the name is capped at ${NAME_MAX} code points`, () => {
    const fresh = readFreshness(freshnessLine({statusVersion: 1n, name: 'x'.repeat(500)})!)!
    expect([...fresh.name!].length).toBe(NAME_MAX)
    expect(fresh.name!.endsWith('…')).toBe(true)
  })

  it('a statusVersion beyond 2^53 round-trips exactly', () => {
    expect(readFreshness(freshnessLine({statusVersion: 18_446_744_073_709_551_615n})!)).toEqual({statusVersion: 18_446_744_073_709_551_615n})
  })
})

describe('decideEntry: the one place that decides an entry fate', () => {
  const seen = (env: Environment): Observation => ({kind: 'record', env})
  it.each([
    {name: 'strictly newer information replaces the address', onFile: entry(A, '10.0.0.1', 5), env: running(A, 6, '10.0.0.2'), action: 'write'},
    {name: 'equal information never overwrites', onFile: entry(A, '10.0.0.1', 5), env: running(A, 5, '10.0.0.2'), action: 'keep'},
    {name: 'older information never overwrites', onFile: entry(A, '10.0.0.9', 9), env: running(A, 5, '10.0.0.2'), action: 'keep'},
    {name: 'unknown freshness: any answer replaces it', onFile: entry(A, '10.0.0.1'), env: running(A, 1, '10.0.0.2'), action: 'write'},
    {name: 'unknown freshness, same address: written once to record its freshness', onFile: entry(A, '10.0.0.1'), env: running(A, 1, '10.0.0.1'), action: 'write'},
    {name: 'newer but the same address and name: left as it is (no write for a key turning READY)', onFile: entry(A, '10.0.0.1', 5), env: running(A, 8, '10.0.0.1'), action: 'keep'},
    {name: 'newer and stopped: removed', onFile: entry(A, '10.0.0.1', 5), env: {id: A, phase: 'ENVIRONMENT_PHASE_STOPPED', statusVersion: 6n}, action: 'remove'},
    {name: 'older and stopped (the file knows it runs again): kept', onFile: entry(A, '10.0.0.1', 7), env: {id: A, phase: 'ENVIRONMENT_PHASE_STOPPED', statusVersion: 6n}, action: 'keep'},
    {name: 'starting: keeps the last known address', onFile: entry(A, '10.0.0.1', 5), env: {id: A, phase: 'ENVIRONMENT_PHASE_STARTING', statusVersion: 6n}, action: 'keep'},
  ])('$name', ({onFile, env, action}) => {
    expect(decideEntry(onFile, seen(env)).action).toBe(action)
  })

  it.each([
    {name: 'unreadable: kept as it was', seen: {kind: 'unreadable', problem: {environmentId: A, field: 'status.phase', message: 'x', unreadable: true}} as Observation, action: 'keep'},
    {name: 'absent, unchanged since the listing was asked for: removed', seen: {kind: 'absent', unchanged: true} as Observation, action: 'remove'},
    {name: 'absent, but written since by another writer: kept', seen: {kind: 'absent', unchanged: false} as Observation, action: 'keep'},
    {name: 'deleted: removed', seen: {kind: 'deleted'} as Observation, action: 'remove'},
  ])('$name', ({seen: observation, action}) => {
    expect(decideEntry(entry(A, '10.0.0.1', 5), observation).action).toBe(action)
  })
})

describe('planBlock: merge by freshness', () => {
  const unreadable = (id: string, field = 'status.phase'): EnvironmentProblem => ({environmentId: id, field, message: `environment ${id}: environments[1].${field}: expected string, received number`, unreadable: true})

  it('regression: an environment whose record fails validation keeps its entry as it was, with a warning naming it and the field', () => {
    const plan = planBlock([running(B, 3, '10.0.0.2')], [entry(A, '10.0.0.1', 5), entry(B, '10.0.0.2', 3)], [unreadable(A)])
    expect(hosts(plan.desired)).toEqual({[A]: '10.0.0.1', [B]: '10.0.0.2'})
    expect(plan.warnings).toEqual([expect.objectContaining({code: 'W_UNREADABLE', message: expect.stringMatching(new RegExp(`environment ${A}.*status\\.phase.*kept as it was`))})])
    expect(plan.kept).toEqual([expect.objectContaining({id: A, reason: 'unreadable'})])
  })

  it('a record whose id could not be read: no entry missing from that listing is removed', () => {
    const plan = planBlock([running(B, 3, '10.0.0.2')], [entry(A, '10.0.0.1', 5)], [{environmentId: 'environments[0]', field: 'id', message: 'environment environments[0]: environments[0].id: required', unreadable: true, idUnknown: true}])
    expect(hosts(plan.desired)).toEqual({[A]: '10.0.0.1', [B]: '10.0.0.2'})
    expect(plan.warnings[0]!.code).toBe('W_UNREADABLE')
  })

  it('absent from a complete listing: removed when the file holds what the baseline held', () => {
    const plan = planBlock([], [entry(A, '10.0.0.1', 5)], [], {baseline: [entry(A, '10.0.0.1', 5)]})
    expect(plan.desired).toEqual([])
  })

  it('absent from a listing asked for before another writer added it: kept, and named as unsure', () => {
    const plan = planBlock([], [entry(A, '10.0.0.1', 5)], [], {baseline: []})
    expect(hosts(plan.desired)).toEqual({[A]: '10.0.0.1'})
    expect(plan.unsure).toEqual([A])
  })

  it('an entry changed since the baseline (a newer address written meanwhile) is kept too', () => {
    const plan = planBlock([], [entry(A, '10.0.0.2', 6)], [], {baseline: [entry(A, '10.0.0.1', 5)]})
    expect(hosts(plan.desired)).toEqual({[A]: '10.0.0.2'})
  })

  it('a listing that is not complete keeps the entries of the environments it does not name', () => {
    const plan = planBlock([running(B, 1, '10.0.0.2')], [entry(A, '10.0.0.1', 5)], [], {complete: false})
    expect(hosts(plan.desired)).toEqual({[A]: '10.0.0.1', [B]: '10.0.0.2'})
  })

  it('a deleted environment loses its entry whatever the listing says', () => {
    const plan = planBlock([running(A, 9, '10.0.0.9')], [entry(A, '10.0.0.1', 5)], [], {deleted: new Set([A])})
    expect(plan.desired).toEqual([])
  })

  it('regression: the same environment twice (two pages) is one entry, from the newer record, and no "skipped" warning', () => {
    const plan = planBlock([running(A, 5, '10.0.0.1'), running(A, 7, '10.0.0.7')], [], [])
    expect(plan.desired).toEqual([entry(A, '10.0.0.7', 7)])
    const applied = applyBlock('', plan.desired)
    expect(applied.warnings).toEqual([])
    expect(applied.written).toHaveLength(1)
  })

  it('a stale listing never reverts the fresher address another writer put into the file', () => {
    const plan = planBlock([running(A, 5, '10.0.0.1')], [entry(A, '10.0.0.2', 6)], [])
    expect(hosts(plan.desired)).toEqual({[A]: '10.0.0.2'})
  })
})

describe('replaceEntryAddress (the ProxyCommand) goes through the same decision', () => {
  const ORIGIN = 'https://app.ona.com'
  const options = {identityFile: '/home/me/.config/ona/ssh/id_ed25519', proxyCommand: {node: '/usr/bin/node', script: '/opt/ona/bin/run.js', apiUrl: `${ORIGIN}/api`, sshConfig: '/home/me/.ssh/config'}}
  const block = () => applyBlock('Host mine\n  User me\n', [entry(A, '10.0.0.1', 5, 'a'), entry(B, '10.0.0.2', 3, 'b')], {origin: ORIGIN, entry: options}).text
  const address = (host: string) => ({host, port: 22, user: 'gitpod_devcontainer'})

  it('newer: changes only the address and the freshness line of that entry', () => {
    const before = block()
    const {text, outcome} = replaceEntryAddress(before, {environmentId: A, origin: ORIGIN, address: address('10.0.0.9'), statusVersion: 6n, name: 'a'})
    expect(outcome).toEqual({status: 'updated', changed: true})
    const changed = text.split('\n').filter((line, i) => line !== before.split('\n')[i])
    expect(changed).toEqual(['# ona env statusVersion 6: a', '  HostName 10.0.0.9'])
    expect(readBlockEnvironments(text).find((e) => e.id === A)).toEqual(entry(A, '10.0.0.9', 6, 'a'))
  })

  it.each([5, 4])('equal or older (statusVersion %i against 5): nothing is written', (version) => {
    const before = block()
    const {text, outcome} = replaceEntryAddress(before, {environmentId: A, origin: ORIGIN, address: address('10.0.0.9'), statusVersion: BigInt(version)})
    expect(text).toBe(before)
    expect(outcome).toEqual({status: 'skipped', reason: expect.stringContaining('newer information')})
  })

  it('an entry of unknown freshness gets its freshness line with the new address', () => {
    const old = [BEGIN_MARKER, `Host ${A}.gitpod.environment ${A}.gitpod.remote`, '  HostName 10.0.0.1', '  User gitpod_devcontainer', '  Port 22', END_MARKER, ''].join('\n')
    const {text} = replaceEntryAddress(old, {environmentId: A, origin: ORIGIN, address: address('10.0.0.9'), statusVersion: 2n})
    expect(text).toBe(old.replace(`Host ${A}`, `# ona env statusVersion 2\nHost ${A}`).replace('10.0.0.1', '10.0.0.9'))
  })

  it('without a statusVersion the address is written and the freshness becomes unknown', () => {
    const {text} = replaceEntryAddress(block(), {environmentId: A, origin: ORIGIN, address: address('10.0.0.9')})
    expect(readBlockEnvironments(text).find((e) => e.id === A)).toEqual(entry(A, '10.0.0.9'))
  })
})

describe('protobuf JSON nulls read as defaults', () => {
  const wire = {
    id: A,
    metadata: {name: null, creator: {id: 'me', principal: null}, organizationId: null},
    spec: {desiredPhase: null, sshPublicKeys: null},
    status: {statusVersion: '4', phase: 'ENVIRONMENT_PHASE_RUNNING', environmentUrls: {ssh: {url: 'ssh://gitpod_devcontainer@10.0.0.1:22'}, ports: null}, sshPublicKeys: null},
  }

  it('regression: metadata.name null (and other nulls) is a readable environment with the defaults', () => {
    const {environment, problems} = parseEnvironment(wire, 'environments[0]')
    expect(problems).toEqual([])
    expect(environment).toEqual({id: A, phase: 'ENVIRONMENT_PHASE_RUNNING', statusVersion: 4n, creatorId: 'me', ssh: {user: 'gitpod_devcontainer', host: '10.0.0.1', port: 22}})
  })

  it('null status, statusVersion and phase are the defaults too', () => {
    expect(parseEnvironment({id: A, status: {statusVersion: null, phase: null}}, 'x').environment).toEqual({id: A, phase: 'ENVIRONMENT_PHASE_UNSPECIFIED', statusVersion: 0n})
    expect(parseEnvironment({id: A, status: null}, 'x').environment).toEqual({id: A, phase: 'ENVIRONMENT_PHASE_UNSPECIFIED', statusVersion: 0n})
  })

  it('a null pagination or environments list is a last, empty page', () => {
    expect(parseListPage('ListEnvironments', {pagination: null, environments: null})).toEqual({nextToken: '', rawEnvironments: []})
    expect(parseListPage('ListEnvironments', {pagination: {nextToken: null}, environments: []})).toEqual({nextToken: '', rawEnvironments: []})
  })

  it('a record that fails validation is unreadable, named with its id and the field', () => {
    const {environment, problems} = parseEnvironment({id: A, status: {phase: 4}}, 'environments[2]')
    expect(environment).toBeUndefined()
    expect(problems).toEqual([{environmentId: A, field: 'status.phase', message: expect.stringContaining(`environment ${A}: environments[2].status.phase`), unreadable: true}])
  })

  it('a record whose id cannot be read says so', () => {
    const {problems} = parseEnvironment({status: {phase: 'ENVIRONMENT_PHASE_RUNNING'}}, 'environments[2]')
    expect(problems).toEqual([expect.objectContaining({environmentId: 'environments[2]', unreadable: true, idUnknown: true})])
  })
})

describe('watch mode view (EnvironmentLedger): "could not read" is never "deleted"', () => {
  it('an environment whose record fails validation in a listing keeps what was known, and the snapshot names the problem', async () => {
    const {EnvironmentLedger} = await import('../../src/lib/watch/state.js')
    const ledger = new EnvironmentLedger()
    ledger.applyListing({environments: [running(A, 5, '10.0.0.1'), running(B, 3, '10.0.0.2')], problems: []}, ledger.mark())
    const problem: EnvironmentProblem = {environmentId: A, field: 'status.phase', message: `environment ${A}: x`, unreadable: true}
    expect(ledger.applyListing({environments: [running(B, 3, '10.0.0.2')], problems: [problem]}, ledger.mark())).toBe(true)
    const snapshot = ledger.snapshot()
    expect(snapshot.environments.map((e) => e.id).sort()).toEqual([A, B])
    expect(snapshot.problems).toEqual([problem])
    // Written from that view, the entry stays, with the warning.
    const plan = planBlock(snapshot.environments, [entry(A, '10.0.0.1', 5), entry(B, '10.0.0.2', 3)], snapshot.problems)
    expect(hosts(plan.desired)).toEqual({[A]: '10.0.0.1', [B]: '10.0.0.2'})
    expect(plan.warnings.map((w) => w.code)).toEqual(['W_UNREADABLE'])
  })

  it('a listing with a record whose id could not be read removes nothing from the view', async () => {
    const {EnvironmentLedger} = await import('../../src/lib/watch/state.js')
    const ledger = new EnvironmentLedger()
    ledger.applyListing({environments: [running(A, 5, '10.0.0.1')], problems: []}, ledger.mark())
    ledger.applyListing({environments: [], problems: [{environmentId: 'environments[0]', field: 'id', message: 'm', unreadable: true, idUnknown: true}]}, ledger.mark())
    expect(ledger.snapshot().environments.map((e) => e.id)).toEqual([A])
  })
})
