import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ShutdownResult } from '../src/types.ts';
import type { Sink } from './sink.ts';
import { startSink, until } from './sink.ts';

const FIXTURE = fileURLToPath(new URL('./fixtures/spool-host.ts', import.meta.url));

interface Host {
  lastTracked: number;
  result: ShutdownResult | undefined;
  exited: Promise<number | null>;
  kill(): void;
}

function startHost(env: Record<string, string>): Host {
  const child = spawn(process.execPath, ['--import', 'tsx', FIXTURE], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'inherit'] });
  const host: Host = {
    lastTracked: -1,
    result: undefined,
    exited: new Promise((resolve) => child.on('exit', (code) => resolve(code))),
    kill: () => child.kill('SIGKILL'),
  };
  let buf = '';
  child.stdout.on('data', (d: Buffer) => {
    buf += d.toString();
    const lines = buf.split('\n');
    buf = lines.pop() ?? '';
    for (const line of lines) {
      if (line.startsWith('tracked ')) host.lastTracked = Number(line.slice(8));
      if (line.startsWith('done ')) host.result = JSON.parse(line.slice(5)) as ShutdownResult;
    }
  });
  return host;
}

describe('durable spool across SIGKILL', () => {
  let sink: Sink;
  let dir: string;
  beforeAll(async () => {
    sink = await startSink();
    dir = mkdtempSync(join(tmpdir(), 'tally-spool-'));
  });
  afterAll(async () => {
    await sink.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('delivers every tracked event exactly once after the host is killed mid-stream and restarted', async () => {
    const spool = join(dir, 'events.spool');
    const first = startHost({ ENDPOINT: sink.url, SPOOL: spool });
    await until(() => first.lastTracked >= 2000 && sink.events.size > 0);
    sink.fail({ status: 503 }); // the server stalls: un-acknowledged events pile up in the spool
    const stalledAt = first.lastTracked;
    await until(() => first.lastTracked >= stalledAt + 1000);
    first.kill();
    await first.exited;
    const killedAfter = first.lastTracked;
    const beforeRestart = sink.events.size;
    expect(beforeRestart).toBeLessThan(killedAfter + 1); // some tracked events had not arrived

    sink.fail(undefined);
    const second = startHost({ ENDPOINT: sink.url, SPOOL: spool, START: '1000000', COUNT: '500' });
    expect(await second.exited).toBe(0);

    const perSeq = new Map<number, number>();
    for (const e of sink.events.values()) perSeq.set(e.data.seq as number, (perSeq.get(e.data.seq as number) ?? 0) + 1);
    const expected = [...Array.from({ length: killedAfter + 1 }, (_, i) => i), ...Array.from({ length: 500 }, (_, i) => 1_000_000 + i)];
    expect(expected.filter((s) => perSeq.get(s) !== 1)).toEqual([]); // every tracked event, once
    // Events tracked in the burst cut short by the kill may or may not have made it to the spool.
    const extra = [...perSeq.keys()].filter((s) => s > killedAfter && s < 1_000_000);
    expect(extra.every((s) => s <= killedAfter + 20 && perSeq.get(s) === 1)).toBe(true);
    const stats = second.result?.stats;
    expect(stats?.replayed).toBeGreaterThan(0);
    expect(stats?.acknowledged).toBe(sink.events.size - beforeRestart); // replayed-and-new plus the 500
    expect((stats?.acknowledged ?? 0) + (stats?.duplicates ?? 0)).toBe((stats?.replayed ?? 0) + 500);
    expect(second.result).toMatchObject({ lost: 0, spooled: 0 });
  });
});
