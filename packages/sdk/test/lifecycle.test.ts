import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Sink } from './sink.ts';
import { startSink } from './sink.ts';

const run = promisify(execFile);
const FIXTURE = fileURLToPath(new URL('./fixtures/idle-host.ts', import.meta.url));

describe('process lifecycle', () => {
  let sink: Sink;
  beforeAll(async () => {
    sink = await startSink();
  });
  afterAll(() => sink.stop());

  it('keeps no timer or idle socket alive: the host exits on its own', async () => {
    // If a timer or keep-alive socket held the event loop, this would never resolve (test timeout).
    const { stdout } = await run(process.execPath, ['--import', 'tsx', FIXTURE], { env: { ...process.env, ENDPOINT: sink.url } });
    expect(JSON.parse(stdout)).toEqual({ drained: true, delivered: 5, lost: 0, pending: 0 });
    expect(sink.events.size).toBeGreaterThanOrEqual(5);
  });
});
