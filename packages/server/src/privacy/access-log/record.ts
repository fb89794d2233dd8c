import { isWellFormed } from '../../events/identifiers.ts';
import type { Principal } from '../../auth/keys.ts';
import type { AccessRecord } from './entry.ts';

/** Keys whose values never reach the log: secrets, and raw end-user ids (an erasure request names one). */
const SECRET = /secret|token|password|signature|^actor$/i;
/** Largest parameter JSON kept per entry; longer ones are summarised. */
const MAX_PARAMS_BYTES = 4096;

/**
 * A string as the log can store it: a lone UTF-16 surrogate (a malformed parameter, usually of a
 * refused call) becomes U+FFFD. Only the log's copy changes; the call itself was judged as sent.
 */
function storable(s: string): string {
  return isWellFormed(s) ? s : s.replace(LONE_SURROGATE, '\uFFFD');
}

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

/** A copy with secret-looking properties replaced by "[redacted]" and every string storable. */
function redact(v: unknown, depth = 0): unknown {
  if (typeof v === 'string') return storable(v);
  if (depth > 8 || v === null || typeof v !== 'object') return v;
  if (Array.isArray(v)) return v.map((x) => redact(x, depth + 1));
  return Object.fromEntries(Object.entries(v).map(([k, x]) => [storable(k), SECRET.test(k) ? '[redacted]' : redact(x, depth + 1)]));
}

/** The tenants a call concerned: its tenant parameters, else the key's own tenant; [] = all. */
function tenantsOf(parts: unknown[], principal: Principal | null): string[] {
  const out = new Set<string>();
  for (const p of parts) {
    if (p === null || typeof p !== 'object') continue;
    for (const key of ['tenant', 'tenants', 'subject']) {
      const v = (p as Record<string, unknown>)[key];
      for (const t of [v].flat()) if (typeof t === 'string' && t !== '') out.add(storable(t));
    }
  }
  if (principal?.tenant) out.add(principal.tenant);
  return [...out].sort();
}

/** Rows of an answer: the length of its `data` list, 1 for another object, null when not countable. */
export function rowsOf(result: unknown): number | null {
  if (result === null || result === undefined || typeof result !== 'object') return null;
  if (typeof (result as { pipe?: unknown }).pipe === 'function') return null;
  const data = (result as { data?: unknown }).data;
  return Array.isArray(data) ? data.length : 1;
}

/** The access record of one routed call. */
export function accessRecord(o: { at: number; principal: Principal | null; scope: string; method: string; endpoint: string; params: unknown; query: unknown; body: unknown; status: number; result: unknown }): AccessRecord {
  const params: Record<string, unknown> = {};
  if (o.params && typeof o.params === 'object' && Object.keys(o.params).length) params.path = o.params;
  if (o.query && typeof o.query === 'object' && Object.keys(o.query).length) params.query = o.query;
  if (o.body !== undefined && o.body !== null && o.method !== 'GET') params.body = o.body;
  let kept = redact(params) as Record<string, unknown>;
  const text = JSON.stringify(kept);
  if (text.length > MAX_PARAMS_BYTES) kept = { truncated: true, bytes: text.length, keys: Object.keys(kept) };
  return {
    at: o.at,
    keyId: o.principal?.keyId ?? null,
    scope: o.scope,
    tenants: tenantsOf([o.params, o.query, o.method === 'GET' ? null : o.body], o.principal),
    method: o.method,
    endpoint: storable(o.endpoint),
    params: kept,
    status: o.status,
    rows: o.status < 400 ? rowsOf(o.result) : 0,
  };
}
