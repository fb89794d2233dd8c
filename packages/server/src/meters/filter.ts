import { z } from 'zod';
import { parseQuantity } from '../shared/decimal.ts';
import { compilePath, readPath, type CompiledPath } from './json-path.ts';

/**
 * A meter's optional `filter`: which events of its type it counts, by conditions on `data`
 * properties, all of which must hold (AND). An event the filter excludes is not an error, it
 * simply does not count for that meter (e.g. `errors_5xx` counts `api.request` events whose
 * `$.statusClass` is "5xx").
 *
 * ```yaml
 * filter:
 *   $.statusClass: 5xx            # equals (a bare string, number or boolean)
 *   $.status: { gte: 500 }        # eq, ne, in, notIn, gt, gte, lt, lte, exists
 * ```
 *
 * Equality compares strings with strings and numbers exactly (as decimals, so 500 = 500.0);
 * the order comparisons are exact decimal comparisons and fail on a value that is not a number.
 */
const scalar = z.union([z.string().max(256), z.number(), z.boolean()]);
const condition = z.union([
  scalar,
  z
    .object({
      eq: scalar.optional(),
      ne: scalar.optional(),
      in: z.array(scalar).min(1).max(100).optional(),
      notIn: z.array(scalar).min(1).max(100).optional(),
      gt: z.union([z.number(), z.string()]).optional(),
      gte: z.union([z.number(), z.string()]).optional(),
      lt: z.union([z.number(), z.string()]).optional(),
      lte: z.union([z.number(), z.string()]).optional(),
      exists: z.boolean().optional(),
    })
    .strict()
    .refine((c) => Object.keys(c).length > 0, 'a condition needs at least one operator (eq, ne, in, notIn, gt, gte, lt, lte, exists)'),
]);

/** The schema of a meter filter: JSONPath → condition. */
export const meterFilterSchema = z
  .record(z.string(), condition)
  .superRefine((f, ctx) => {
    const paths = Object.keys(f);
    if (paths.length === 0) ctx.addIssue({ code: 'custom', message: 'a filter needs at least one condition (or leave it out)' });
    if (paths.length > 16) ctx.addIssue({ code: 'custom', message: 'at most 16 conditions' });
    for (const p of paths) {
      const c = compilePath(p);
      if (typeof c === 'string') ctx.addIssue({ code: 'custom', path: [p], message: `invalid path: ${c}` });
    }
    for (const [p, c] of Object.entries(f)) {
      if (typeof c !== 'object') continue;
      for (const op of ['gt', 'gte', 'lt', 'lte'] as const) {
        const v = c[op];
        if (v !== undefined && typeof parseQuantity(v) !== 'bigint') ctx.addIssue({ code: 'custom', path: [p, op], message: `${op} needs a decimal number, got ${JSON.stringify(v)}` });
      }
    }
  })
  .describe('conditions on `data` properties (JSONPath → value or {eq, ne, in, notIn, gt, gte, lt, lte, exists}); all must hold');

/** A meter filter as declared. */
export type MeterFilter = z.infer<typeof meterFilterSchema>;

type Scalar = z.infer<typeof scalar>;
type Test = (v: unknown) => boolean;

/** A value's identity for equality: strings as they are, numbers as exact decimals, booleans. */
function same(a: unknown, b: Scalar): boolean {
  if (typeof b === 'string') return a === b;
  if (typeof b === 'boolean') return a === b;
  if (typeof a !== 'number' && typeof a !== 'string') return false;
  if (typeof a === 'string') return false;
  const qa = parseQuantity(a);
  const qb = parseQuantity(b);
  return typeof qa === 'bigint' && qa === qb;
}

/** Compares an event value with a bound exactly; false when the value is not a number. */
function order(v: unknown, bound: number | string, ok: (cmp: number) => boolean): boolean {
  if (typeof v !== 'number' && typeof v !== 'string') return false;
  const a = parseQuantity(v);
  const b = parseQuantity(bound) as bigint;
  if (typeof a !== 'bigint') return false;
  return ok(a < b ? -1 : a > b ? 1 : 0);
}

function compileCondition(c: MeterFilter[string]): Test {
  if (typeof c !== 'object') return (v) => same(v, c);
  const tests: Test[] = [];
  if (c.exists !== undefined) tests.push((v) => (v !== undefined && v !== null) === c.exists);
  if (c.eq !== undefined) tests.push((v) => same(v, c.eq!));
  if (c.ne !== undefined) tests.push((v) => !same(v, c.ne!));
  if (c.in !== undefined) tests.push((v) => c.in!.some((x) => same(v, x)));
  if (c.notIn !== undefined) tests.push((v) => !c.notIn!.some((x) => same(v, x)));
  if (c.gt !== undefined) tests.push((v) => order(v, c.gt!, (x) => x > 0));
  if (c.gte !== undefined) tests.push((v) => order(v, c.gte!, (x) => x >= 0));
  if (c.lt !== undefined) tests.push((v) => order(v, c.lt!, (x) => x < 0));
  if (c.lte !== undefined) tests.push((v) => order(v, c.lte!, (x) => x <= 0));
  return (v) => tests.every((t) => t(v));
}

/** A compiled filter: true when an event's `data` passes every condition. */
export type CompiledFilter = (data: unknown) => boolean;

/** Compiles a validated filter once, when the meter is defined. */
export function compileFilter(filter: MeterFilter): CompiledFilter {
  const checks: [CompiledPath, Test][] = Object.entries(filter).map(([p, c]) => [compilePath(p) as CompiledPath, compileCondition(c)]);
  return (data) => checks.every(([path, test]) => test(readPath(data, path)));
}

/** The filter in a canonical form (paths sorted), for meter identity and series keys. */
export function canonicalFilter(filter: MeterFilter): [string, MeterFilter[string]][] {
  const byKey = <T>(a: [string, T], b: [string, T]) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0);
  return Object.entries(filter)
    .map(([p, c]): [string, MeterFilter[string]] => [p, typeof c === 'object' ? (Object.fromEntries(Object.entries(c).sort(byKey)) as MeterFilter[string]) : c])
    .sort(byKey);
}
