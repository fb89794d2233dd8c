import type { RuleKind } from '../rule.ts';
import { creditLowSource, invoiceFinalizedSource } from './business.ts';
import type { Source } from './context.ts';
import { canarySource, consumerLagSource, jobFailedSource, reconciliationSource } from './health.ts';
import { ingestRejectionsSource } from './ingest.ts';
import { quotaSource } from './quota.ts';
import { trafficSource } from './traffic.ts';

/** The source of each rule kind (exhaustive: a new kind does not compile without one). */
export function sourceFor(kind: RuleKind): Source {
  switch (kind) {
    case 'quota':
      return quotaSource;
    case 'traffic-drop':
    case 'traffic-silence':
    case 'traffic-spike':
      return trafficSource;
    case 'ingest-rejections':
      return ingestRejectionsSource;
    case 'reconciliation':
      return reconciliationSource;
    case 'canary':
      return canarySource;
    case 'job-failed':
      return jobFailedSource;
    case 'consumer-lag':
      return consumerLagSource;
    case 'invoice-finalized':
      return invoiceFinalizedSource;
    case 'credit-low':
      return creditLowSource;
  }
}
