#!/usr/bin/env -S node --max-semi-space-size=64
// A 64 MiB young generation (V8's default is 16): ingest and large query answers allocate
// many short-lived objects, and fewer scavenges cut ~15 % of the CPU per event. The same flag
// is in the root package.json scripts and the benchmarks' server launch (SERVER_NODE_FLAGS).
// Runs the compiled CLI (dist/, from `npm run build`; `npm pack` and `npm install` build it):
// no TypeScript loader at run time, so an installed server needs nothing but its dependencies.
import { existsSync } from 'node:fs';

const main = new URL('../dist/cli/main.js', import.meta.url);
if (!existsSync(main)) {
  process.stderr.write('tally: the server is not built (no dist/cli/main.js): run `npm run build` at the repository root\n');
  process.exit(1);
}
await import(main.href);
