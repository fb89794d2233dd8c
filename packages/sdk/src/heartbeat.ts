import type { TallyClient } from './client.ts';
import type { ClientStats } from './types.ts';
import { uuidv7 } from './uuid.ts';

/** The event type of a client heartbeat (the one `tally.` type clients may send). */
export const CLIENT_STATS_TYPE = 'tally.client.stats';

/** Options of {@link startStatsHeartbeat}. */
export interface HeartbeatOptions {
  /** The tenant the heartbeats are filed under (the operator's own tenant). */
  tenant: string;
  /** The client's `source` (what the server compares against the events it stored from that source). */
  source: string;
  /** How often to report (default 60 s). */
  intervalMs?: number;
  /** Clock (ms), for tests. */
  now?: () => number;
}

/** A running heartbeat. */
export interface Heartbeat {
  /** Reports now (also used on shutdown for the last interval). */
  beat(): void;
  stop(): void;
}

/**
 * Reports what this client sent and what the server acknowledged, as a `tally.client.stats`
 * event every interval: the differences of `client.stats()` since the previous beat, over
 * [from, to) of this process's clock. The server's reconciliation compares `accepted` with the
 * events it stored from `source` in that window (docs/audit.md). Reads only `stats()`: nothing is
 * added to the client's hot path.
 */
export function startStatsHeartbeat(client: TallyClient, o: HeartbeatOptions): Heartbeat {
  const now = o.now ?? Date.now;
  const instance = uuidv7();
  let seq = 0;
  let last: ClientStats = client.stats();
  let lastAt = now();
  const beat = () => {
    const s = client.stats();
    const at = now();
    client.track({
      type: CLIENT_STATS_TYPE,
      tenant: o.tenant,
      source: o.source,
      id: `${instance}-${seq}`,
      time: at,
      properties: {
        instance,
        seq: seq++,
        from: new Date(lastAt).toISOString(),
        to: new Date(at).toISOString(),
        sent: s.sent - last.sent,
        accepted: s.acknowledged - last.acknowledged,
        duplicates: s.duplicates - last.duplicates,
        rejected: s.rejected - last.rejected,
        dropped: s.dropped - last.dropped,
      },
    });
    last = s;
    lastAt = at;
  };
  const timer = setInterval(beat, o.intervalMs ?? 60_000);
  timer.unref?.();
  return { beat, stop: () => clearInterval(timer) };
}
