import { z } from 'zod';
import type { UpcomingInvoices } from '../../billing/upcoming.ts';
import { TallyError } from '../../errors/registry.ts';
import { IDENTIFIER_LIMITS, identifierSchema } from '../../events/identifiers.ts';
import type { Router } from '../route.ts';

const tier = z.object({ from: z.string(), to: z.string().nullable(), quantity: z.string(), unitPrice: z.string(), flatAmount: z.string().nullable(), amount: z.string().describe('exact') });
const line = z.object({
  kind: z.enum(['flat', 'usage', 'minimum']),
  name: z.string(),
  meter: z.string().nullable(),
  quantity: z.string().describe('usage (exact decimal); for a flat price the share of the period (1 = whole)'),
  amount: z.string().describe("rounded once, half-even, to the currency's minor unit"),
  amountExact: z.string().describe('the exact amount before rounding'),
  tiers: z.array(tier),
});
const upcoming = z.object({
  tenant: z.string(),
  plan: z.string(),
  currency: z.string(),
  periodStart: z.string(),
  periodEnd: z.string(),
  asOf: z.string(),
  status: z.literal('upcoming'),
  lines: z.array(line),
  subtotal: z.string(),
  total: z.string().describe('sum of the rounded lines'),
});

/** Billing: the upcoming invoice of a tenant (issued invoices come with the batch layer). */
export function billingRoutes(router: Router, upcomingInvoices: UpcomingInvoices): void {
  router.add(
    {
      method: 'GET',
      url: '/v1/tenants/:tenant/invoices/upcoming',
      summary: "The live draft of the tenant's open billing period: what it owes if the period ended now",
      tag: 'billing',
      scope: 'read',
      params: z.object({ tenant: identifierSchema(IDENTIFIER_LIMITS.tenant) }),
      responses: { 200: { description: 'The upcoming invoice', schema: upcoming } },
    },
    async ({ params, principal }) => {
      if (principal?.tenant && principal.tenant !== params.tenant) throw new TallyError('FORBIDDEN', `this key may only read tenant "${principal.tenant}"`);
      return upcomingInvoices.upcoming(params.tenant);
    },
  );
}
