import type { Registry } from 'prom-client';
import type { InvoiceService } from '../../billing/invoice-service.ts';
import type { JobRunner } from '../../jobs/runner.ts';
import type { PlanCatalog } from '../../quota/catalog.ts';
import type { QuotaWarnings } from '../../quota/warnings.ts';
import type { UsageStore } from '../../store/port.ts';
import type { QueryService } from '../../usage/query-service.ts';
import type { Finding } from '../alert.ts';
import type { Rule } from '../rule.ts';

/** What the sources read: the query layer, recorded warnings, job runs, billing, metrics. */
export interface SourceContext {
  store: UsageStore;
  queries: Pick<QueryService, 'query'>;
  catalog: PlanCatalog;
  /** Recorded quota warnings (absent: quota rules read only the query layer). */
  warnings?: QuotaWarnings | undefined;
  /** Tenants named in config (the scope "all tenants" of kinds that do not read usage). */
  tenants: readonly string[];
  runner?: JobRunner | undefined;
  invoices?: InvoiceService | undefined;
  metrics?: Registry | undefined;
}

/**
 * The query layer for one evaluation: the same question asked by two rules (a drop and a spike
 * rule over the same window) is answered once.
 */
export function memoQueries(queries: Pick<QueryService, 'query'>): Pick<QueryService, 'query'> {
  const answers = new Map<string, ReturnType<QueryService['query']>>();
  return {
    query(q) {
      const key = JSON.stringify(q);
      let a = answers.get(key);
      if (!a) answers.set(key, (a = queries.query(q)));
      return a;
    },
  };
}

/** One kind of rule: what it finds at `now`. Subjects it does not return are resolved. */
export type Source = (rule: Rule, ctx: SourceContext, now: number) => Promise<Finding[]>;

/** Tenants a rule's scope names, from config (a tenant scope names one even if not configured). */
export function scopedTenants(rule: Rule, ctx: SourceContext): string[] {
  if (rule.scope.tenant !== undefined) return [rule.scope.tenant];
  if (rule.scope.plan !== undefined) return ctx.catalog.plans.find((p) => p.id === rule.scope.plan)?.tenants.slice() ?? [];
  return [...ctx.tenants];
}
