import { DateTime } from 'luxon';
import type { JobDefinition } from '../jobs/job.ts';
import { MICROS_PER_MS, type EpochMicros } from '../shared/time.ts';
import type { Invoice } from './invoice.ts';
import type { InvoiceRepo } from './invoice-repo.ts';
import type { InvoiceIssuer } from './issue.ts';
import { INVOICE_ISSUER } from './numbering.ts';
import type { PlanTimeline } from './plan-timeline.ts';

/** How the job finalizes: never (review by hand), or once a draft's review delay has passed. */
export interface AutoFinalize {
  autoFinalize: boolean;
  /** How long a due draft stays open for review (recomputed each run) before it is finalized. */
  reviewMicros?: number;
  /** The grace after a period's end before it is due (billing.graceHours). */
  graceMicros?: number;
  /** Finds the period of an older draft still under review, to recompute it before finalizing. */
  timeline?: PlanTimeline;
  /** Brings the timeline up to date with plan changes made through the API, before each run. */
  refresh?: () => Promise<void>;
}

/** The UTC hour holding `now`, `YYYY-MM-DDTHH` (the range of an hourly run). */
export function utcHour(now: EpochMicros): string {
  return DateTime.fromMillis(Math.floor(now / MICROS_PER_MS), { zone: 'utc' }).toFormat("yyyy-LL-dd'T'HH");
}

/**
 * `invoices:<hour>`: every hour (5 past), drafts the invoice of each tenant's period that ended
 * at least the grace ago (recomputed from the rollups until finalized; late events of finalized
 * periods become adjustment lines) and, with `billing.autoFinalize`, finalizes the ones whose
 * usage recomputed from the raw events agrees (the others are `blocked`) once their review
 * delay (`billing.reviewHours` after period end + grace) has passed; a
 * draft under review is recomputed on every run, so events arriving during the review land on it.
 * Idempotent: one invoice per tenant and period whatever the number of runs or crashes.
 */
export function invoicesJob(issuer: InvoiceIssuer, repo: InvoiceRepo, opts: AutoFinalize): JobDefinition {
  const review = opts.reviewMicros ?? 0;
  const grace = opts.graceMicros ?? 0;
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
      await opts.refresh?.();
      const dues = issuer.duePeriods(ctx.now);
      // Older drafts still waiting for their review delay are recomputed too (a review longer
      // than a period leaves more than the last period open).
      if (opts.autoFinalize && review > 0 && opts.timeline) {
        const seen = new Set(dues.map((d) => `${d.tenant}|${d.period.start}`));
        for (const open of await repo.list({ status: 'draft' })) {
          const period = opts.timeline.periodAt(open.tenant, open.periodStart);
          if (period && period.start === open.periodStart && !seen.has(`${open.tenant}|${period.start}`)) dues.push({ tenant: open.tenant, period });
        }
      }
      const drafts = await issuer.draftMany(dues, ctx.now, ctx.assertHeld);
      let reviewing = 0;
      const due: Invoice[] = [];
      for (const inv of drafts) {
        if (inv.status !== 'draft') {
          untouched++;
          continue;
        }
        drafted++;
        adjustments += inv.lines.filter((l) => l.kind === 'adjustment').length;
        if (opts.autoFinalize && inv.periodEnd + grace + review > ctx.now) reviewing++;
        else if (opts.autoFinalize) due.push(inv);
      }
      // Drafts due for finalization are checked against the raw events first (one shared scan).
      for (const inv of due.length > 0 ? await issuer.verify(due) : []) {
        if (!inv.reconciled) {
          blocked++;
          continue;
        }
        await ctx.assertHeld();
        await repo.finalize(inv.id, INVOICE_ISSUER, ctx.now);
        finalized++;
      }
      return { drafted, finalized, blocked, inReview: reviewing, alreadyFinal: untouched, adjustmentLines: adjustments };
    },
  };
}
