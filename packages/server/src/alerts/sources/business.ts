import { parseQuantity } from '../../shared/decimal.ts';
import { MICROS_PER_DAY, formatMicros } from '../../shared/time.ts';
import type { Finding } from '../alert.ts';
import { inScope } from '../rule.ts';
import { scopedTenants, type Source } from './context.ts';

/** Invoices finalized since the rule was created: one notification each (event alerts). */
export const invoiceFinalizedSource: Source = async (rule, ctx, now) => {
  if (!ctx.invoices) return [];
  const since = Math.max(Date.parse(rule.createdAt) * 1000, now - 35 * MICROS_PER_DAY);
  const out: Finding[] = [];
  for (const inv of await ctx.invoices.list({ status: 'finalized', ...(rule.scope.tenant !== undefined ? { tenant: rule.scope.tenant } : {}) })) {
    if (inv.creditNoteFor !== null || inv.finalizedAt === null || inv.finalizedAt < since || !inScope(rule, inv.tenant, inv.plan)) continue;
    out.push({ subject: inv.id, tenant: inv.tenant, oneShot: true, summary: `invoice ${inv.number} finalized for ${inv.tenant}: ${inv.total} ${inv.currency}`, details: { invoice: inv.id, number: inv.number, plan: inv.plan, currency: inv.currency, subtotal: inv.subtotal, credits: inv.credits ?? '0', total: inv.total, periodStart: formatMicros(inv.periodStart), periodEnd: formatMicros(inv.periodEnd), finalizedAt: formatMicros(inv.finalizedAt) } });
  }
  return out;
};

/** Tenants with credit grants whose usable balance in a currency is at or below `minCredit`. */
export const creditLowSource: Source = async (rule, ctx) => {
  if (!ctx.invoices) return [];
  const min = parseQuantity(rule.minCredit) as bigint;
  const out: Finding[] = [];
  for (const tenant of scopedTenants(rule, ctx)) {
    const c = await ctx.invoices.credits(tenant);
    if (c.grants.length === 0) continue;
    const currencies = new Set(c.grants.map((g) => g.currency));
    for (const cur of currencies) {
      const left = c.balance[cur] ?? '0';
      if ((parseQuantity(left) as bigint) > min) continue;
      out.push({ subject: `${tenant}/${cur}`, tenant, summary: `${tenant}: credit balance ${left} ${cur} (at or below ${rule.minCredit})`, details: { tenant, currency: cur, balance: left, minCredit: rule.minCredit } });
    }
  }
  return out;
};
