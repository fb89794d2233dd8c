#!/usr/bin/env -S node --max-semi-space-size=64
// A 64 MiB young generation (V8's default is 16): ingest and large query answers allocate
// many short-lived objects, and fewer scavenges cut ~15 % of the CPU per event. The same flag
// is in the root package.json scripts and the benchmarks' server launch (SERVER_NODE_FLAGS).
// Runs the TypeScript CLI through tsx so no build step is needed.
import { register } from 'tsx/esm/api';
register();
await import('../src/cli/main.ts');
