import { formatScaled } from '../shared/decimal.ts';
import { formatMicros, type EpochMicros } from '../shared/time.ts';
import type { Entitlement } from './catalog.ts';
import type { EnforcementMode, FailurePolicyName } from './counters.ts';
import type { Period } from './period.ts';

/**
 * No extrapolation before this share of the period (1/10) has elapsed: a burst in the first
 * minutes of a month would otherwise project an absurd total and raise a false overage warning.
 */
export const PROJECTION_MIN_ELAPSED_DIVISOR = 10n;

/** A tenant's standing on one entitlement at one instant, in scaled integers (×10^12). */
export interface Snapshot {
  readonly tenant: string;
  readonly entitlement: Entitlement;
  readonly period: Period;
  readonly now: EpochMicros;
  readonly usage: bigint;
  readonly projected: bigint;
  /** How `projected` was made: the meter's forecast, or the linear extrapolation (the fallback). */
  readonly projection: Projection;
}

/** A projection of the period's usage and how it was made (for the API's answer). */
export interface Projection {
  readonly projected: bigint;
  readonly method: 'forecast' | 'linear';
  readonly basis: string;
}

/** Where forecast-based projections come from (`capacity/quota-forecasts.ts`); undefined: linear. */
export type Projector = (tenant: string, entitlement: Entitlement, period: Period, now: EpochMicros, usage: bigint) => Projection | undefined;

/** The API's view of a snapshot: quantities as exact decimal strings. */
export interface EntitlementStatus {
  tenant: string;
  id: string;
  meter: string;
  filter: Record<string, string[]>;
  plan: string;
  enforcement: 'hard' | 'soft';
  mode: EnforcementMode;
  failurePolicy: FailurePolicyName;
  period: string;
  timeZone: string;
  periodStart: string;
  resetAt: string;
  hasAccess: boolean;
  usage: string;
  limit: string;
  remaining: string;
  overage: string;
  projected: string;
  overageProjected: boolean;
  projectionMethod: 'forecast' | 'linear';
  projectionBasis: string;
  included: string;
  grantAllowance: string;
}

/**
 * End-of-period forecast at the usage rate so far: `usage × (end − start) / (now − start)`,
 * truncated to 10^-12; before 1/10 of the period has elapsed, `usage` itself.
 */
export function project(usage: bigint, period: Period, now: EpochMicros): bigint {
  const length = BigInt(period.end - period.start);
  const elapsed = BigInt(Math.max(0, now - period.start));
  if (elapsed * PROJECTION_MIN_ELAPSED_DIVISOR < length) return usage;
  return (usage * length) / elapsed;
}

const LINEAR_BASIS = 'Linear: the usage so far at the same pace for the rest of the period (the usage itself during its first tenth).';

/** Builds a snapshot from a live usage figure; with a projector, its forecast projection where it has one. */
export function snapshot(tenant: string, entitlement: Entitlement, period: Period, now: EpochMicros, usage: bigint, projector?: Projector): Snapshot {
  const projection = projector?.(tenant, entitlement, period, now, usage) ?? { projected: project(usage, period, now), method: 'linear', basis: LINEAR_BASIS };
  return { tenant, entitlement, period, now, usage, projected: projection.projected, projection };
}

/** `hasAccess`: a hard limit still has room; a soft limit never blocks. */
export function hasAccess(s: Snapshot): boolean {
  return !s.entitlement.hard || s.usage < s.entitlement.limit;
}

/** Formats a snapshot for the API. */
export function toStatus(s: Snapshot): EntitlementStatus {
  const e = s.entitlement;
  const over = s.usage - e.limit;
  return {
    tenant: s.tenant,
    id: e.id,
    meter: e.meter,
    filter: Object.fromEntries(e.filter.map((f) => [f.name, [...f.values]])),
    plan: e.plan,
    enforcement: e.hard ? 'hard' : 'soft',
    mode: e.mode,
    failurePolicy: e.failurePolicy,
    period: e.period.unit,
    timeZone: e.period.timeZone,
    periodStart: formatMicros(s.period.start),
    resetAt: formatMicros(s.period.end),
    hasAccess: hasAccess(s),
    usage: formatScaled(s.usage),
    limit: formatScaled(e.limit),
    remaining: formatScaled(over < 0n ? -over : 0n),
    overage: formatScaled(over > 0n ? over : 0n),
    projected: formatScaled(s.projected),
    overageProjected: s.projected > e.limit,
    projectionMethod: s.projection.method,
    projectionBasis: s.projection.basis,
    included: formatScaled(e.limit - (e.granted ?? 0n)),
    grantAllowance: formatScaled(e.granted ?? 0n),
  };
}
