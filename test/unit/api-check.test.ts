/**
 * check.ts replaced zod for the response shapes (start-up cost); it must accept, strip and report exactly
 * as zod 4 did, so no error message changed. Each shape is declared here once more in zod, as the
 * reference, and both are run on generated JSON: random values, and objects close to the shape (the
 * right keys holding values of every kind), where the differences would hide.
 */
import fc from 'fast-check'
import {describe, expect, it} from 'vitest'
import {z} from 'zod'

import {array, nonNegativeInteger, nullable, object, optional, safeParse, string, union, unknown, type Check} from '../../src/lib/api/check.js'
import {describeIssues} from '../../src/lib/api/schema.js'

// The zod schemas exactly as src/lib/api/schema.ts had them.
const zInt64 = z.union([z.string().regex(/^\d{1,20}$/, 'expected a decimal integer string'), z.number().int().nonnegative()])
const int64 = union(string({pattern: /^\d{1,20}$/, patternMessage: 'expected a decimal integer string'}), nonNegativeInteger())

type Leaf = 'string' | 'nonEmpty' | 'int64' | 'unknown' | 'nullableString'
type Spec = Leaf | {array: Spec} | {object: Record<string, {spec: Spec; optional: boolean}>}

const o = (fields: Record<string, Spec>, required: string[] = []) => ({
  object: Object.fromEntries(Object.entries(fields).map(([k, spec]) => [k, {spec, optional: !required.includes(k)}])),
})

const SHAPES: Record<string, Spec> = {
  identity: o({subject: o({id: 'nonEmpty', principal: 'string'}, ['id']), organizationId: 'string'}, ['subject']),
  environment: o(
    {
      id: 'nonEmpty',
      metadata: o({name: 'string', creator: o({id: 'string', principal: 'string'}), organizationId: 'string'}),
      spec: o({desiredPhase: 'string', sshPublicKeys: {array: o({id: 'string', value: 'nullableString'})}}),
      status: o({
        statusVersion: 'int64',
        phase: 'string',
        sshPublicKeys: {array: o({id: 'string', phase: 'string'})},
        environmentUrls: o({ssh: o({url: 'string'})}),
      }),
    },
    ['id'],
  ),
  list: o({pagination: o({nextToken: 'string'}), environments: {array: 'unknown'}}),
  get: o({environment: 'unknown'}, ['environment']),
  event: o({operation: 'string', resourceType: 'string', resourceId: 'string'}),
  empty: o({}),
}

function toZod(spec: Spec): z.ZodType {
  if (spec === 'string') return z.string()
  if (spec === 'nonEmpty') return z.string().min(1)
  if (spec === 'int64') return zInt64
  if (spec === 'unknown') return z.unknown()
  if (spec === 'nullableString') return z.string().nullable()
  if ('array' in spec) return z.array(toZod(spec.array))
  return z.object(Object.fromEntries(Object.entries(spec.object).map(([k, f]) => [k, f.optional ? toZod(f.spec).optional() : toZod(f.spec)])))
}

function toCheck(spec: Spec): Check<unknown> {
  if (spec === 'string') return string()
  if (spec === 'nonEmpty') return string({min: 1})
  if (spec === 'int64') return int64
  if (spec === 'unknown') return unknown()
  if (spec === 'nullableString') return nullable(string())
  if ('array' in spec) return array(toCheck(spec.array))
  return object(Object.fromEntries(Object.entries(spec.object).map(([k, f]) => [k, f.optional ? optional(toCheck(f.spec)) : toCheck(f.spec)])))
}

// Values JSON.parse can produce, with the numbers that sit on zod's edges (unsafe, negative, fractional, huge).
const edgeNumbers = fc.constantFrom(0, -0, 1, -1, 1.5, -2.5, 2 ** 53 - 1, 2 ** 53, -(2 ** 53), 1e20, -1e20, 1e400, -1e400)
const jsonish: fc.Arbitrary<unknown> = fc.oneof(fc.jsonValue(), edgeNumbers, fc.constantFrom('', '0', '007', '12a', '123456789012345678901', ' 1'))

