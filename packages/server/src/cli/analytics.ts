import type { Command } from 'commander';
import type { AdoptionAnswer } from '../analytics/adoption.ts';
import type { FunnelAnswer } from '../analytics/funnel.ts';
import type { RetentionAnswer } from '../analytics/retention.ts';
import { api, CliError, resolveClient } from './client.ts';
import { renderTable } from './table.ts';

type Conn = { url?: string; key?: string; json?: boolean; csv?: boolean; from?: string; to?: string; tenant?: string[] };
const collect = (v: string, prev: string[] = []) => [...prev, v];
const pct = (x: number) => `${(x * 100).toFixed(1)} %`;
const out = (s: string): void => void process.stdout.write(s.endsWith('\n') ? s : `${s}\n`);

function common(c: Command): Command {
  return c
    .option('--from <time>', 'RFC 3339 start (inclusive); default 30 days before --to')
    .option('--to <time>', 'RFC 3339 end (exclusive); default now')
    .option('--tenant <id>', 'only this tenant (repeatable)', collect)
    .option('--json', 'print the JSON answer')
    .option('--csv', 'print CSV')
    .option('--url <url>', 'server URL')
    .option('--key <key>', 'read or admin key');
}

/** Calls the API and prints JSON, CSV, or the table `render` makes of the answer. */
async function run<T>(o: Conn, method: 'GET' | 'POST', path: string, body: unknown, render: (a: T) => string): Promise<void> {
  if (o.json && o.csv) throw new CliError('choose one of --json and --csv');
  const c = resolveClient(o);
  if (o.csv) return out((await api(c, method, path, body, 'text/csv')).text);
  const r = (await api(c, method, path, body)).json as T;
  out(o.json ? JSON.stringify(r, null, 2) : render(r));
}

function query(params: Record<string, string | string[] | undefined>): string {
  const u = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) for (const x of [v ?? []].flat()) u.append(k, x);
  return u.toString();
}

/** Parses `type` or `type:prop=value` into a step. */
function step(text: string): { eventType: string; filter?: Record<string, string> } {
  const [type, f] = text.split(':', 2) as [string, string | undefined];
  if (!f) return { eventType: type };
  const i = f.indexOf('=');
  if (i <= 0) throw new CliError(`a step is type or type:property=value, got "${text}"`);
  return { eventType: type, filter: { [f.slice(0, i)]: f.slice(i + 1) } };
}

const label = (a: { approximate: boolean; errorBound?: unknown }) => (a.approximate ? `approximate: true, bound ${JSON.stringify(a.errorBound)}` : 'exact (approximate: false)');

