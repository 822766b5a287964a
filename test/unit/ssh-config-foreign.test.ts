/**
 * Other tools' SSH config, recognised by what they write (foreign.ts), over real files read as ssh reads
 * them (tree.ts). The blocks are the ones these tools publish (../shared/docs/coexistence-and-editors.md);
 * the real `ssh -G` confirms each effect in test/integration/ssh-config-foreign.test.ts.
 */
import {mkdir, mkdtemp, rm, writeFile} from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'

import {afterEach, beforeEach, describe, expect, it} from 'vitest'

import {BEGIN_MARKER, END_MARKER} from '../../src/lib/ssh-config/block.js'
import {attributeLines, findConnectionFindings, judgeSetting, toolOfProxyCommand} from '../../src/lib/ssh-config/foreign.js'
import {readConfigTree} from '../../src/lib/ssh-config/tree.js'
import {connectionDifferences, groupDifferences} from '../../src/lib/ssh-config/verify.js'

const A = 'e1.gitpod.environment'
const AR = 'e1.gitpod.remote'
const B = 'e2.gitpod.environment'
const BR = 'e2.gitpod.remote'
const ALIASES = [A, AR, B, BR]

function onaBlock(options: {proxy?: boolean} = {}): string {
  const entry = (id: string, ip: string) =>
    `Host ${id}.gitpod.environment ${id}.gitpod.remote\n  HostName ${ip}\n  User gitpod_devcontainer\n  Port 22\n  HostKeyAlias ${id}.gitpod.environment\n  IdentityFile /k/id_ed25519\n  IdentitiesOnly yes\n` +
    (options.proxy ? `  ProxyCommand /usr/bin/node /opt/ona/bin/run.js ssh-proxy ${id} --api-url https://app.ona.com --ssh-config /h/.ssh/config\n` : '')
  return `${BEGIN_MARKER}\n# ona origin https://app.ona.com\n${entry('e1', '10.0.0.1')}${entry('e2', '10.0.0.2')}${END_MARKER}\n`
}

const VENDOR = 'Host *.gitpod.environment\n    User gitpod_devcontainer\n    ProxyCommand gitpod environment ssh %h --proxy-connect --user %r\n    StrictHostKeyChecking no\n    UserKnownHostsFile /dev/null\n    LogLevel ERROR\n'

let home: string
let ssh: string
beforeEach(async () => {
  home = await mkdtemp(path.join(os.tmpdir(), 'ona-foreign-'))
  ssh = path.join(home, '.ssh')
  await mkdir(path.join(ssh, 'gitpod'), {recursive: true})
})
afterEach(async () => {
  await rm(home, {recursive: true, force: true})
})

async function findings(config: string, files: Record<string, string> = {}, aliases = ALIASES) {
  for (const [name, text] of Object.entries(files)) await writeFile(path.join(ssh, name), text)
  await writeFile(path.join(ssh, 'config'), config)
  const tree = await readConfigTree({home, systemConfig: null})
  return {tree, found: findConnectionFindings(tree, {aliases})}
}

describe('toolOfProxyCommand: each tool by its own ProxyCommand', () => {
  it.each([
    ['gitpod environment ssh %h --proxy-connect --user %r', 'vendor-cli'],
    ['"/opt/homebrew/bin/ona" environment ssh %h --proxy-connect', 'vendor-cli'],
    ['C:\\Tools\\gitpod.exe environment ssh %h --proxy-connect', 'vendor-cli'],
    ['"/usr/bin/coder" --global-config "/home/u/.config/coderv2" ssh --stdio --ssh-host-prefix coder. %h', 'coder'],
    ['"/usr/local/bin/devpod" ssh --stdio --context default --user vscode ws', 'devpod'],
    ['gh cs ssh -c monalisa-x --stdio -- -i ~/.ssh/codespaces.auto', 'gh'],
    ['gh codespace ssh -c x --stdio', 'gh'],
    // ona's own resolve-on-connect command is not the vendor's, although a path says "ona".
    ['/usr/bin/node /usr/lib/node_modules/ona-ssh/bin/run.js ssh-proxy e1 --api-url https://app.ona.com', undefined],
    ['nc -X connect -x proxy:8080 %h %p', undefined],
    ['ssh -W %h:%p bastion', undefined],
  ])('%s -> %s', (value, tool) => {
    expect(toolOfProxyCommand(value)).toBe(tool)
  })
})

