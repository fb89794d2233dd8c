import type { FastifyRequest } from 'fastify';
import { describe, expect, it } from 'vitest';
import { TallyError } from '../errors/registry.ts';
import { Admission } from './overload.ts';

const request = () => ({ raw: {} }) as unknown as FastifyRequest;
const limits = { maxInflightIngest: 2, maxInflightBytes: 1000, maxBodyBytes: 600 };

describe('Admission', () => {
  it('refuses ingest requests beyond the count and bodies beyond the byte budget, with OVERLOADED', () => {
    const a = new Admission(limits);
    a.admit(request(), true, 100);
    a.admit(request(), true, 100);
    expect(() => a.admit(request(), true, 10)).toThrow(expect.objectContaining({ code: 'OVERLOADED', status: 503 }) as TallyError);
    // Not an ingest route: only the bytes count.
    a.admit(request(), false, 700);
    expect(() => a.admit(request(), false, 101)).toThrow(TallyError);
    expect(a.refused).toEqual({ requests: 1, bytes: 1 });
  });

  it('refuses a gzip body that would exceed the budget once decompressed, and lets the first of several grow', () => {
    const a = new Admission(limits);
    const [r1, r2, r3] = [request(), request(), request()];
    for (const r of [r1, r2, r3]) a.admit(r, false, 200);
    // Each announced 200 compressed bytes and decompresses to 500. Growth is checked against the
    // decompressed bodies only (the announced lengths of the others would block all three):
    // 500, then 1,000 fit the budget of 1,000; the third would make 1,500.
    expect(a.room(r1)).toBe(600);
    expect(a.grow(r1, 500)).toBe(true);
    expect(a.room(r2)).toBe(500);
    expect(a.grow(r2, 500)).toBe(true);
    expect(a.room(r3)).toBe(0);
    expect(a.grow(r3, 500)).toBe(false);
    expect(a.inflightBytes).toBe(1200);
  });

  it('gives a ticket back once, whatever the order of reply and close', () => {
    const a = new Admission(limits);
    const r = request();
    const t = a.admit(r, true, 300);
    a.grow(r, 500);
    a.release(t);
    a.release(t);
    expect(a.inflightIngest).toBe(0);
    expect(a.inflightBytes).toBe(0);
    expect(a.room(request())).toBe(600);
    // The decompressed count is back to zero too: a new body may use the whole budget.
    const r2 = request();
    a.admit(r2, false, 10);
    expect(a.room(r2)).toBe(600);
  });
});
