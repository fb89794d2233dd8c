import { formatScaled, parseQuantity, SCALE } from '../../shared/decimal.ts';
import { MICROS_PER_DAY, MICROS_PER_MINUTE, formatMicros } from '../../shared/time.ts';
import { periodAt } from '../../quota/period.ts';
import type { Finding } from '../alert.ts';
import { inScope } from '../rule.ts';
import { scopedTenants, type Source } from './context.ts';

/** Thresholds the quota warnings already record (quota/warnings.ts): read, not recomputed. */
const RECORDED = new Set(['80%', '100%', 'projected-overage']);

/** Exact percentage check: usage × 100 ≥ limit × pct, pct with up to two decimals. */
function reaches(usage: bigint, limit: bigint, pct: string): boolean {
  const scaled = parseQuantity(pct.slice(0, -1)) as bigint; // ×10^12
  return usage * 100n * SCALE >= limit * scaled;
}

/**
 * Quota thresholds. 80 %, 100 % and projected overage are the recorded quota warnings (one per
 * tenant, meter, period and threshold, the same on every node); other percentages are checked
 * against the period's usage from the query layer. A subject lives for one period: it resolves
 * when the period ends.
 */
export const quotaSource: Source = async (rule, ctx, now) => {
  const out: Finding[] = [];
  const recorded = rule.thresholds.filter((t) => RECORDED.has(t));
  if (recorded.length > 0 && ctx.warnings) {
    const tenants = rule.scope.tenant !== undefined ? [rule.scope.tenant] : undefined;
    const warnings = await ctx.warnings.list(ctx.store, { from: now - 35 * MICROS_PER_DAY, to: now + MICROS_PER_MINUTE, meter: rule.meter!, ...(tenants ? { tenants } : {}) });
    for (const w of warnings) {
      if (!recorded.includes(w.threshold) || !inScope(rule, w.tenant, w.plan)) continue;
      if (Date.parse(w.resetAt) * 1000 <= now) continue;
      const what = w.threshold === 'projected-overage' ? `projected to exceed its limit (${w.projected} of ${w.limit})` : `at ${w.threshold} of its limit (${w.usage} of ${w.limit})`;
      out.push({ subject: `${w.tenant}/${w.meter}/${w.periodStart}/${w.threshold}`, tenant: w.tenant, summary: `${w.tenant}: ${w.meter} ${what} for the period from ${w.periodStart}`, details: { ...w, warning: w.id }, since: Date.parse(w.raisedAt) * 1000 });
    }
  }
  const computed = rule.thresholds.filter((t) => !RECORDED.has(t));
  if (computed.length === 0) return out;
  for (const tenant of scopedTenants(rule, ctx)) {
    const ent = ctx.catalog.entitlement(tenant, rule.meter!);
    if (!ent) continue;
    const period = periodAt(ent.period, now);
    const answer = await ctx.queries.query({ meter: rule.meter!, from: period.start, to: now, tenants: [tenant] });
    const usage = answer.data.reduce((s, r) => s + (r.value === null ? 0n : (parseQuantity(r.value) as bigint)), 0n);
    for (const pct of computed) {
      if (!reaches(usage, ent.limit, pct)) continue;
      const start = formatMicros(period.start);
      out.push({ subject: `${tenant}/${rule.meter}/${start}/${pct}`, tenant, summary: `${tenant}: ${rule.meter} at ${pct} of its limit (${formatScaled(usage)} of ${formatScaled(ent.limit)})`, details: { tenant, meter: rule.meter, plan: ent.plan, threshold: pct, usage: formatScaled(usage), limit: formatScaled(ent.limit), periodStart: start, resetAt: formatMicros(period.end) } });
    }
  }
  return out;
};
