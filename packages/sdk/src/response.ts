import type { Receipt, TallyError } from './types.ts';
import type { HttpResult } from './transport.ts';
import { parseRetryAfter } from './backoff.ts';

/** What the client should do with a batch after one attempt. */
export type Outcome =
  /** The server took the batch; `receipts` are in request order (undefined if the body was unreadable). */
  | { type: 'answered'; receipts: Receipt[] | undefined; error?: TallyError }
  /** Try the same events again later, not before `retryAfterMs` if the server said so. */
  | { type: 'retry'; retryAfterMs: number | undefined; error: TallyError }
  /** A non-retriable answer without receipts: the events cannot be delivered. */
  | { type: 'fatal'; error: TallyError };

interface Envelope {
  error?: { code?: unknown; message?: unknown; details?: { receipts?: unknown } };
}

function parse(body: string): unknown {
  try {
    return JSON.parse(body);
  } catch {
    return undefined;
  }
}

function receiptsOf(value: unknown, expected: number): Receipt[] | undefined {
  return Array.isArray(value) && value.length === expected ? (value as Receipt[]) : undefined;
}

const COUNT = { accepted: /"accepted":(\d+)/, duplicates: /"duplicates":(\d+)/, rejected: /"rejected":(\d+)/ };

const countOf = (body: string, key: keyof typeof COUNT): number | undefined => {
  const m = COUNT[key].exec(body);
  return m ? Number(m[1]) : undefined;
};

/**
 * True when a 2xx body's top-level counts say every event was accepted. Receipts are then not
 * needed, and parsing thousands of them would cost more than everything else per event. The
 * patterns cannot match inside receipts: there `accepted` is a value, never a key.
 */
function allAccepted(body: string, expected: number): boolean {
  return countOf(body, 'accepted') === expected && countOf(body, 'duplicates') === 0 && countOf(body, 'rejected') === 0;
}

/** Classifies one HTTP attempt for a batch of `count` events, per the server contract. */
export function classify(r: HttpResult, count: number, nowMs: number): Outcome {
  if (r.kind === 'network') {
    return { type: 'retry', retryAfterMs: undefined, error: { kind: 'network', code: r.code, message: r.message, retriable: true } };
  }
  if (r.status >= 200 && r.status < 300 && allAccepted(r.body, count)) return { type: 'answered', receipts: undefined };
  const body = parse(r.body);
  if (r.status >= 200 && r.status < 300) {
    const receipts = receiptsOf((body as { receipts?: unknown } | undefined)?.receipts, count);
    if (receipts) return { type: 'answered', receipts };
    // Re-sending would be safe, but a proxy answering 200 with HTML would make it loop forever.
    return {
      type: 'answered',
      receipts: undefined,
      error: { kind: 'bad_response', status: r.status, message: `${r.status} without ${count} receipts; counted as accepted`, retriable: false },
    };
  }
  const env = (body as Envelope | undefined)?.error;
  const code = typeof env?.code === 'string' ? env.code : undefined;
  const message = typeof env?.message === 'string' ? env.message : `HTTP ${r.status}`;
  const error: TallyError = { kind: 'http', status: r.status, message, retriable: false, ...(code ? { code } : {}) };
  if (r.status === 408 || r.status === 429 || r.status >= 500) {
    return { type: 'retry', retryAfterMs: parseRetryAfter(r.retryAfter, nowMs), error: { ...error, retriable: true } };
  }
  const receipts = receiptsOf(env?.details?.receipts, count);
  if (r.status === 400 && receipts) return { type: 'answered', receipts };
  return { type: 'fatal', error };
}
