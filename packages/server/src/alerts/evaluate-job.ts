import type { JobDefinition } from '../jobs/job.ts';
import { formatMicros } from '../shared/time.ts';
import type { Dispatcher } from './dispatcher.ts';
import { applyFindings } from './lifecycle.ts';
import type { AlertRepos } from './repos.ts';
import { sourceFor } from './sources/index.ts';
import { memoQueries, type SourceContext } from './sources/context.ts';

/** The range of a scheduled run: the minute (or, for a 6-field schedule, the second) it is for. */
export function evaluationRange(schedule: string, now: number): string {
  const iso = formatMicros(now);
  return schedule.trim().split(/\s+/).length === 6 ? `${iso.slice(0, 19)}Z` : `${iso.slice(0, 16)}Z`;
}

/**
 * `alerts-evaluate:<time>`: every enabled rule's source reads what it watches and the alert
 * lifecycle applies the findings (firing, resolved, re-notify), enqueueing messages in the
 * persisted outbox. A job of the one runner, so in the distributed profile it runs on one node
 * at a time; and because alerts are deduplicated by rule and subject in the store, a run on
 * another node a second later finds them firing and sends nothing twice.
 */
export function alertsEvaluateJob(repos: AlertRepos, sources: SourceContext, dispatcher: Dispatcher, schedule: string): JobDefinition {
  return {
    name: 'alerts-evaluate',
    description: 'evaluates alert rules (quota, traffic, data health, billing) and enqueues notifications',
    schedule,
    rangeAt: (now) => evaluationRange(schedule, now),
    async run(ctx) {
      const rules = (await repos.rules()).filter((r) => r.enabled);
      const endpoints = await repos.endpoints();
      const total = { rules: rules.length, findings: 0, fired: 0, reopened: 0, resolved: 0, events: 0, messages: 0, errors: [] as string[] };
      const run = { ...sources, queries: memoQueries(sources.queries) };
      for (const rule of rules) {
        try {
          const findings = await sourceFor(rule.kind)(rule, run, ctx.now);
          total.findings += findings.length;
          const a = await applyFindings(repos, rule, findings, endpoints, ctx.now, ctx.assertHeld);
          total.fired += a.fired;
          total.reopened += a.reopened;
          total.resolved += a.resolved;
          total.events += a.events;
          total.messages += a.messages;
        } catch (err) {
          // One rule failing (its meter deleted…) does not stop the others; the run reports it.
          if (/lost the lease/.test((err as Error).message)) throw err;
          total.errors.push(`${rule.id}: ${(err as Error).message}`);
        }
      }
      if (total.messages > 0) dispatcher.kick();
      if (total.errors.length > 0 && total.errors.length === rules.length) throw new Error(total.errors.join('; '));
      return total;
    },
  };
}
