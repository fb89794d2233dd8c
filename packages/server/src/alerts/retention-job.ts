import type { JobDefinition } from '../jobs/job.ts';
import { MICROS_PER_DAY, formatMicros } from '../shared/time.ts';
import type { AlertRepos } from './repos.ts';

/**
 * `alerts-retention:<YYYY-MM-DD>`: removes alert history older than `historyDays` (resolved and
 * one-shot alerts, delivered and dead messages, delivery attempts; never a firing alert or a
 * pending message). A job of the one runner, so it runs once across nodes; a re-run of the same
 * day finds nothing left to remove. The cut-off is the start of the run's UTC day minus
 * `historyDays`, so every node and every re-run computes the same one.
 */
export function alertsRetentionJob(repos: AlertRepos, historyDays: number, schedule: string): JobDefinition {
  return {
    name: 'alerts-retention',
    description: `removes alert history older than ${historyDays} days (resolved alerts, finished deliveries)${historyDays === 0 ? ' — disabled (historyDays 0)' : ''}`,
    schedule,
    rangeAt: (now) => formatMicros(now).slice(0, 10),
    async run(ctx) {
      if (historyDays === 0) return { historyDays, removed: { alerts: 0, messages: 0, attempts: 0 } };
      const day = /^\d{4}-\d{2}-\d{2}$/.test(ctx.range) ? Date.parse(`${ctx.range}T00:00:00Z`) * 1000 : Math.floor(ctx.now / MICROS_PER_DAY) * MICROS_PER_DAY;
      const before = day - historyDays * MICROS_PER_DAY;
      const removed = await repos.pruneHistory(before, ctx.assertHeld);
      return { historyDays, before: formatMicros(before), removed };
    },
  };
}
