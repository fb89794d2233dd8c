import { CLIENT_STATS_TYPE } from '../../ingest/ingest-service.ts';
import { parseRfc3339 } from '../../shared/time.ts';
import type { UsageStore } from '../../store/port.ts';
import { compare, type ReconcileRule, type RuleResult } from './rule.ts';

const NAME = 'cross-source.sdk-vs-stored';

/** Clock difference between an SDK host and the server tolerated at the edges of a window. */
export const SDK_SKEW_MICROS = 2_000_000;

interface Beat {
  id: string;
  instance: string;
  seq: number;
  from: number;
  to: number;
  accepted: number;
}

/**
 * `cross-source.sdk-vs-stored`: what the SDK says the server accepted (its `tally.client.stats`
 * heartbeats, per source, whose intervals end in the day) equals the events the store holds from
 * that source, ingested in the heartbeats' window (first `from` to last `to`, ± 2 s of clock
 * skew). Heartbeats themselves count on both sides (the SDK sends them like any event), except
 * each instance's last one, whose acknowledgement no heartbeat has reported yet. Exact
 * when only SDK instances that send heartbeats use the source; a missed heartbeat shows as
 * stored > claimed, a client (or a store) losing acknowledged events as claimed > stored.
 */
export function sdkRule(store: UsageStore): ReconcileRule {
  return {
    name: NAME,
    description: "per SDK source and day: events the SDK's heartbeats say were accepted equal the events stored from that source in the same window",
    async check(s) {
      const bySource = new Map<string, { tenant: string; beats: Beat[] }>();
      for await (const page of store.scanEvents(CLIENT_STATS_TYPE, s.from, s.to)) {
        for (const e of page) {
          const d = e.data as Record<string, unknown>;
          const from = parseRfc3339(String(d.from));
          const to = parseRfc3339(String(d.to));
          if (from === undefined || to === undefined || typeof d.accepted !== 'number') continue;
          let g = bySource.get(e.source);
          if (!g) bySource.set(e.source, (g = { tenant: e.tenant, beats: [] }));
          g.beats.push({ id: e.id, instance: String(d.instance), seq: Number(d.seq), from, to, accepted: d.accepted });
        }
      }
      const results: RuleResult[] = [];
      for (const [source, g] of [...bySource].sort()) {
        const from = Math.min(...g.beats.map((b) => b.from)) - SDK_SKEW_MICROS;
        const to = Math.max(...g.beats.map((b) => b.to)) + SDK_SKEW_MICROS;
        const claimed = g.beats.reduce((n, b) => n + b.accepted, 0);
        // The last heartbeat of an instance is stored, but its own acknowledgement is reported only by the next one.
        const lastOf = new Map<string, Beat>();
        for (const b of g.beats) if ((lastOf.get(b.instance)?.seq ?? -1) < b.seq) lastOf.set(b.instance, b);
        const unreported = new Set([...lastOf.values()].map((b) => b.id));
        let stored = 0;
        let after: [number, string, string] | undefined;
        for (;;) {
          const page = await store.listEvents({ ingestedFrom: from, ingestedTo: to, limit: 10_000, ...(after ? { after } : {}) });
          stored += page.filter((e) => e.source === source && !(e.type === CLIENT_STATS_TYPE && unreported.has(e.id))).length;
          if (page.length < 10_000) break;
          const last = page[page.length - 1]!;
          after = [last.time, last.tenant, last.id];
        }
        results.push(compare(NAME, { source, day: s.day, instances: String(new Set(g.beats.map((b) => b.instance)).size), heartbeats: String(g.beats.length) }, BigInt(stored), BigInt(claimed), 'events'));
      }
      return results;
    },
  };
}
