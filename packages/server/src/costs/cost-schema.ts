import { z } from 'zod';
import { isCurrency, minorDigits } from '../billing/money.ts';

const money = z.string().regex(/^[0-9]{1,15}(\.[0-9]{1,4})?$/, 'a non-negative decimal amount such as "1200" or "99.50"');

/**
 * A shared infrastructure cost (`costs[]` in the config): `amount` per period is the shared
 * pool, split among the tenants in proportion to their usage of `allocateBy`; `dedicated`
 * names tenants on a dedicated tier with the cost of their own resources — they carry that and
 * take no share of the pool.
 */
export const costSchema = z
  .object({
    name: z.string().min(1).max(200),
    amount: money.describe('the shared pool per period, in `currency`'),
    currency: z.string().refine(isCurrency, 'an ISO 4217 currency code such as USD'),
    period: z.literal('month').default('month').describe('calendar months (UTC)'),
    allocateBy: z.string().min(1).describe('slug of the meter whose usage per tenant splits the pool (query count, storage bytes, CPU-seconds)'),
    dedicated: z.record(z.string().min(1), money).optional().describe('tenant → its dedicated cost per period; such a tenant takes no share of the pool'),
  })
  .strict()
  .superRefine((c, ctx) => {
    if (!isCurrency(c.currency)) return;
    const digits = minorDigits(c.currency);
    const check = (v: string, path: (string | number)[]) => {
      const frac = v.split('.')[1] ?? '';
      if (frac.length > digits) ctx.addIssue({ code: 'custom', path, message: `${c.currency} has ${digits} decimals; "${v}" has ${frac.length}` });
    };
    check(c.amount, ['amount']);
    for (const [t, v] of Object.entries(c.dedicated ?? {})) check(v, ['dedicated', t]);
  });

/** A configured shared cost. */
export type CostConfig = z.infer<typeof costSchema>;

/** The `costs` list. */
export const costsSchema = z.array(costSchema).default([]).describe('shared infrastructure costs attributed to tenants (docs/costs.md)');