/** `tally analytics funnel|retention|adoption|top|trends|percentiles|uniques`: product analytics through the API. */
export function analyticsCommand(program: Command): void {
  const an = program.command('analytics').description('product analytics: funnels, retention, adoption, top-N, trends, percentiles');
  common(an.command('funnel').description('subjects reaching each step in order within --window of their first step 1').argument('<steps...>', 'event types in order (type or type:property=value)').option('--window <seconds>', 'seconds from step 1 (default 1 day)', '86400').option('--by <subject>', 'actor | tenant', 'actor').option('--plan <plan>', 'only tenants on this plan').option('--breakdown <property>', 'split by a property of the first step-1 event')).action(
    async (steps: string[], o: Conn & { window: string; by: string; plan?: string; breakdown?: string }) => {
      const now = new Date();
      const body = { steps: steps.map(step), windowSeconds: Number(o.window), from: o.from ?? new Date(now.getTime() - 30 * 86_400_000).toISOString(), to: o.to ?? now.toISOString(), by: o.by, ...(o.tenant ? { tenant: o.tenant } : {}), ...(o.plan ? { plan: o.plan } : {}), ...(o.breakdown ? { breakdown: o.breakdown } : {}) };
      await run<FunnelAnswer>(o, 'POST', '/v1/analytics/funnel', body, (a) =>
        [renderTable(['step', 'event type', 'subjects', 'conversion', 'from previous', 'median s from previous'], a.steps.map((s, i) => [String(i + 1), s.eventType, String(s.count), pct(s.conversion), pct(s.conversionFromPrevious), s.medianSecondsFromPrevious === null ? '' : `${s.medianSecondsFromPrevious} s`])), label(a)].join('\n'),
      );
    },
  );
  common(an.command('retention').description('cohorts by the period of the first start event, and who returns in each following period').requiredOption('--start <type>', 'start event type').requiredOption('--return <type>', 'return event type').option('--period <p>', 'DAY | WEEK | MONTH', 'WEEK').option('--periods <n>', 'following periods', '12').option('--tz <zone>', 'IANA time zone', 'UTC').option('--by <subject>', 'actor | tenant', 'actor')).action(
    async (o: Conn & { start: string; return: string; period: string; periods: string; tz: string; by: string }) => {
      const now = new Date();
      const body = { startEvent: step(o.start), returnEvent: step(o.return), period: o.period.toUpperCase(), periods: Number(o.periods), from: o.from ?? new Date(now.getTime() - 90 * 86_400_000).toISOString(), to: o.to ?? now.toISOString(), by: o.by, timeZone: o.tz, ...(o.tenant ? { tenant: o.tenant } : {}) };
      await run<RetentionAnswer>(o, 'POST', '/v1/analytics/retention', body, (a) =>
        [renderTable(['cohort', 'size', ...Array.from({ length: a.periods + 1 }, (_, i) => `+${i}`)], a.cohorts.map((c) => [c.cohort, String(c.size), ...c.returning.map((n, i) => (i < c.observed ? `${n} (${c.size ? pct(n / c.size) : '0 %'})` : ''))])), `${a.period.toLowerCase()} cohorts in ${a.timeZone}; ${label(a)}`].join('\n'),
      );
    },
  );
  common(an.command('adoption').description('who uses which feature: tenants and end users per period, shares, first use, buckets').option('--event-type <type>', 'feature event type', 'feature.used').option('--dimension <property>', 'feature property', 'feature').option('--period <p>', 'DAY | WEEK | MONTH', 'WEEK').option('--tz <zone>', 'IANA time zone', 'UTC').option('--plan <plan>', 'only tenants on this plan')).action(
    async (o: Conn & { eventType: string; dimension: string; period: string; tz: string; plan?: string }) => {
      const q = query({ eventType: o.eventType, dimension: o.dimension, period: o.period.toUpperCase(), timeZone: o.tz, from: o.from, to: o.to, tenant: o.tenant, plan: o.plan });
      await run<AdoptionAnswer>(o, 'GET', `/v1/analytics/adoption?${q}`, undefined, (a) =>
        [renderTable(['feature', 'tenants', 'tenant share', 'end users', 'user share', 'first use', 'bucket'], a.features.map((f) => [f.feature, String(f.tenants), pct(f.tenantShare), String(f.users), pct(f.userShare), f.firstUse, f.bucket ?? ''])), `${a.activeTenants} active tenants, ${a.activeUsers} active end users; ${label(a)}`].join('\n'),
      );
    },
  );
  common(an.command('top').description('top-N of a COUNT or SUM meter with share and cumulative share').requiredOption('--meter <slug>').option('--by <dim>', '"tenant" or a dimension', 'tenant').option('--limit <n>', 'items', '10').option('--approximate', 'Space-Saving over raw events (high-cardinality), labelled').option('--counters <n>', 'Space-Saving counters')).action(
    async (o: Conn & { meter: string; by: string; limit: string; approximate?: boolean; counters?: string }) => {
      const q = query({ meter: o.meter, by: o.by, limit: o.limit, from: o.from, to: o.to, tenant: o.tenant, approximate: o.approximate ? 'true' : undefined, counters: o.counters });
      await run<{ total: string; items: { rank: number; key: string | null; value: string; share: number; cumulativeShare: number }[]; approximate: boolean; errorBound?: unknown }>(o, 'GET', `/v1/analytics/top?${q}`, undefined, (a) =>
        [renderTable(['#', o.by, 'value', 'share', 'cumulative'], a.items.map((i) => [String(i.rank), i.key, i.value, pct(i.share), pct(i.cumulativeShare)])), `total ${a.total}; ${label(a)}`].join('\n'),
      );
    },
  );
  common(an.command('trends').description('a meter against the period of the same length before it').requiredOption('--meter <slug>')).action(async (o: Conn & { meter: string }) => {
    await run<{ current: { from: string; to: string; value: string | null }; previous: { from: string; to: string; value: string | null }; changePercent: string | null; approximate: boolean }>(o, 'GET', `/v1/analytics/trends?${query({ meter: o.meter, from: o.from, to: o.to, tenant: o.tenant })}`, undefined, (a) =>
      [renderTable(['period', 'from', 'to', 'value'], [['current', a.current.from, a.current.to, a.current.value], ['previous', a.previous.from, a.previous.to, a.previous.value]]), `change ${a.changePercent === null ? 'n/a' : `${a.changePercent} %`}; ${label(a)}`].join('\n'),
    );
  });
  common(an.command('percentiles').description('p50/p90/p95/p99 of a valued meter from raw events').requiredOption('--meter <slug>').option('--approximate', 'DDSketch, ±1 % relative, labelled')).action(async (o: Conn & { meter: string; approximate?: boolean }) => {
    await run<{ count: number; percentiles: Record<string, string | null>; approximate: boolean; errorBound: unknown }>(o, 'GET', `/v1/analytics/percentiles?${query({ meter: o.meter, from: o.from, to: o.to, tenant: o.tenant, approximate: o.approximate ? 'true' : undefined })}`, undefined, (a) =>
      [renderTable(['percentile', 'value'], Object.entries(a.percentiles).map(([k, v]) => [k, v])), `${a.count} values; ${label(a)}`].join('\n'),
    );
  });
  common(an.command('uniques').description('approximate distinct values of a UNIQUE_COUNT meter (HyperLogLog)').requiredOption('--meter <slug>')).action(async (o: Conn & { meter: string }) => {
    await run<{ estimate: number; approximate: boolean; errorBound: unknown }>(o, 'GET', `/v1/analytics/uniques?${query({ meter: o.meter, from: o.from, to: o.to, tenant: o.tenant })}`, undefined, (a) => `≈ ${a.estimate} distinct values; ${label(a)}`);
  });
}
