import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import fastifyStatic from '@fastify/static';
import type { FastifyInstance } from 'fastify';

/**
 * The dashboard's production build: in the repository, where `npm run build -w
 * @tally/dashboard` writes it (so a rebuild shows at once); in an installed @tally/server, the
 * copy its build put into the package (`scripts/copy-dashboard.mjs`).
 */
export const DASHBOARD_DIST = [new URL('../../../dashboard/dist/', import.meta.url), new URL('../../dashboard/', import.meta.url)].map((u) => fileURLToPath(u)).find((dir) => existsSync(`${dir}index.html`)) ?? fileURLToPath(new URL('../../../dashboard/dist/', import.meta.url));

const NOT_BUILT = `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Tally</title>
<style>body{font:15px/1.6 system-ui,sans-serif;background:#0b0f1a;color:#e6e9f2;display:grid;place-items:center;min-height:100vh;margin:0}
main{max-width:560px;padding:28px 32px;border:1px solid #232c40;border-radius:14px;background:#121826}code{background:#232c40;padding:2px 6px;border-radius:5px}</style></head>
<body><main><h1>Tally is running</h1><p>The dashboard has not been built yet. Build it with</p>
<p><code>npm run build -w @tally/dashboard</code></p><p>(<code>npm install</code> and <code>npm start</code> build it too), then reload this page.
The API is up meanwhile: <a style="color:#8fb0ff" href="/openapi.json">/openapi.json</a>.</p></main></body></html>`;

/**
 * Serves the dashboard's static build at `/` (hashed assets cached for good, index.html never),
 * or, when it has not been built, a short page saying how to build it.
 */
export function registerDashboard(app: FastifyInstance, dist = DASHBOARD_DIST): void {
  if (!existsSync(`${dist}index.html`)) {
    app.get('/', async (_req, reply) => reply.type('text/html; charset=utf-8').header('cache-control', 'no-cache').send(NOT_BUILT));
    return;
  }
  // Unknown paths fall through to the API's not-found handler (JSON error envelope).
  void app.register(fastifyStatic, {
    root: dist,
    prefix: '/',
    index: ['index.html'],
    setHeaders: (reply, path) => void reply.header('cache-control', path.includes('/assets/') ? 'public, max-age=31536000, immutable' : 'no-cache'),
  });
}
