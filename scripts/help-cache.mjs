#!/usr/bin/env node
// Build step (after `oclif manifest`): records oclif's own `--help` output of the CLI and of every command
// into dist/help-cache.json, so bin/run.js can answer `ona <command> --help` without loading @oclif/core.
// Each text is what oclif prints into a pipe (80 columns, no colour); bin/run.js serves it only then.
import {spawnSync} from 'node:child_process'
import {readFileSync, writeFileSync} from 'node:fs'

const root = new URL('../', import.meta.url)
const pjson = JSON.parse(readFileSync(new URL('package.json', root), 'utf8'))
const manifest = JSON.parse(readFileSync(new URL('oclif.manifest.json', root), 'utf8'))
if (manifest.version !== pjson.version) throw new Error('oclif.manifest.json is stale: run `oclif manifest` first')

// The same conditions bin/run.js requires before it serves the cache.
const env = {...process.env, ONA_STARTUP_FAST_PATH: '0'}
for (const name of ['OCLIF_COLUMNS', 'FORCE_COLOR', 'NO_COLOR', 'DEBUG', 'ONA_DEBUG']) delete env[name]

const render = (argv) => {
  const r = spawnSync(process.execPath, ['bin/run.js', ...argv], {cwd: root, env, encoding: 'utf8'})
  if (r.status !== 0 || r.stderr) throw new Error(`ona ${argv.join(' ')} failed (${r.status}): ${r.stderr}`)
  return r.stdout
}

const help = {}
for (const id of Object.keys(manifest.commands)) help[id] = render([...id.split(':'), '--help'])
// The root help carries oclif's VERSION line (the user agent: node version, platform, arch), which depends
// on the machine that runs it: it is kept as a template with the agent marked, and bin/run.js fills it in.
const agent = render(['--version']).trimEnd()
const rootHelp = render(['--help'])
const agentMark = '\u0000ona-user-agent\u0000'
const cached = {version: pjson.version, help}
if (rootHelp.split(agent).length === 2) Object.assign(cached, {root: rootHelp.replace(agent, agentMark), agentMark})
writeFileSync(new URL('dist/help-cache.json', root), `${JSON.stringify(cached, null, 1)}\n`)
console.log(`dist/help-cache.json: ${Object.keys(help).length} help texts`)
