import { describe, expect, it } from 'vitest';
import { classify } from './response.ts';

const res = (status: number, body: unknown, retryAfter?: string) =>
  ({ kind: 'response', status, body: typeof body === 'string' ? body : JSON.stringify(body), retryAfter }) as const;

describe('classify', () => {
  it('reads receipts of a 200', () => {
    const receipts = [{ id: 'a', status: 'accepted' }, { id: 'b', status: 'duplicate', conflict: false }];
    expect(classify(res(200, { accepted: 1, duplicates: 1, rejected: 0, receipts }), 2, 0)).toEqual({ type: 'answered', receipts });
  });

  it('skips parsing receipts when the counts say all were accepted', () => {
    const receipts = [{ id: 'a', status: 'accepted' }, { id: 'b', status: 'accepted' }];
    expect(classify(res(200, { accepted: 2, duplicates: 0, rejected: 0, receipts }), 2, 0)).toEqual({ type: 'answered', receipts: undefined });
    expect(classify(res(200, { accepted: 1, duplicates: 0, rejected: 1, receipts }), 2, 0)).toEqual({ type: 'answered', receipts });
  });

  it('reports a 200 without matching receipts instead of retrying forever', () => {
    const o = classify(res(200, '<html>'), 3, 0);
    expect(o.type).toBe('answered');
    expect(o.type === 'answered' && o.error?.kind).toBe('bad_response');
  });

  it('reads the receipts of an all-rejected 400', () => {
    const receipts = [{ id: 'a', status: 'rejected', code: 'VALIDATION_FAILED', message: 'no type' }];
    const o = classify(res(400, { error: { code: 'VALIDATION_FAILED', message: 'x', requestId: 'r', details: { receipts } } }), 1, 0);
    expect(o).toEqual({ type: 'answered', receipts });
  });

  it('retries network errors, 408, 429 and 5xx, honouring Retry-After', () => {
    expect(classify({ kind: 'network', code: 'ECONNREFUSED', message: 'x' }, 1, 0).type).toBe('retry');
    expect(classify(res(408, ''), 1, 0).type).toBe('retry');
    const limited = classify(res(429, { error: { code: 'RATE_LIMITED', message: 'slow down', requestId: 'r' } }, '2'), 1, 0);
    expect(limited).toMatchObject({ type: 'retry', retryAfterMs: 2000, error: { status: 429, code: 'RATE_LIMITED', retriable: true } });
    expect(classify(res(503, 'oops'), 1, 0)).toMatchObject({ type: 'retry', retryAfterMs: undefined, error: { status: 503 } });
  });

  it('does not retry other 4xx', () => {
    for (const status of [400, 401, 403, 404, 413]) {
      expect(classify(res(status, { error: { code: 'X', message: 'm', requestId: 'r' } }), 1, 0)).toMatchObject({
        type: 'fatal',
        error: { status, code: 'X', retriable: false },
      });
    }
  });
});
