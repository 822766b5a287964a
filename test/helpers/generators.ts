/** fast-check generators of SSH config text, shared by the unit and integration property tests. */
import fc from 'fast-check'

const name = fc.stringMatching(/^[a-z][a-z0-9.-]{0,12}$/)
const ws = fc.constantFrom(' ', '  ', '\t', ' \t ', '')
/** Lines a person writes, plus arbitrary text (never a marker: those are tested elsewhere). */
export const configLine = fc.oneof(
  fc.tuple(ws, fc.constantFrom('Host', 'host', 'HOST', 'Host='), fc.array(name, {minLength: 1, maxLength: 3})).map(([w, k, names]) => `${w}${k}${k.endsWith('=') ? '' : ' '}${names.join(' ')}`),
  fc.tuple(ws, fc.constantFrom('HostName', 'User', 'Port', 'IdentityFile', 'ServerAliveInterval', 'ForwardAgent'), ws, fc.stringMatching(/^[a-z0-9~/.]{1,10}$/)).map(([w, k, w2, v]) => `${w}${k}${w2 === '' ? '=' : w2}${v}`),
  fc.tuple(ws, fc.string({maxLength: 20})).map(([w, c]) => `${w}# ${c.replace(/[\r\n]/g, '')}`),
  fc.constantFrom('', '   ', 'Match all', 'Match host *.example.com', 'Host *', 'Include ~/.ssh/config.d/*', 'HostName a # note', 'Host "quoted"'),
  fc.string({maxLength: 30, unit: 'binary'}).map((s) => s.replace(/[\r\n]/g, '')),
)
export const configText = fc
  .tuple(fc.array(configLine, {maxLength: 25}), fc.constantFrom('\n', '\r\n'), fc.boolean())
  .map(([lines, eol, trailing]) => lines.join(eol) + (trailing && lines.length > 0 ? eol : ''))
  .filter((text) => !/ona ssh-sync/.test(text) && !text.startsWith('\uFEFF') && !text.startsWith('\u00EF\u00BB\u00BF'))

