import { DateTime } from 'luxon';
import type { JobDefinition } from '../jobs/job.ts';
import { MICROS_PER_MS, type EpochMicros } from '../shared/time.ts';
import type { InvoiceRepo } from './invoice-repo.ts';
import type { InvoiceIssuer } from './issue.ts';
import { INVOICE_ISSUER } from './numbering.ts';

/** The UTC hour holding `now`, `YYYY-MM-DDTHH` (the range of an hourly run). */
export function utcHour(now: EpochMicros): string {
  return DateTime.fromMillis(Math.floor(now / MICROS_PER_MS), { zone: 'utc' }).toFormat("yyyy-LL-dd'T'HH");
}

/**
 * `invoices:<hour>`: every hour (5 past), drafts the invoice of each tenant's period that ended
 * at least the grace ago (recomputed from raw events until finalized; late events of finalized
 * periods become adjustment lines) and, with `billing.autoFinalize`, finalizes the reconciled
 * ones. Idempotent: one invoice per tenant and period whatever the number of runs or crashes.
 */
export function invoicesJob(issuer: InvoiceIssuer, repo: InvoiceRepo, opts: { autoFinalize: boolean }): JobDefinition {
  return {
    name: 'invoices',
    description: 'drafts (and with billing.autoFinalize finalizes) the invoices of periods that ended',
    schedule: '5 * * * *',
    rangeAt: utcHour,
    async run(ctx) {
      let drafted = 0;
      let finalized = 0;
      let blocked = 0;
      let untouched = 0;
      let adjustments = 0;
      const drafts = await issuer.draftMany(issuer.duePeriods(ctx.now), ctx.now, ctx.assertHeld);
      for (const inv of drafts) {
        if (inv.status !== 'draft') {
          untouched++;
          continue;
        }
        drafted++;
        adjustments += inv.lines.filter((l) => l.kind === 'adjustment').length;
        if (!inv.reconciled) blocked++;
        else if (opts.autoFinalize) {
          await ctx.assertHeld();
          await repo.finalize(inv.id, INVOICE_ISSUER, ctx.now);
          finalized++;
        }
      }
      return { drafted, finalized, blocked, alreadyFinal: untouched, adjustmentLines: adjustments };
    },
  };
}
