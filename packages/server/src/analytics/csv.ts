import { csvCell } from '../http/csv.ts';
import type { AdoptionAnswer } from './adoption.ts';
import type { ApproximateTopAnswer, PercentileAnswer, UniquesAnswer } from './approximate.ts';
import type { FunnelAnswer, FunnelStepAnswer } from './funnel.ts';
import type { RetentionAnswer } from './retention.ts';
import type { TopAnswer } from './top.ts';
import type { TrendAnswer } from './trends.ts';

/**
 * CSV of every analytics answer. Each row ends with `approximate` (and, for sketches, the
 * error bound), so a spreadsheet never loses the label.
 */
const line = (cells: (string | number | null)[], textAt: number[] = []) => cells.map((c, i) => csvCell(c === null ? null : String(c), textAt.includes(i))).join(',');
const table = (head: string[], rows: string[]) => [head.join(','), ...rows].join('\n') + '\n';

function stepRows(steps: FunnelStepAnswer[], group: string | null | undefined): string[] {
  return steps.map((s, i) => line([...(group !== undefined ? [group] : []), i + 1, s.eventType, s.count, s.conversion, s.conversionFromPrevious, s.medianSecondsFromPrevious, 'false'], group !== undefined ? [0, 2] : [1]));
}

export function funnelCsv(a: FunnelAnswer): string {
  if (!a.breakdown) return table(['step', 'eventType', 'count', 'conversion', 'conversionFromPrevious', 'medianSecondsFromPrevious', 'approximate'], stepRows(a.steps, undefined));
  return table(['breakdown', 'step', 'eventType', 'count', 'conversion', 'conversionFromPrevious', 'medianSecondsFromPrevious', 'approximate'], [...stepRows(a.steps, '(all)'), ...a.breakdown.flatMap((b) => stepRows(b.steps, b.value))]);
}

export function retentionCsv(a: RetentionAnswer): string {
  const offsets = Array.from({ length: a.periods + 1 }, (_, i) => `${a.period.toLowerCase()}_${i}`);
  return table(['cohort', 'size', ...offsets, 'observedPeriods', 'approximate'], a.cohorts.map((c) => line([c.cohort, c.size, ...c.returning, c.observed, 'false'])));
}

export function adoptionCsv(a: AdoptionAnswer): string {
  const rows = a.features.flatMap((f) => [
    line([f.feature, 'all', f.tenants, f.users, f.tenantShare, f.userShare, f.tenants, f.firstUse, f.bucket ?? '', 'false'], [0]),
    ...f.series.map((s) => line([f.feature, s.period, s.tenants, s.users, s.tenantShare, s.userShare, s.cumulativeTenants, '', '', 'false'], [0])),
  ]);
  return table(['feature', 'period', 'tenants', 'users', 'tenantShare', 'userShare', 'cumulativeTenants', 'firstUse', 'bucket', 'approximate'], rows);
}

export function topCsv(a: TopAnswer | ApproximateTopAnswer): string {
  if (a.approximate) {
    const bound = `overestimate<=${a.errorBound.maxOverestimate}`;
    return table(['rank', 'key', 'value', 'minValue', 'share', 'cumulativeShare', 'approximate', 'errorBound'], a.items.map((i) => line([i.rank, i.key, i.value, i.minValue, i.share, i.cumulativeShare, 'true', bound], [1])));
  }
  return table(['rank', 'key', 'value', 'share', 'cumulativeShare', 'approximate'], a.items.map((i) => line([i.rank, i.key, i.value, i.share, i.cumulativeShare, 'false'], [1])));
}

export function trendCsv(a: TrendAnswer): string {
  return table(['meter', 'currentFrom', 'currentTo', 'current', 'previousFrom', 'previousTo', 'previous', 'changePercent', 'approximate'], [line([a.meter, a.current.from, a.current.to, a.current.value, a.previous.from, a.previous.to, a.previous.value, a.changePercent, 'false'], [0])]);
}

export function percentilesCsv(a: PercentileAnswer): string {
  const bound = a.errorBound ? `relative<=${a.errorBound.relative}` : '';
  return table(['meter', 'percentile', 'value', 'count', 'approximate', 'errorBound'], Object.entries(a.percentiles).map(([k, v]) => line([a.meter, k, v, a.count, String(a.approximate), bound], [0])));
}

export function uniquesCsv(a: UniquesAnswer): string {
  return table(['meter', 'from', 'to', 'estimate', 'approximate', 'errorBound'], [line([a.meter, a.from, a.to, a.estimate, 'true', `relative<=${a.errorBound.within.toFixed(4)} (${a.errorBound.confidence * 100}%)`], [0])]);
}
