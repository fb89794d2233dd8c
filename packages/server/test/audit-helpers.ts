import { join } from 'node:path';
import { loadConfig } from '../src/config/load.ts';
import { DemoTraffic } from '../src/demo/generator.ts';
import type { MeterDefinition } from '../src/meters/meter.ts';
import type { UsageQuery, UsageRow } from '../src/usage/query-service.ts';

/** The meters of the repository's tally.config.yaml (the demo data's meters). */
export const DEMO_METERS: MeterDefinition[] = loadConfig(join(import.meta.dirname, '..', '..', '..', 'tally.config.yaml'), {}).meters;

/** `n` demo events spread evenly over [fromMs, toMs) (seeded). */
export function demoEvents(n: number, fromMs: number, toMs: number, seed = 7, tenants = 8): Record<string, unknown>[] {
  const t = new DemoTraffic({ tenants, seed });
  return Array.from({ length: n }, (_, i) => t.next(fromMs + Math.floor(((toMs - fromMs) * i) / n)) as unknown as Record<string, unknown>);
}

/** Asks one usage question (an HTTP node, a QueryService…) and returns the rows. */
export type Ask = (q: UsageQuery) => Promise<UsageRow[]>;

/**
 * Every meter's answers over [from, to): per UTC day and tenant, and over the whole range per
 * tenant and every dimension. Keyed "meter/shape" → rows, so two stores can be diffed.
 */
export async function everyAnswer(ask: Ask, meters: readonly MeterDefinition[], from: number, to: number): Promise<Map<string, UsageRow[]>> {
  const out = new Map<string, UsageRow[]>();
  for (const m of meters) {
    out.set(`${m.slug}/day×tenant`, await ask({ meter: m.slug, from, to, windowSize: 'DAY', groupBy: ['tenant'] }));
    out.set(`${m.slug}/tenant×dims`, await ask({ meter: m.slug, from, to, groupBy: ['tenant', ...Object.keys(m.groupBy)] }));
  }
  return out;
}

/** The keys whose answers differ between two `everyAnswer` results (empty: identical). */
export function diffAnswers(a: Map<string, UsageRow[]>, b: Map<string, UsageRow[]>): string[] {
  return [...new Set([...a.keys(), ...b.keys()])].filter((k) => JSON.stringify(a.get(k)) !== JSON.stringify(b.get(k)));
}

/** An `Ask` through an API node's GET /v1/meters/{slug}/query. */
export function askHttp(url: string, key: string): Ask {
  return async (q) => {
    const p = new URLSearchParams({ from: new Date(q.from! / 1000).toISOString(), to: new Date(q.to! / 1000).toISOString(), limit: '100000' });
    if (q.windowSize) p.set('windowSize', q.windowSize);
    if (q.groupBy?.length) p.set('groupBy', q.groupBy.join(','));
    const res = await fetch(`${url}/v1/meters/${q.meter}/query?${p}`, { headers: { authorization: `Bearer ${key}` } });
    if (res.status !== 200) throw new Error(`query ${q.meter}: ${res.status} ${await res.text()}`);
    return ((await res.json()) as { data: UsageRow[] }).data;
  };
}
