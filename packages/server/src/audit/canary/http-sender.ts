import type { CanarySender } from './canary-job.ts';

/**
 * Sends canary events to a node's public `POST /v1/events` with an ingest key: the same path
 * (HTTP, admission, auth, validation, receipts) as any client's events.
 */
export function httpCanarySender(url: () => string | undefined, token: string): CanarySender {
  return async (events) => {
    const base = url();
    if (base === undefined) return { accepted: 0, error: 'the server is not listening yet' };
    const res = await fetch(`${base}/v1/events`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify(events), signal: AbortSignal.timeout(10_000) });
    const text = await res.text();
    if (res.status !== 200) return { accepted: 0, error: `HTTP ${res.status}: ${text.slice(-300)}` };
    const body = JSON.parse(text) as { accepted: number; duplicates: number; rejected: number };
    return body.accepted === events.length ? { accepted: body.accepted } : { accepted: body.accepted, error: `${body.duplicates} duplicates, ${body.rejected} rejected: ${text.slice(0, 300)}` };
  };
}
