import { formatMicros } from '../shared/time.ts';
import type { AdoptionQuery } from './model.ts';
import { periodLabel, periodNumber } from './period.ts';
import type { AnalyticsStore } from './port.ts';

/** Features used by at least this share of active tenants are "broad", by at most NICHE "niche". */
export const BROAD = 0.8;
export const NICHE = 0.05;

/** One period of a feature's adoption. */
export interface AdoptionPoint {
  period: string;
  tenants: number;
  users: number;
  /** Shares of the period's active tenants / end users. */
  tenantShare: number;
  userShare: number;
  /** Tenants that had used the feature by the end of this period (the adoption curve). */
  cumulativeTenants: number;
}

/** One feature's adoption over the range. */
export interface FeatureAdoption {
  feature: string;
  tenants: number;
  users: number;
  tenantShare: number;
  userShare: number;
  /** First use inside the range (RFC 3339). */
  firstUse: string;
  bucket: 'broad' | 'niche' | null;
  series: AdoptionPoint[];
}

/** An adoption answer. */
export interface AdoptionAnswer {
  eventType: string;
  dimension: string;
  period: AdoptionQuery['period'];
  timeZone: string;
  activeTenants: number;
  activeUsers: number;
  periods: { period: string; activeTenants: number; activeUsers: number }[];
  features: FeatureAdoption[];
  approximate: false;
}

const share = (n: number, of: number): number => (of === 0 ? 0 : n / of);

/** Answers an adoption question: per feature, users and shares per period, first use, curve and bucket. */
export async function adoption(store: AnalyticsStore, q: AdoptionQuery): Promise<AdoptionAnswer> {
  const rows = await store.adoption(q);
  const active = [...rows.active].sort((a, b) => a.period - b.period);
  const all = rows.totals.find((t) => t.feature === null);
  const activeTenants = Number(all?.tenants ?? 0n);
  const activeUsers = Number(all?.users ?? 0n);
  const names = [...new Set(rows.totals.flatMap((t) => (t.feature === null ? [] : [t.feature])))].sort();
  const features = names.map((feature): FeatureAdoption => {
    const tot = rows.totals.find((t) => t.feature === feature)!;
    const firsts = rows.firstUse.filter((f) => f.feature === feature);
    const firstPeriods = firsts.map((f) => periodNumber(f.time, q.period, q.timeZone));
    const usage = new Map(rows.usage.filter((u) => u.feature === feature).map((u) => [u.period, u]));
    const series = active.map((a) => {
      const u = usage.get(a.period);
      const tenants = Number(u?.tenants ?? 0n);
      const users = Number(u?.users ?? 0n);
      return { period: periodLabel(a.period, q.period), tenants, users, tenantShare: share(tenants, Number(a.tenants)), userShare: share(users, Number(a.users)), cumulativeTenants: firstPeriods.filter((p) => p <= a.period).length };
    });
    const tenants = Number(tot.tenants);
    // Buckets compare integers (tenants × 100 against 80 × active): no rounding decides them.
    const bucket = tenants * 100 >= BROAD * 100 * activeTenants ? 'broad' : tenants * 100 <= NICHE * 100 * activeTenants ? 'niche' : null;
    return { feature, tenants, users: Number(tot.users), tenantShare: share(tenants, activeTenants), userShare: share(Number(tot.users), activeUsers), firstUse: formatMicros(Math.min(...firsts.map((f) => f.time))), bucket, series };
  });
  return {
    eventType: q.eventType,
    dimension: q.dimension,
    period: q.period,
    timeZone: q.timeZone,
    activeTenants,
    activeUsers,
    periods: active.map((a) => ({ period: periodLabel(a.period, q.period), activeTenants: Number(a.tenants), activeUsers: Number(a.users) })),
    features,
    approximate: false,
  };
}
