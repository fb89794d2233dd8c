import { z } from 'zod';
import { parseQuantity } from '../../shared/decimal.ts';
import { isCurrency } from '../money.ts';

/** Models a price can have (Lago's charge models, Stripe's billing schemes). */
export const PRICE_MODELS = ['flat', 'unit', 'graduated', 'volume', 'package'] as const;
export type PriceModel = (typeof PRICE_MODELS)[number];

/** Lengths a billing period can have; anchored per tenant. */
export const BILLING_PERIODS = ['month', 'week', 'day'] as const;

/** An exact non-negative decimal (string or JSON number) with at most 12 fractional digits. */
export const decimalAmount = z.union([z.string(), z.number()]).superRefine((v, ctx) => {
  const q = parseQuantity(v);
  if (typeof q !== 'bigint') ctx.addIssue({ code: 'custom', message: `must be a decimal number with at most 12 fractional digits (got ${JSON.stringify(v)})` });
  else if (q < 0n) ctx.addIssue({ code: 'custom', message: 'must not be negative' });
});

const tierSchema = z
  .object({
    upTo: decimalAmount.optional().describe('inclusive upper bound of the tier; omitted on the last tier'),
    unitPrice: decimalAmount.default('0'),
    flatAmount: decimalAmount.optional().describe('charged once when the tier applies'),
  })
  .strict();

const scaled = (v: string | number | undefined): bigint => parseQuantity(v) as bigint;

/** Tiers: ascending `upTo`, and only the last one without it. */
const tiersSchema = z
  .array(tierSchema)
  .min(1)
  .superRefine((tiers, ctx) => {
    let last = -1n;
    tiers.forEach((t, i) => {
      const isLast = i === tiers.length - 1;
      if (t.upTo === undefined) {
        if (!isLast) ctx.addIssue({ code: 'custom', path: [i, 'upTo'], message: 'only the last tier may omit upTo' });
        return;
      }
      if (isLast) ctx.addIssue({ code: 'custom', path: [i, 'upTo'], message: 'the last tier has no upTo (it takes everything above the previous one)' });
      const up = parseQuantity(t.upTo);
      if (typeof up !== 'bigint') return;
      if (up <= last) ctx.addIssue({ code: 'custom', path: [i, 'upTo'], message: 'upTo must increase from tier to tier' });
      last = up;
    });
  });

const filterSchema = z
  .record(z.string(), z.union([z.string(), z.array(z.string()).min(1)]))
  .optional()
  .describe("only the meter's usage whose dimensions have these values (e.g. { model: gpt-4 })");

const usage = { meter: z.string().min(1).describe('slug of a COUNT or SUM meter'), name: z.string().min(1).optional(), filter: filterSchema };

/** One price of a plan. */
export const priceSchema = z.discriminatedUnion('model', [
  z.object({ model: z.literal('flat'), name: z.string().min(1), amount: decimalAmount }).strict(),
  z.object({ model: z.literal('unit'), ...usage, unitPrice: decimalAmount }).strict(),
  z.object({ model: z.literal('graduated'), ...usage, tiers: tiersSchema }).strict(),
  z.object({ model: z.literal('volume'), ...usage, tiers: tiersSchema }).strict(),
  z
    .object({ model: z.literal('package'), ...usage, packageSize: decimalAmount.refine((v) => scaled(v) > 0n, 'must be greater than 0'), packagePrice: decimalAmount })
    .strict(),
]);

/** A price as configured. */
export type PriceConfig = z.infer<typeof priceSchema>;

/** The billing fields of a plan (merged into the plan schema). */
export const planBillingFields = {
  currency: z
    .string()
    .refine((c) => /^[A-Z]{3}$/.test(c) && isCurrency(c), { error: (i) => `"${String(i.input)}" is not an ISO 4217 currency code (e.g. USD)` })
    .optional()
    .describe('ISO 4217; required when the plan has prices'),
  billingPeriod: z.enum(BILLING_PERIODS).default('month').describe('invoices cover one period, anchored per tenant'),
  prices: z.array(priceSchema).default([]),
  minimumSpend: decimalAmount.optional().describe('a line tops the invoice up to this amount'),
};

/** The tiers of a tiered price, parsed (×10^12). */
export function parseTiers(tiers: z.infer<typeof tiersSchema>): { upTo: bigint | null; unitPrice: bigint; flatAmount: bigint | null }[] {
  return tiers.map((t) => ({ upTo: t.upTo === undefined ? null : scaled(t.upTo), unitPrice: scaled(t.unitPrice), flatAmount: t.flatAmount === undefined ? null : scaled(t.flatAmount) }));
}

/** A decimal of a validated price (×10^12). */
export { scaled as scaledDecimal };
