import { parseQuantity, SCALE } from '../../shared/decimal.ts';
import { MICROS_PER_MINUTE, formatMicros } from '../../shared/time.ts';
import type { Finding } from '../alert.ts';
import { tenantIngestTotals } from '../ingest-stats.ts';
import { inScope } from '../rule.ts';
import type { Source } from './context.ts';

/**
 * A tenant's ingest rejection rate over the last `rejection.windowMinutes` whole receive minutes,
 * from the `tally.ingest.stats` events every node records (alerts/ingest-stats.ts): fires when
 * the tenant sent at least `minEvents` and rejected × 100 ≥ rate × sent (exact integers).
 */
export const ingestRejectionsSource: Source = async (rule, ctx, now) => {
  const p = rule.rejection;
  const to = Math.floor(now / MICROS_PER_MINUTE) * MICROS_PER_MINUTE;
  const from = to - p.windowMinutes * MICROS_PER_MINUTE;
  const rate = parseQuantity(p.rate.slice(0, -1)) as bigint; // ×10^12
  const out: Finding[] = [];
  for (const [tenant, c] of await tenantIngestTotals(ctx.store, from, to, rule.scope.tenant)) {
    const sent = c.accepted + c.duplicates + c.rejected;
    if (sent < p.minEvents || c.rejected === 0 || !inScope(rule, tenant, ctx.catalog.planOf(tenant)?.id)) continue;
    if (BigInt(c.rejected) * 100n * SCALE < BigInt(sent) * rate) continue;
    const pct = ((c.rejected * 100) / sent).toFixed(1);
    const codes = Object.entries(c.codes).sort((a, b) => b[1] - a[1]).map(([code, n]) => `${code} ${n}`).join(', ');
    out.push({ subject: tenant, tenant, summary: `${tenant}: ${c.rejected} of ${sent} events rejected (${pct} %, threshold ${p.rate}) in the ${p.windowMinutes} min to ${formatMicros(to)}: ${codes}`, details: { windowStart: formatMicros(from), windowEnd: formatMicros(to), sent, accepted: c.accepted, duplicates: c.duplicates, rejected: c.rejected, codes: c.codes, rate: p.rate } });
  }
  return out;
};
