/**
 * Turns oclif's parser errors (which quote every value and append the whole help, about 54 KB for an
 * unknown flag) into short usage errors in the house format. Values are never echoed: a flag value or
 * an argument may be a token typed in the wrong place. Flag names are, when they are close to a real one.
 */
import {OnaError, isOnaError} from './lib/errors.js'
import {printable, suggest, usageError} from './lib/cli/usage.js'

interface FlagDef {
  name: string
  char?: string
  hidden?: boolean
  options?: readonly string[]
}

interface CommandShape {
  id: string
  flags: Record<string, FlagDef>
  args: Record<string, {name?: string; required?: boolean; options?: string[]}>
}

/** The name part of `--flag=value`, never the value. */
function flagName(raw: string): string {
  const name = raw.replace(/=.*$/s, '')
  return printable(name.startsWith('-') ? name : `--${name}`)
}

export function usageErrorFromParse(error: unknown, command: CommandShape): OnaError | undefined {
  if (isOnaError(error)) return error
  const e = error as {constructor?: {name?: string}; message?: string; flags?: string[]; args?: Array<{name?: string}>}
  const kind = e?.constructor?.name ?? ''
  const help = `See \`ona ${command.id} --help\`.`
  const visible = Object.values(command.flags).filter((f) => !f.hidden).map((f) => `--${f.name}`)
  switch (kind) {
    case 'NonExistentFlagsError': {
      const names = (e.flags ?? []).map(flagName)
      const guess = names.length === 1 ? suggest(names[0]!, visible) : undefined
      return usageError(
        `unknown flag${names.length === 1 ? '' : 's'} ${names.join(', ')} for \`ona ${command.id}\``,
        guess ? `Did you mean ${guess}? ${help}` : help,
        {command: command.id, flags: names, ...(guess ? {suggestion: guess} : {})},
      )
    }
    case 'RequiredArgsError': {
      const missing = (e.args ?? []).map((a) => `<${a.name ?? 'arg'}>`)
      return usageError(`\`ona ${command.id}\` needs ${missing.join(' ')}`, help, {command: command.id, missing})
    }
    case 'UnexpectedArgsError': {
      const count = e.args?.length ?? 1
      return usageError(`\`ona ${command.id}\` takes no further argument${count === 1 ? '' : 's'} (${count} given; not shown, as it could be a secret)`, help, {command: command.id})
    }
    case 'FlagInvalidOptionError': {
      const match = /^Expected --([\w-]+)=/.exec(e.message ?? '')
      const flag = match ? command.flags[match[1]!] : undefined
      if (flag) return usageError(`--${flag.name} must be one of: ${(flag.options ?? []).join(', ')}`, help, {command: command.id, flag: `--${flag.name}`})
      break
    }
    case 'ArgInvalidOptionError': {
      const arg = Object.entries(command.args).find(([, a]) => (a as {options?: string[]}).options)
      if (arg) {
        const options = (arg[1] as {options: string[]}).options
        return usageError(`<${arg[1].name ?? arg[0]}> must be one of: ${options.join(', ')}`, help, {command: command.id, argument: arg[1].name ?? arg[0]})
      }
      break
    }
    case 'FailedFlagValidationError':
    case 'ViolatedFlagConstraintError': {
      // Reasons such as "--check=true cannot also be provided when using --dry-run": keep names, drop values.
      const reasons = (e.message ?? '')
        .split('\n')
        .slice(1)
        .map((line) => line.replace(/\u001B\[[0-9;]*m/g, '').trim())
        .filter((line) => line !== '' && !line.startsWith('See more help'))
      const together = reasons.map((r) => /^--([\w-]+)(?:=\S*)? cannot also be provided when using --([\w-]+)/.exec(r)).filter((m) => m !== null)
      if (together.length > 0 && together.length === reasons.length) {
        const pairs = [...new Set(together.map((m) => [m[1], m[2]].sort().map((n) => `--${n}`).join(' and ')))]
        return usageError(`${pairs.join('; ')} cannot be used together`, help, {command: command.id})
      }
      const cleaned = reasons.map((r) => printable(r.replace(/(--[\w-]+)=\S*/g, '$1'), 120))
      return usageError(cleaned.join('; ') || 'the flags are not valid together', help, {command: command.id})
    }
    default:
      break
  }
  const message = String(e?.message ?? '')
  // Flag value parsers (integer, min): "Expected an integer greater than or equal to 10 but received: 5".
  const integer = /^Parsing --([\w-]+)\s*\n?\s*Expected an integer(.*?) but received: /s.exec(message) ?? /^Expected an integer(.*?) but received: /s.exec(message)
  if (integer) {
    const [name, rest] = integer.length === 3 ? [`--${integer[1]}`, integer[2]] : ['a flag', integer[1]]
    return usageError(`${name} needs an integer${rest ?? ''}`, help, {command: command.id})
  }
  if (/^Flag --[\w-]+ expects a value/.test(message)) {
    const name = /^Flag (--[\w-]+)/.exec(message)![1]
    return usageError(`${name} needs a value`, help, {command: command.id, flag: name})
  }
  if (kind.endsWith('Error') && /CLIParseError|ArgInvalidOptionError|InvalidArgsSpecError/.test(kind)) {
    return usageError(printable(message.split('\n')[0] ?? 'invalid arguments', 120), help, {command: command.id})
  }
  return undefined
}
