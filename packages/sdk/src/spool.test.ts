import { appendFileSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Spool } from './spool.ts';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'tally-spool-unit-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const ev = (id: string) => JSON.stringify({ id, pad: 'x'.repeat(20) });
const noFailure = (err: Error) => {
  throw err;
};

describe('Spool', () => {
  it('replays exactly the unresolved events, in order, ignoring a torn last line', () => {
    const path = join(dir, 's.spool');
    const s = new Spool(path, 1 << 20, noFailure);
    for (const id of ['a', 'b', 'c', 'd']) s.append(ev(id), ev(id).length, () => []);
    s.resolve(['b', 'd']);
    s.sync();
    s.close();
    appendFileSync(path, '{"id":"torn","pa');
    const again = new Spool(path, 1 << 20, noFailure);
    expect(again.load()).toEqual([['a', ev('a')], ['c', ev('c')]]);
    again.close();
  });

  it('compacts to the live events before it would outgrow its bound', () => {
    const path = join(dir, 's.spool');
    const max = 1000;
    const s = new Spool(path, max, noFailure);
    const live = new Map<string, string>();
    for (let i = 0; i < 200; i++) {
      const id = `e${i}`;
      s.append(ev(id), ev(id).length, () => live.entries());
      live.set(id, ev(id));
      if (live.size > 3) {
        const oldest = live.keys().next().value as string;
        live.delete(oldest);
        s.resolve([oldest]);
        s.sync();
      }
      expect(statSync(path).size).toBeLessThanOrEqual(max);
    }
    s.close();
    expect(new Spool(path, max, noFailure).load().map(([id]) => id)).toEqual([...live.keys()]);
    expect(readFileSync(path, 'utf8').length).toBeLessThanOrEqual(max);
  });
});