describe('findConnectionFindings: who decides how ona\'s aliases connect', () => {
  it("the vendor's CLI Included above the block: one finding for its section, naming the tool, file:line, the effect and the Include to remove", async () => {
    const {found} = await findings(`Include gitpod/config\n\n${onaBlock()}`, {'gitpod/config': VENDOR})
    expect(found).toHaveLength(1)
    const [f] = found
    expect(f).toMatchObject({code: 'W_FOREIGN_CONFIG', tool: 'vendor-cli', file: path.join(ssh, 'gitpod', 'config'), line: 1, aliases: [A, B], certainty: 'yes'})
    expect(f!.settings.map((s) => [s.option, s.line])).toEqual([['ProxyCommand', 3], ['StrictHostKeyChecking', 4], ['UserKnownHostsFile', 5]])
    expect(f!.includedFrom).toEqual({file: path.join(ssh, 'config'), line: 1, text: 'Include gitpod/config'})
    expect(f!.effect).toBe("ssh connects through `gitpod environment ssh %h --proxy-connect --user %r` instead of straight to ona's address; host-key checking off (StrictHostKeyChecking no); host keys never kept (UserKnownHostsFile /dev/null)")
    expect(f!.fix).toMatch(/^remove `Include gitpod\/config` \(.*\/\.ssh\/config:1\) \(ona's entries do not set ProxyCommand, StrictHostKeyChecking, UserKnownHostsFile/)
    expect(f!.message).toMatch(/^a block of the vendor's CLI \(`gitpod environment ssh-config`\), `Host \*\.gitpod\.environment`, decides how 2 ona aliases connect: /)
  })

  it("below the block the vendor's block still decides what ona's entries do not set (first value wins; ona sets no ProxyCommand)", async () => {
    const {found} = await findings(`${onaBlock()}Include gitpod/config\n`, {'gitpod/config': VENDOR})
    expect(found.map((f) => [f.tool, f.settings.map((s) => s.option)])).toEqual([['vendor-cli', ['ProxyCommand', 'StrictHostKeyChecking', 'UserKnownHostsFile']]])
  })

  it("with resolve-on-connect ona's entries set the ProxyCommand: below the block only host-key checking is the vendor's; above, moving the Include below is the fix for the ProxyCommand", async () => {
    const below = await findings(`${onaBlock({proxy: true})}Include gitpod/config\n`, {'gitpod/config': VENDOR})
    expect(below.found[0]!.settings.map((s) => s.option)).toEqual(['StrictHostKeyChecking', 'UserKnownHostsFile'])
    await rm(path.join(ssh, 'gitpod', 'config'))
    const above = await findings(`Include gitpod/config\n${onaBlock({proxy: true})}`, {'gitpod/config': 'Host *.gitpod.environment\n  ProxyCommand gitpod environment ssh %h --proxy-connect\n'})
    expect(above.found[0]!.effect).toBe("ssh connects through `gitpod environment ssh %h --proxy-connect` instead of ona's ProxyCommand")
    expect(above.found[0]!.fix).toMatch(/^move `Include gitpod\/config` \(.*config:1\) below ona's block$/)
  })

  it("a movable section in another file than ona's: moving it, or letting ona manage that file with --ssh-config, and following either fix leaves no finding", async () => {
    const GH = 'Host *.gitpod.environment\n  ProxyCommand gh cs ssh -c monalisa --stdio\n'
    // The tool's section in a file of the user's, Included above ona's block (ona's entries set a ProxyCommand).
    const tools = path.join(ssh, 'tools.conf')
    const above = await findings(`Include tools.conf\n${onaBlock({proxy: true})}`, {'tools.conf': GH})
    expect(above.found.map((f) => [f.tool, f.file])).toEqual([['gh', tools]])
    expect(above.found[0]!.fix).toBe(`move \`Include tools.conf\` (${path.join(ssh, 'config')}:1) below ona's block, or let ona manage that file instead (\`ona ssh-sync --ssh-config ${tools}\` writes its block above the file's first Host or Match line)`)
    // What that command makes of it: ona's block above the section, in the file ssh reads first.
    const managed = await findings('Include tools.conf\n', {'tools.conf': `${onaBlock({proxy: true})}${GH}`})
    expect(findConnectionFindings(managed.tree, {aliases: ALIASES, managedRealPath: tools})).toEqual([])

    // The section in ~/.ssh/config, ona's block in a file Included below it: move that Include up, or manage ~/.ssh/config.
    const own = await findings(`${GH}Include ona.conf\n`, {'ona.conf': onaBlock({proxy: true})})
    expect(own.found[0]!.fix).toBe(`move \`Include ona.conf\` (${path.join(ssh, 'config')}:3), which reads ona's block, above line 1, or let ona manage that file instead (\`ona ssh-sync --ssh-config ${path.join(ssh, 'config')}\` writes its block above the file's first Host or Match line)`)
    const moved = await findings(`Include ona.conf\n${GH}`, {'ona.conf': onaBlock({proxy: true})})
    expect(moved.found).toEqual([])

    // A path that needs quoting is quoted; the vendor CLI's own file, which it writes, is never offered.
    await mkdir(path.join(ssh, 'my tools'))
    const spaced = await findings(`Include "my tools/conf"\n${onaBlock({proxy: true})}`, {'my tools/conf': GH})
    expect(spaced.found[0]!.fix).toContain(`\`ona ssh-sync --ssh-config "${path.join(ssh, 'my tools', 'conf')}"\``)
    const vendor = await findings(`Include gitpod/config\n${onaBlock({proxy: true})}`, {'gitpod/config': 'Host *.gitpod.environment\n  ProxyCommand gitpod environment ssh %h --proxy-connect\n'})
    expect(vendor.found[0]!.fix).not.toContain('--ssh-config')
  })

  it("the vendor's own file is the vendor's whatever it holds (a pasted per-environment entry), and is never \"your own entry\"", async () => {
    const {found} = await findings(`Include ona/config\n${onaBlock()}`, {})
    expect(found).toEqual([])
    await mkdir(path.join(ssh, 'ona'))
    const again = await findings(`Include ona/config\n${onaBlock()}`, {'ona/config': `Host ${A}\n  StrictHostKeyChecking no\n`})
    expect(again.found.map((f) => [f.code, f.tool, f.aliases])).toEqual([['W_FOREIGN_CONFIG', 'vendor-cli', [A]]])
  })

  it.each([
    ['Coder between its markers, a wildcard `Host *`', '# ------------START-CODER-----------\n# This section is managed by coder. DO NOT EDIT.\nHost *\n  ConnectTimeout=0\n  StrictHostKeyChecking=no\n  UserKnownHostsFile=/dev/null\n  LogLevel ERROR\n# ------------END-CODER------------\n', 'coder', ['StrictHostKeyChecking', 'UserKnownHostsFile']],
    ['DevPod between its markers', '# DevPod Start ws\nHost *\n  StrictHostKeyChecking no\n# DevPod End ws\n', 'devpod', ['StrictHostKeyChecking']],
    ['gh codespaces pasted under a wide pattern', 'Host *\n  ProxyCommand gh cs ssh -c monalisa --stdio\n  ControlMaster auto\n', 'gh', ['ProxyCommand']],
  ])('%s', async (_name, text, tool, options) => {
    const {found} = await findings(`${text}${onaBlock()}`)
    expect(found.map((f) => [f.code, f.tool, f.line, f.settings.map((s) => s.option), f.aliases.length])).toEqual([['W_FOREIGN_CONFIG', tool, text.startsWith('#') ? text.split('\n').findIndex((l) => l.startsWith('Host')) + 1 : 1, options, 4]])
  })

  it('tools\' blocks for their own host names decide nothing for ona\'s aliases', async () => {
    const coder = '# ------------START-CODER-----------\nHost coder.*\n  ProxyCommand "/usr/bin/coder" ssh --stdio --ssh-host-prefix coder. %h\n  StrictHostKeyChecking no\n# ------------END-CODER------------\n'
    const devpod = '# DevPod Start ws\nHost ws.devpod\n  ProxyCommand "/usr/local/bin/devpod" ssh --stdio --context default ws\n  StrictHostKeyChecking no\n# DevPod End ws\n'
    const {found, tree} = await findings(`${coder}${devpod}Host cs.x.main\n  ProxyCommand gh cs ssh -c x --stdio\n${onaBlock()}`)
    expect(found).toEqual([])
    // Still recognised, line by line (doctor lists them).
    const owners = attributeLines(tree)
    expect(tree.lines.map((l, i) => [l.line, owners[i]]).filter(([, o]) => o !== undefined && o !== 'ona').map(([l, o]) => `${l}:${o}`)).toEqual(['1:coder', '2:coder', '3:coder', '4:coder', '5:coder', '6:devpod', '7:devpod', '8:devpod', '9:devpod', '10:devpod', '11:gh', '12:gh'])
  })

  it("the user's own lines for options ona does not set: one finding per line, with every alias it affects; ona's own lines and a later line ssh never uses are not", async () => {
    const {found} = await findings(`Host *.gitpod.remote\n  ProxyJump bastion\n${onaBlock()}Host *\n  StrictHostKeyChecking no\n  StrictHostKeyChecking yes\n  UserKnownHostsFile ~/.ssh/known_hosts\n`)
    expect(found.map((f) => [f.code, f.line, f.aliases, f.settings[0]!.option])).toEqual([
      ['W_OVERRIDE', 2, [AR, BR], 'ProxyJump'],
      ['W_OVERRIDE', 2 + 17 + 2, ALIASES, 'StrictHostKeyChecking'],
    ])
    expect(found[0]!.message).toBe('`ProxyJump bastion`, under `Host *.gitpod.remote` (line 1), decides how 2 ona aliases connect: ssh jumps through bastion; limit that section to other hosts, or remove the line')
  })

  it("a line in ona's block decides only for the aliases its section names (looked up by alias), a pattern section there for every alias it matches", async () => {
    // e1's entry sets the ProxyCommand, e2's does not: the user's later ProxyCommand decides for e2's aliases only.
    const block = onaBlock().replace('  IdentitiesOnly yes\n', '  IdentitiesOnly yes\n  ProxyCommand /usr/bin/node /opt/ona/bin/run.js ssh-proxy e1\n')
    const literal = await findings(`${block}Host *\n  ProxyCommand nc %h %p\n`)
    expect(literal.found.map((f) => [f.code, f.aliases, f.settings.map((s) => s.option)])).toEqual([['W_OVERRIDE', [B, BR], ['ProxyCommand']]])
    // A hand-edited pattern section inside the block decides for every alias it matches (and only those).
    const pattern = block.replace(END_MARKER, `Host *.gitpod.remote\n  StrictHostKeyChecking yes\n${END_MARKER}`)
    const wide = await findings(`${pattern}Host *\n  StrictHostKeyChecking no\n`)
    expect(wide.found.map((f) => [f.code, f.aliases, f.settings.map((s) => s.option)])).toEqual([['W_OVERRIDE', [A, B], ['StrictHostKeyChecking']]])
  })

  it("a first value that is harmless hides a later harmful one, as in ssh; `Match exec` is a maybe", async () => {
    const first = await findings(`Host *\n  StrictHostKeyChecking accept-new\n${onaBlock()}Host *\n  StrictHostKeyChecking no\n`)
    expect(first.found).toEqual([])
    const maybe = await findings(`Match exec "test -e /nonexistent"\n  StrictHostKeyChecking no\n${onaBlock()}`)
    expect(maybe.found.map((f) => [f.certainty, f.message.includes('may decide')])).toEqual([['maybe', true]])
  })

  it("another ona block (a stale copy in an Included file) is ona's: not a finding here (W_STALE_BLOCK names it)", async () => {
    const stale = `${BEGIN_MARKER}\nHost ${A} ${AR}\n  HostName 10.9.9.9\n  StrictHostKeyChecking no\n${END_MARKER}\n`
    const {found, tree} = await findings(`Include old\n${onaBlock()}`, {old: stale})
    expect(found).toEqual([])
    const owners = attributeLines(tree)
    expect(owners.slice(1, 6)).toEqual(['ona', 'ona', 'ona', 'ona', 'ona'])
  })
})

describe('judgeSetting and connectionDifferences', () => {
  const mine = new Map([['hostname', '10.0.0.1'], ['identitiesonly', 'yes']])
  it.each([
    ['hostname', ['10.0.0.1'], undefined],
    ['hostname', ['10.0.0.9'], "HostName 10.0.0.9 instead of ona's 10.0.0.1"],
    ['identitiesonly', ['no'], "IdentitiesOnly no: ssh may offer other keys before ona's"],
    ['stricthostkeychecking', ['accept-new'], undefined],
    ['stricthostkeychecking', ['off'], 'host-key checking off (StrictHostKeyChecking off)'],
    ['userknownhostsfile', ['NUL'], 'host keys never kept (UserKnownHostsFile NUL)'],
    ['userknownhostsfile', ['~/.ssh/known_hosts_work'], undefined],
    ['proxycommand', ['none'], undefined],
    ['proxyjump', ['none'], undefined],
    ['proxyusefdpass', ['yes'], undefined],
  ])('%s %s', (keyword, args, effect) => {
    expect(judgeSetting(keyword, args, mine)).toBe(effect)
  })

  it('ssh -G values: a ProxyCommand ona did not write, host-key checking off, /dev/null known hosts; ona\'s own ProxyCommand quoted differently is the same', () => {
    const got = new Map([['proxycommand', ['gitpod environment ssh %h']], ['stricthostkeychecking', ['false']], ['userknownhostsfile', ['/dev/null']], ['identitiesonly', ['yes']]])
    expect(connectionDifferences(got, new Map([['identitiesonly', ['yes']]])).map((d) => d.option)).toEqual(['ProxyCommand', 'StrictHostKeyChecking', 'UserKnownHostsFile'])
    const own = '"/opt/my node/node" /o/run.js ssh-proxy e1 --api-url https://a --ssh-config /h/c'
    expect(connectionDifferences(new Map([['proxycommand', [own]], ['proxyusefdpass', ['no']]]), new Map([['proxycommand', ['/opt/my node/node /o/run.js ssh-proxy e1 --api-url https://a --ssh-config /h/c']]]))).toEqual([])
    expect(connectionDifferences(new Map([['proxyjump', ['j']], ['proxyusefdpass', ['yes']]]), new Map([['proxycommand', ['x']]])).map((d) => d.option)).toEqual(['ProxyJump', 'ProxyUseFdpass'])
  })
})

describe('groupDifferences: one warning per line, every alias kept', () => {
  const differs = (alias: string, file?: string, line?: number) => ({code: 'W_SSH_DIFFERS', message: `ssh will use User alice for ${alias}, not u as ona wrote`, option: 'User', alias, expected: 'u', actual: 'alice', ...(file ? {file, line} : {})})
  it('six aliases set by one line are one warning naming the count, with each alias in `aliases` and `items`; the location only in file/line', () => {
    const grouped = groupDifferences(ALIASES.concat(['e3.gitpod.environment', 'e3.gitpod.remote']).map((a) => differs(a, '/c/users', 2)))
    expect(grouped).toHaveLength(1)
    expect(grouped[0]).toMatchObject({code: 'W_SSH_DIFFERS', message: 'ssh will use User alice for 6 ona aliases, not u as ona wrote', file: '/c/users', line: 2, aliases: expect.arrayContaining(ALIASES)})
    expect(grouped[0]!.items).toHaveLength(6)
  })
  it('a line the tree check already named is not repeated; other warnings pass through in order', () => {
    const other = {code: 'W_SSH_G_FAILED', message: 'x'}
    const grouped = groupDifferences([other, differs(A, '/c/users', 2), differs(B, '/c/other', 1), differs(AR)], new Set(['/c/users:2']))
    expect(grouped.map((w) => [w.code, w.file, w.aliases])).toEqual([['W_SSH_G_FAILED', undefined, undefined], ['W_SSH_DIFFERS', '/c/other', [B]], ['W_SSH_DIFFERS', undefined, [AR]]])
    expect(grouped[1]!.alias).toBe(B)
  })
})