function near(spec: Spec, depth = 0): fc.Arbitrary<unknown> {
  if (typeof spec === 'string') {
    const good = spec === 'int64' ? fc.oneof(fc.nat().map(String), fc.nat(), edgeNumbers) : fc.oneof(fc.string(), fc.constant(''))
    return fc.oneof({weight: 3, arbitrary: good}, {weight: 1, arbitrary: jsonish})
  }
  if ('array' in spec) return fc.oneof({weight: 3, arbitrary: fc.array(near(spec.array, depth + 1), {maxLength: 3})}, {weight: 1, arbitrary: jsonish})
  const record = fc.record(Object.fromEntries(Object.entries(spec.object).map(([k, f]) => [k, near(f.spec, depth + 1)])), {requiredKeys: []})
  const withExtra = fc.tuple(record, fc.dictionary(fc.string({maxLength: 4}), fc.jsonValue({maxDepth: 1}), {maxKeys: 2})).map(([r, extra]) => ({...extra, ...r}))
  return fc.oneof({weight: 4, arbitrary: withExtra}, {weight: 1, arbitrary: jsonish})
}

const strip = (issues: Array<{path: PropertyKey[]; message: string}>) => issues.map((i) => ({path: i.path.map((p) => (typeof p === 'number' ? p : String(p))), message: i.message}))

describe.each(Object.entries(SHAPES))('the %s shape', (_name, spec) => {
  const reference = toZod(spec)
  const check = toCheck(spec)
  const same = (value: unknown) => {
    // Through JSON, as every response arrives; 1e400 in the text is how a response yields Infinity.
    const text = JSON.stringify(value, (_k, v) => (v === Infinity ? '__inf__' : v === -Infinity ? '__-inf__' : v))
    const input = text === undefined ? undefined : JSON.parse(text.replaceAll('"__inf__"', '1e400').replaceAll('"__-inf__"', '-1e400'))
    const want = reference.safeParse(input)
    const got = safeParse(check, input)
    expect(got.success).toBe(want.success)
    if (want.success && got.success) expect(got.data).toEqual(want.data)
    if (!want.success && !got.success) {
      expect(strip(got.issues)).toEqual(strip(want.error.issues as never))
    }
  }

  it('accepts, strips and rejects exactly as zod 4 does, on values close to the shape', () => {
    fc.assert(fc.property(near(spec), same), {numRuns: 400})
  })

  it('does the same on any JSON value', () => {
    fc.assert(fc.property(jsonish, same), {numRuns: 200})
  })
})

describe('named regression cases of the swap', () => {
  it.each<[string, Spec, unknown, string]>([
    ['a missing required unknown member is "nonoptional"', SHAPES.get!, {}, 'environment: Invalid input: expected nonoptional, received undefined'],
    ['a union of two type mismatches is one "Invalid input"', o({n: 'int64'}), {n: 1.5}, 'n: Invalid input'],
    ['a union reports the only option that was the right type', o({n: 'int64'}), {n: '12a'}, 'n: expected a decimal integer string'],
    ['an integer past 2^53 is too big, as zod says', o({n: 'int64'}), {n: 2 ** 53}, 'n: Too big: expected int to be <=9007199254740991'],
    ['every member of an array element is reported', {array: o({id: 'string', value: 'nullableString'})}, [{id: 1, value: 2}], '[0].id: Invalid input: expected string, received number; [0].value: Invalid input: expected string, received number'],
    ['an array where an object belongs', SHAPES.empty!, [], '(response): Invalid input: expected object, received array'],
    // fast-check's counterexample (seed -1636212399): zod runs min-length on any value whose `length` is defined.
    ['an object with a null `length` where a non-empty string belongs is also too small', SHAPES.identity!, {subject: {id: {length: null}}}, 'subject.id: Invalid input: expected string, received object; subject.id: Too small: expected unknown to be >=1'],
    ['an object whose `length` meets the minimum is only the wrong type', SHAPES.identity!, {subject: {id: {length: 5}}}, 'subject.id: Invalid input: expected string, received object'],
  ])('%s', (_name, spec, input, message) => {
    const zod = toZod(spec).safeParse(input)
    const got = safeParse(toCheck(spec), input)
    expect(got.success).toBe(false)
    if (got.success || zod.success) return
    expect(describeIssues(got.issues)).toBe(message)
    expect(strip(got.issues)).toEqual(strip(zod.error.issues as never))
  })
})
