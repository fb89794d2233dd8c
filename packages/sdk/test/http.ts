import http from 'node:http';

/** One HTTP call to a host app and what should be recorded for it. */
export interface Call {
  tag: string;
  method: string;
  path: string;
  body?: string | string[]; // an array is sent chunked, without Content-Length
  tenant?: string;
  expect: { route: string; status: number };
}

/** The calls every middleware test makes (see apps.ts for the routes). */
export const CALLS: Call[] = [
  { tag: 'user', method: 'GET', path: '/users/42?x=1', expect: { route: '/users/:id', status: 200 } },
  { tag: 'user2', method: 'GET', path: '/users/43', expect: { route: '/users/:id', status: 200 } },
  { tag: 'post', method: 'POST', path: '/items', body: 'x'.repeat(123), expect: { route: '/items', status: 201 } },
  { tag: 'chunked', method: 'POST', path: '/items', body: ['abc', 'defgh'], expect: { route: '/items', status: 201 } },
  { tag: 'boom', method: 'GET', path: '/boom/1', expect: { route: '/boom/:id', status: 500 } },
  { tag: 'aboom', method: 'GET', path: '/aboom/1', expect: { route: '/aboom/:id', status: 500 } },
  { tag: 'nested', method: 'GET', path: '/api/v/2/things/99', expect: { route: '/api/v/:ver/things/:thingId', status: 200 } },
  { tag: 'missing', method: 'GET', path: '/nope/123', expect: { route: '(unmatched)', status: 404 } },
  { tag: 'anonymous', method: 'GET', path: '/users/1', tenant: '', expect: { route: '/users/:id', status: 200 } },
];

/** Makes the call over a fresh connection; resolves with the status and body bytes received. */
export function call(base: string, c: Call): Promise<{ status: number; bytes: number }> {
  return new Promise((resolve, reject) => {
    const headers: http.OutgoingHttpHeaders = { 'x-tag': c.tag, 'content-type': 'text/plain' };
    if (c.tenant !== '') headers['x-tenant'] = c.tenant ?? 'acme';
    if (typeof c.body === 'string') headers['content-length'] = Buffer.byteLength(c.body);
    const req = http.request(base + c.path, { method: c.method, headers, agent: false }, (res) => {
      let bytes = 0;
      res.on('data', (d: Buffer) => (bytes += d.length));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, bytes }));
    });
    req.on('error', reject);
    for (const chunk of Array.isArray(c.body) ? c.body : []) req.write(chunk);
    req.end(typeof c.body === 'string' ? c.body : undefined);
  });
}

