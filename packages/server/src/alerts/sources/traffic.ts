import { MICROS_PER_DAY, MICROS_PER_MINUTE, formatMicros } from '../../shared/time.ts';
import { judge } from '../baseline.ts';
import type { Finding } from '../alert.ts';
import { inScope, type Rule } from '../rule.ts';
import type { Source, SourceContext } from './context.ts';

const WEEK = 7 * MICROS_PER_DAY;

/** Usage per tenant of the rule's meter in [from, to), from the rollups through the query layer. */
async function perTenant(rule: Rule, ctx: SourceContext, from: number, to: number): Promise<Map<string, number>> {
  const answer = await ctx.queries.query({ meter: rule.meter!, from, to, groupBy: ['tenant'], ...(rule.scope.tenant !== undefined ? { tenants: [rule.scope.tenant] } : {}) });
  // Statistics in floating point: alerting compares against a band, it never bills.
  return new Map(answer.data.map((r) => [r.tenant!, r.value === null ? 0 : Number(r.value)]));
}

/**
 * Traffic drop, silence and spike against each tenant's own seasonal baseline: the last
 * `windowMinutes` (ending at the last whole minute) compared with the same stretch of each of
 * the past `weeks` weeks (same hour of day, same day of week), median/MAD (baseline.ts).
 */
export const trafficSource: Source = async (rule, ctx, now) => {
  const kind = rule.kind as 'traffic-drop' | 'traffic-spike' | 'traffic-silence';
  const p = rule.anomaly;
  const to = Math.floor(now / MICROS_PER_MINUTE) * MICROS_PER_MINUTE;
  const from = to - p.windowMinutes * MICROS_PER_MINUTE;
  const observed = await perTenant(rule, ctx, from, to);
  const history: Map<string, number>[] = [];
  for (let k = 1; k <= p.weeks; k++) history.push(await perTenant(rule, ctx, from - k * WEEK, to - k * WEEK));
  const tenants = new Set(history.flatMap((h) => [...h.keys()]));
  const out: Finding[] = [];
  for (const tenant of tenants) {
    if (!inScope(rule, tenant, ctx.catalog.planOf(tenant)?.id)) continue;
    // Weeks before the tenant's first traffic are not part of its baseline.
    const firstWeek = history.reduce((last, h, i) => (h.has(tenant) ? i : last), -1);
    const samples = history.slice(0, firstWeek + 1).map((h) => h.get(tenant) ?? 0);
    const j = judge(kind, observed.get(tenant) ?? 0, samples, { sensitivity: p.sensitivity, minChange: p.minChange, minBaseline: Number(p.minBaseline) });
    if (!j.fires) continue;
    const what = kind === 'traffic-silence' ? `no ${rule.meter} at all` : `${rule.meter} ${j.observed} vs a usual ${j.median} (${kind === 'traffic-drop' ? 'below' : 'above'} ${j.bound.toFixed(1)})`;
    out.push({
      subject: `${tenant}/${rule.meter}`,
      tenant,
      summary: `${tenant}: ${kind.slice(8)} — ${what} in the ${p.windowMinutes} min to ${formatMicros(to)}`,
      details: { meter: rule.meter, windowStart: formatMicros(from), windowEnd: formatMicros(to), observed: j.observed, median: j.median, mad: j.mad, bound: j.bound, weeks: samples.length, approximate: true },
    });
  }
  return out;
};
