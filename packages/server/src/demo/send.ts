import { setTimeout as sleep } from 'node:timers/promises';
import { DemoTraffic, type DemoEvent } from './generator.ts';
import { ShapedRate } from './shape.ts';
import { journeyEvents } from './journeys.ts';

/** Totals of a demo run. */
export interface DemoTotals {
  sent: number;
  accepted: number;
  duplicates: number;
  rejected: number;
  retries: number;
}

/** Options of {@link sendDemo}. */
export interface SendDemoOptions {
  url: string;
  key: string;
  tenants: number;
  seed?: number;
  /** Volume mode: this many events, timestamps spread over the last `historyHours`. */
  events?: number;
  historyHours?: number;
  /** Also send product journeys (signup → project → invite → upgrade, returning sessions) over this many weeks. */
  journeyWeeks?: number;
  /** Live mode: events per second at the current time, until `signal` aborts. */
  rate?: number;
  /**
   * Shape traffic like a working week (demo/shape.ts): `rate` is the weekday peak, nights and
   * weekends are quieter, tenants grow and churn. With `historyDays`, sends that many days of
   * history at the shaped rate (newest minute first, so recent charts fill first) and returns;
   * without it, sends live at the shaped rate of the current time.
   */
  shaped?: { historyDays?: number; endMs: number };
  batchSize?: number;
  concurrency?: number;
  signal?: AbortSignal;
  onProgress?: (t: DemoTotals) => void;
}

interface IngestAnswer {
  accepted: number;
  duplicates: number;
  rejected: number;
}

/** POSTs one batch, retrying network errors, 429 and 5xx with the same ids (the server dedupes). */
async function post(url: string, key: string, batch: DemoEvent[], totals: DemoTotals, signal?: AbortSignal): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    try {
      const res = await fetch(`${url}/v1/events`, {
        method: 'POST',
        headers: { authorization: `Bearer ${key}`, 'content-type': 'application/cloudevents-batch+json' },
        body: JSON.stringify(batch),
        signal: signal ?? null,
      });
      if (res.status === 200 || res.status === 400) {
        const body = (await res.json()) as IngestAnswer | { error: { code: string; message: string } };
        if ('error' in body) {
          if (body.error.code === 'UNAUTHENTICATED' || body.error.code === 'FORBIDDEN') throw new Error(`${body.error.code}: ${body.error.message}`);
          totals.rejected += batch.length;
        } else {
          totals.accepted += body.accepted;
          totals.duplicates += body.duplicates;
          totals.rejected += body.rejected;
        }
        return;
      }
      if (res.status === 401 || res.status === 403) throw new Error(`the server refused the key (${res.status}): ${await res.text()}`);
      if (res.status < 500 && res.status !== 429) throw new Error(`unexpected ${res.status}: ${await res.text()}`);
    } catch (err) {
      if (signal?.aborted || /refused the key|unexpected|UNAUTHENTICATED|FORBIDDEN/.test((err as Error).message)) throw err;
    }
    totals.retries++;
    await sleep(Math.min(5000, 100 * 2 ** Math.min(attempt, 6)) * (0.5 + Math.random()));
  }
}

/**
 * Sends demo traffic to a running server: a fixed volume spread over recent history, or a
 * live rate until aborted. Several batches are in flight at once.
 */
export async function sendDemo(o: SendDemoOptions): Promise<DemoTotals> {
  const traffic = new DemoTraffic({ tenants: o.tenants, seed: o.seed ?? 42, ...(o.shaped ? { trendEndMs: o.shaped.endMs } : {}) });
  const totals: DemoTotals = { sent: 0, accepted: 0, duplicates: 0, rejected: 0, retries: 0 };
  const batchSize = o.batchSize ?? 500;
  const inFlight = new Set<Promise<void>>();
  const concurrency = o.concurrency ?? 4;
  const launch = async (batch: DemoEvent[]) => {
    while (inFlight.size >= concurrency) await Promise.race(inFlight);
    const p = post(o.url, o.key, batch, totals, o.signal).then(() => o.onProgress?.(totals));
    inFlight.add(p);
    void p.finally(() => inFlight.delete(p)).catch(() => undefined);
    totals.sent += batch.length;
  };
  if (o.shaped?.historyDays !== undefined) {
    const minute = 60_000;
    const rate = new ShapedRate(o.rate ?? 5);
    let batch: DemoEvent[] = [];
    for (let t = o.shaped.endMs - minute; t >= o.shaped.endMs - o.shaped.historyDays * 86_400_000 && !o.signal?.aborted; t -= minute) {
      const n = rate.due(t, minute);
      for (let k = 0; k < n; k++) batch.push(traffic.next(t + Math.floor((k / n) * minute)));
      if (batch.length >= batchSize) {
        await launch(batch);
        batch = [];
      }
    }
    if (batch.length > 0 && !o.signal?.aborted) await launch(batch);
  } else if (o.events !== undefined) {
    const spanMs = (o.historyHours ?? 24) * 3_600_000;
    const end = Date.now();
    for (let i = 0; i < o.events; i += batchSize) {
      const n = Math.min(batchSize, o.events - i);
      const batch = Array.from({ length: n }, (_, k) => traffic.next(end - spanMs + Math.floor(((i + k) / o.events!) * spanMs)));
      await launch(batch);
    }
  } else {
    const rate = o.rate ?? 50;
    const tickMs = 250;
    const shapedRate = o.shaped ? new ShapedRate(rate) : undefined;
    let carry = 0;
    let last = Date.now();
    while (!o.signal?.aborted) {
      let n: number;
      if (shapedRate) {
        // Due for the time that really passed: a tick delayed by a slow answer catches up.
        const now = Date.now();
        n = shapedRate.due(last, now - last);
        last = now;
      } else {
        carry += (rate * tickMs) / 1000;
        n = Math.floor(carry);
        carry -= n;
      }
      if (n > 0) await launch(Array.from({ length: n }, () => traffic.next(Date.now())));
      await sleep(tickMs, undefined, { signal: o.signal }).catch(() => undefined);
    }
  }
  if (o.journeyWeeks !== undefined && o.journeyWeeks > 0) {
    const journeys = journeyEvents({ tenants: traffic.tenants.map((t) => t.id), weeks: o.journeyWeeks, endMs: Date.now(), seed: o.seed ?? 42 });
    for (let i = 0; i < journeys.length; i += batchSize) await launch(journeys.slice(i, i + batchSize));
  }
  await Promise.all(inFlight);
  return totals;
}
