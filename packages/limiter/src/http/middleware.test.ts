import type { AddressInfo } from 'node:net';
import express from 'express';
import Fastify from 'fastify';
import type { FastifyRequest } from 'fastify';
import { Hono } from 'hono';
import type { Context } from 'hono';
import { afterAll, describe, expect, it } from 'vitest';
import { T0 } from '../contract/store-contract.ts';
import type { FailureMode } from '../failure/failure-policy.ts';
import { Limiter } from '../limiter.ts';
import { MemoryStore } from '../memory/memory-store.ts';
import type { LimiterStore, Policy } from '../types.ts';
import { expressRateLimit } from './express.ts';
import { fastifyRateLimit } from './fastify.ts';
import { honoRateLimit } from './hono.ts';
import type { MiddlewareOptions } from './middleware-options.ts';

const policies: Policy[] = [
  { name: 'burst', algorithm: 'gcra', limit: 2, windowMs: 1_000 },
  { name: 'daily', algorithm: 'fixed-window', limit: 100, windowMs: 86_400_000 },
];
const down: LimiterStore = { apply: () => Promise.reject(new Error('ECONNREFUSED')), refund: () => Promise.reject(new Error('ECONNREFUSED')) };

interface Reply {
  status: number;
  headers: Headers;
  body: string;
}
type Send = (headers: Record<string, string>) => Promise<Reply>;
type Mount = (options: MiddlewareOptions<never>) => Promise<Send>;

const closers: (() => Promise<void>)[] = [];
afterAll(async () => {
  for (const c of closers) await c();
});

const frameworks: Record<string, Mount> = {
  'express 5': async (options) => {
    const app = express();
    app.use(expressRateLimit(options as MiddlewareOptions<express.Request>));
    app.get('/', (_req, res) => {
      res.send('ok');
    });
    const server = app.listen(0, '127.0.0.1');
    await new Promise((r) => server.once('listening', r));
    closers.push(() => new Promise((r) => server.close(() => r())));
    const { port } = server.address() as AddressInfo;
    return async (headers) => {
      const res = await fetch(`http://127.0.0.1:${port}/`, { headers });
      return { status: res.status, headers: res.headers, body: await res.text() };
    };
  },
  'fastify 5': async (options) => {
    const app = Fastify();
    app.addHook('onRequest', fastifyRateLimit(options as MiddlewareOptions<FastifyRequest>));
    app.get('/', async () => 'ok');
    closers.push(() => app.close());
    return async (headers) => {
      const res = await app.inject({ method: 'GET', url: '/', headers });
      return { status: res.statusCode, headers: new Headers(res.headers as Record<string, string>), body: res.body };
    };
  },
  'hono 4': async (options) => {
    const app = new Hono();
    app.use(honoRateLimit(options as MiddlewareOptions<Context>));
    app.get('/', (c) => c.text('ok'));
    return async (headers) => {
      const res = await app.request('/', { headers });
      return { status: res.status, headers: res.headers, body: await res.text() };
    };
  },
};

function keyOf(req: unknown): string {
  const r = req as { headers?: Record<string, string>; req?: { header(n: string): string | undefined } };
  const key = r.req?.header('x-key') ?? r.headers?.['x-key'];
  if (key === 'explode') throw new Error('bad key');
  return key ?? 'none';
}

for (const [name, mount] of Object.entries(frameworks)) {
  describe(`HTTP middleware on ${name}`, () => {
    const memoryLimiter = () => new Limiter({ store: new MemoryStore({ clock: () => T0 }), policies, failure: { mode: 'fail-closed' } });
    const outageLimiter = (mode: FailureMode) => new Limiter({ store: down, policies, failure: { mode } });

    it('sets IETF and legacy headers, then 429 problem+json naming the violated policy', async () => {
      const errors: unknown[] = [];
      const send = await mount({ limiter: memoryLimiter(), key: keyOf, onError: (e) => errors.push(e) } as MiddlewareOptions<never>);
      const first = await send({ 'x-key': 'a' });
      expect(first.status).toBe(200);
      expect(first.body).toBe('ok');
      expect(first.headers.get('ratelimit-policy')).toBe('"burst";q=2;w=1, "daily";q=100;w=86400');
      expect(first.headers.get('ratelimit')).toBe('"burst";r=1;t=1, "daily";r=99;t=86400');
      expect(first.headers.get('x-ratelimit-limit')).toBe('2');
      expect(first.headers.get('x-ratelimit-remaining')).toBe('1');
      expect(first.headers.get('x-ratelimit-reset')).toBe(String(T0 / 1000 + 1));
      expect((await send({ 'x-key': 'a' })).status).toBe(200);
      const denied = await send({ 'x-key': 'a' });
      expect(denied.status).toBe(429);
      expect(denied.headers.get('content-type')).toMatch(/^application\/problem\+json/);
      expect(denied.headers.get('retry-after')).toBe('1');
      expect(denied.headers.get('ratelimit')).toBe('"burst";r=0;t=1, "daily";r=98;t=86400');
      expect(JSON.parse(denied.body)).toEqual({
        type: 'https://tally.dev/problems/rate-limited',
        title: 'Too Many Requests',
        status: 429,
        detail: 'rate limit exceeded: burst',
        code: 'RATE_LIMITED',
        violated: [{ policy: 'burst', limit: 2, remaining: 0, retryAfterSeconds: 1 }],
      });
      expect((await send({ 'x-key': 'b' })).status).toBe(200); // another key is independent
      // A broken key function never breaks the request: it proceeds and is reported.
      expect((await send({ 'x-key': 'explode' })).status).toBe(200);
      expect(errors).toHaveLength(1);
    });

    it('a store outage is 503 STORE_UNAVAILABLE under fail-closed, and passes under fail-open', async () => {
      const closed = await mount({ limiter: outageLimiter('fail-closed'), key: keyOf } as MiddlewareOptions<never>);
      const r = await closed({ 'x-key': 'a' });
      expect(r.status).toBe(503);
      expect(JSON.parse(r.body)).toMatchObject({ status: 503, code: 'STORE_UNAVAILABLE' });
      const open = await mount({ limiter: outageLimiter('fail-open'), key: keyOf } as MiddlewareOptions<never>);
      const o = await open({ 'x-key': 'a' });
      expect(o.status).toBe(200);
      expect(o.headers.get('ratelimit')).toBeNull();
    });
  });
}
