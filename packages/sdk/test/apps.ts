import http from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import Fastify from 'fastify';
import { Hono } from 'hono';
import { serve } from '@hono/node-server';
import type { TallyClient } from '../src/client.ts';
import { tallyExpress } from '../src/express.ts';
import { tallyFastify } from '../src/fastify.ts';
import { tallyHono } from '../src/hono.ts';
import { tallyNode } from '../src/node.ts';

/** A running host app. */
export interface App {
  url: string;
  close(): Promise<void>;
}

/**
 * Starts the same API (see below) on one framework, instrumented with the client. The `x-tag`
 * header is recorded as the `tag` property, or with `fast` as the actor (no `properties` option:
 * the middleware's fast path, which stages measurements and serialises them in batches).
 */
export type AppFactory = (client: TallyClient, fast?: boolean) => Promise<App>;

const header = (v: string | string[] | undefined) => (typeof v === 'string' ? v : undefined);
const tag = (v: string | string[] | undefined) => ({ tag: header(v) });

/*
 * Every app serves:
 *   GET  /users/:id                     200 JSON
 *   POST /items                         201 "got <n>" (reads the body)
 *   GET  /boom/:id                      throws synchronously  → 500
 *   GET  /aboom/:id                     rejects               → 500
 *   GET  /api/v/:ver/things/:thingId    200, from a nested router / sub-app / prefixed plugin
 *   anything else                       404
 * The tenant is the `x-tenant` header; requests without it are not recorded.
 */

export const expressApp: AppFactory = async (client, fast = false) => {
  const app = express();
  app.set('env', 'test'); // the default error handler would print the test's deliberate throws
  app.use(tallyExpress({ client, tenant: (req) => header(req.headers['x-tenant']), ...(fast ? { actor: (req) => header(req.headers['x-tag']) } : { properties: (req) => tag(req.headers['x-tag']) }) }));
  app.get('/users/:id', (req, res) => {
    res.json({ id: req.params.id });
  });
  app.post('/items', express.text({ type: '*/*' }), (req, res) => {
    res.status(201).send(`got ${String(req.body).length}`);
  });
  app.get('/boom/:id', () => {
    throw new Error('boom');
  });
  app.get('/aboom/:id', async () => {
    throw new Error('async boom');
  });
  const things = express.Router();
  things.get('/things/:thingId', (req, res) => {
    res.send(`thing ${req.params.thingId}`);
  });
  const api = express.Router();
  api.use('/v/:ver', things);
  app.use('/api', api);
  return listen(http.createServer(app));
};

export const fastifyApp: AppFactory = async (client, fast = false) => {
  const app = Fastify();
  await app.register(tallyFastify({ client, tenant: (req) => header(req.headers['x-tenant']), ...(fast ? { actor: (req) => header(req.headers['x-tag']) } : { properties: (req) => tag(req.headers['x-tag']) }) }));
  app.addContentTypeParser('*', { parseAs: 'string' }, (_req, body, done) => done(null, body));
  app.get('/users/:id', async (req) => ({ id: (req.params as { id: string }).id }));
  app.post('/items', async (req, reply) => reply.code(201).send(`got ${String(req.body).length}`));
  app.get('/boom/:id', () => {
    throw new Error('boom');
  });
  app.get('/aboom/:id', async () => {
    throw new Error('async boom');
  });
  await app.register(async (api) => {
    api.get('/v/:ver/things/:thingId', async (req) => `thing ${(req.params as { thingId: string }).thingId}`);
  }, { prefix: '/api' });
  await app.listen({ port: 0, host: '127.0.0.1' });
  return { url: `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`, close: () => app.close() };
};

export const honoApp: AppFactory = async (client, fast = false) => {
  const app = new Hono();
  app.onError((_err, c) => c.text('Internal Server Error', 500)); // the default logs the test's deliberate throws
  app.use('*', tallyHono({ client, tenant: (c) => c.req.header('x-tenant'), ...(fast ? { actor: (c) => c.req.header('x-tag') } : { properties: (c) => ({ tag: c.req.header('x-tag') }) }) }));
  app.get('/users/:id', (c) => c.json({ id: c.req.param('id') }));
  app.post('/items', async (c) => c.text(`got ${(await c.req.text()).length}`, 201));
  app.get('/boom/:id', () => {
    throw new Error('boom');
  });
  app.get('/aboom/:id', async () => {
    throw new Error('async boom');
  });
  const api = new Hono();
  api.get('/v/:ver/things/:thingId', (c) => c.text(`thing ${c.req.param('thingId')}`));
  app.route('/api', api);
  const server = await new Promise<http.Server>((resolve) => {
    const s = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }, () => resolve(s as http.Server));
  });
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, close: () => closeServer(server) };
};

const ROUTES: [RegExp, string][] = [
  [/^\/users\/[^/]+$/, '/users/:id'],
  [/^\/items$/, '/items'],
  [/^\/boom\/[^/]+$/, '/boom/:id'],
  [/^\/aboom\/[^/]+$/, '/aboom/:id'],
  [/^\/api\/v\/[^/]+\/things\/[^/]+$/, '/api/v/:ver/things/:thingId'],
];
const routeOf = (url = '') => ROUTES.find(([re]) => re.test(url.split('?')[0] ?? ''))?.[1];

async function respond(route: string | undefined, req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
  if (route === '/items') {
    let n = 0;
    for await (const c of req) n += (c as Buffer).length;
    res.writeHead(201).end(`got ${n}`);
  } else if (route) {
    res.end(route === '/users/:id' ? JSON.stringify({ id: req.url?.split('/')[2] }) : `thing ${req.url?.split('/')[5]}`);
  } else {
    res.writeHead(404).end('not found');
  }
}

export const nodeApp: AppFactory = async (client, fast = false) => {
  const handler = tallyNode(
    (req, res) => {
      const route = routeOf(req.url);
      if (route === '/boom/:id') throw new Error('boom');
      if (route === '/aboom/:id') return Promise.reject(new Error('async boom'));
      return respond(route, req, res);
    },
    { client, tenant: (req) => header(req.headers['x-tenant']), ...(fast ? { actor: (req) => header(req.headers['x-tag']) } : { properties: (req) => tag(req.headers['x-tag']) }), route: (req) => routeOf(req.url) },
  );
  // The application's own error boundary, as a plain node:http app would have.
  const server = http.createServer((req, res) => {
    const fail = () => {
      if (!res.headersSent) res.writeHead(500).end('internal error');
    };
    try {
      void handler(req, res).catch(fail);
    } catch {
      fail();
    }
  });
  return listen(server);
};

async function listen(server: http.Server): Promise<App> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, close: () => closeServer(server) };
}

function closeServer(server: http.Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}
