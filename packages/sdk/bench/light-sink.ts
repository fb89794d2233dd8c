/**
 * A minimal ingest stand-in for the middleware bench: answers every batch as all accepted without
 * storing anything, so the sink's own CPU competes as little as possible with the host under test.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { gunzipSync } from 'node:zlib';

let total = 0;
const server = http.createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => {
    if (req.url === '/_stats') return void res.end(JSON.stringify({ accepted: total }));
    let body = Buffer.concat(chunks);
    if (req.headers['content-encoding'] === 'gzip') body = gunzipSync(body);
    const text = body.toString('latin1');
    let n = 0;
    for (let i = text.indexOf('"specversion"'); i >= 0; i = text.indexOf('"specversion"', i + 1)) n++;
    total += n;
    res.setHeader('content-type', 'application/json');
    res.end(`{"accepted":${n},"duplicates":0,"rejected":0,"receipts":[]}`);
  });
});
server.listen(0, '127.0.0.1', () => process.stdout.write(`http://127.0.0.1:${(server.address() as AddressInfo).port}\n`));
process.on('SIGTERM', () => process.exit(0));
