import type { UsageStore } from '../../store/port.ts';
import { scanEffective } from '../corrections/effective-events.ts';
import type { AccessLogSummary } from './access-log.ts';
import { compare, type RuleResult } from './rule.ts';

const NAME = 'cross-source.access-log-vs-events';

/** Seconds added at both ends of the log's window: access logs have whole seconds and log at the end of a request, the SDK at its start. */
export const ACCESS_LOG_TOLERANCE_SECONDS = 1;

/**
 * `cross-source.access-log-vs-events`: the requests of an access log (per method and status
 * class, and in total) equal the `api.request` events stored for the log's window, widened by
 * {@link ACCESS_LOG_TOLERANCE_SECONDS} at both ends (optionally one tenant's only). Expected is
 * the log, actual what Tally stored: requests Tally never saw are a negative difference.
 */
export async function checkAccessLog(store: UsageStore, log: AccessLogSummary, opts: { tenant?: string; eventType?: string } = {}): Promise<RuleResult[]> {
  const from = log.from - ACCESS_LOG_TOLERANCE_SECONDS * 1_000_000;
  const to = log.to + (ACCESS_LOG_TOLERANCE_SECONDS + 1) * 1_000_000;
  const stored = new Map<string, number>();
  let total = 0;
  for await (const page of scanEffective(store, opts.eventType ?? 'api.request', from, to, opts.tenant ? [opts.tenant] : undefined)) {
    for (const e of page) {
      const d = e.data as { method?: unknown; status?: unknown };
      const k = `${String(d.method)} ${Math.floor(Number(d.status) / 100)}xx`;
      stored.set(k, (stored.get(k) ?? 0) + 1);
      total++;
    }
  }
  const scope = { log: log.name, format: log.format, from: new Date(log.from / 1000).toISOString(), to: new Date(log.to / 1000).toISOString(), ...(opts.tenant ? { tenant: opts.tenant } : {}) };
  const results: RuleResult[] = [compare(NAME, { ...scope, requests: 'all' }, BigInt(log.counts.reduce((n, c) => n + c.requests, 0)), BigInt(total), 'requests')];
  const keys = new Set([...log.counts.map((c) => `${c.method} ${c.statusClass}`), ...stored.keys()]);
  for (const k of [...keys].sort()) {
    const [method, statusClass] = k.split(' ') as [string, string];
    results.push(compare(NAME, { ...scope, method, statusClass }, BigInt(log.counts.find((c) => c.method === method && c.statusClass === statusClass)?.requests ?? 0), BigInt(stored.get(k) ?? 0), 'requests'));
  }
  if (log.unreadable > 0) results.push({ rule: NAME, scope: { ...scope, lines: 'unreadable' }, status: 'discrepancy', expected: '0', actual: String(log.unreadable), difference: String(log.unreadable), unit: 'lines' });
  return results;
}

export { NAME as ACCESS_LOG_RULE };
