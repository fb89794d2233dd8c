import { z } from 'zod';

/**
 * What Tally accepts as an identifier (event id, tenant, event type, source, actor, key name
 * and id, meter event type) and as a dimension or distinct value. Stores keep UTF-8: two
 * JavaScript strings that differ only in a lone surrogate encode to the same bytes (U+FFFD),
 * so accepting them would merge tenants and make distinct ids collide in the dedupe ledger.
 * Control characters (NUL above all) break SQL text, CSV and logs. Both are refused, never
 * repaired: a repaired id would silently be another id. See docs/identifiers.md.
 */
export const IDENTIFIER_LIMITS = { id: 256, tenant: 200, type: 200, source: 1024, actor: 512, keyName: 200 } as const;

/**
 * C0 controls, DEL, C1 controls, and U+FEFF (an invisible byte-order mark: the DuckDB driver
 * drops a leading one when it reads text back, so an id starting with it could not be found).
 */
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const CONTROL = /[\u0000-\u001f\u007f-\u009f\ufeff]/;

/** ES2024 string method: Node 20 has it, the compile target's lib does not declare it. */
interface WellFormedString {
  isWellFormed(): boolean;
}

/** True when `s` is well-formed Unicode (no lone UTF-16 surrogate). */
export function isWellFormed(s: string): boolean {
  return (s as unknown as WellFormedString).isWellFormed();
}

/**
 * Why `s` is not a valid identifier of at most `max` UTF-16 code units, or undefined when it
 * is one. Cheap enough for the ingest hot path (one native scan and one regex test).
 */
export function identifierProblem(s: string, max: number): string | undefined {
  if (s.length === 0) return 'must not be empty';
  if (s.length > max) return `must be at most ${max} characters`;
  if (!isWellFormed(s)) return 'must be well-formed Unicode (it holds a lone UTF-16 surrogate)';
  if (CONTROL.test(s)) return 'must not contain control characters (U+0000–U+001F, U+007F–U+009F) or U+FEFF';
  return undefined;
}

/** True when `s` is a valid identifier of at most `max` characters. */
export function isIdentifier(s: string, max: number): boolean {
  return s.length > 0 && s.length <= max && isWellFormed(s) && !CONTROL.test(s);
}

/**
 * Why a dimension or distinct value is refused, or undefined. Values are data, so other
 * control characters (a tab in a user agent) are kept exactly; NUL and lone surrogates are not
 * storable as sent.
 */
export function valueProblem(s: string): string | undefined {
  if (!isWellFormed(s)) return 'must be well-formed Unicode (it holds a lone UTF-16 surrogate)';
  if (s.includes('\u0000')) return 'must not contain NUL (U+0000)';
  if (s.charCodeAt(0) === 0xfeff) return 'must not start with U+FEFF (a byte-order mark the store cannot keep)';
  return undefined;
}

/** A zod schema for an identifier of at most `max` characters (HTTP and config edges). */
export function identifierSchema(max: number): z.ZodString {
  return z.string().min(1).max(max).superRefine((s, ctx) => {
    const p = identifierProblem(s, max);
    if (p) ctx.addIssue({ code: 'custom', message: p });
  }) as unknown as z.ZodString;
}

/** A zod schema for a dimension value (query filters). */
export const dimensionValueSchema = z.string().superRefine((s, ctx) => {
  const p = valueProblem(s);
  if (p) ctx.addIssue({ code: 'custom', message: p });
});
