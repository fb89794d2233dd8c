import type { EpochMicros } from '../shared/time.ts';

/** Calendar period of cohorts and adoption series, in an IANA time zone. */
export type Period = 'DAY' | 'WEEK' | 'MONTH';

/** Who is counted: an end user (tenant + hashed actor; events without an actor are skipped) or a tenant. */
export type SubjectKind = 'actor' | 'tenant';

/**
 * A filter on a top-level string property of the event's data: the event matches when the
 * property is a string equal to one of the values (missing or non-string never matches).
 */
export type PropertyFilter = Record<string, string[]>;

/** One funnel step as the store evaluates it. */
export interface FunnelStep {
  eventType: string;
  filter?: PropertyFilter | undefined;
}

/** A funnel question (see docs/analytics.md for the semantics every adapter keeps). */
export interface FunnelQuery {
  steps: FunnelStep[];
  windowMicros: number;
  from: EpochMicros;
  to: EpochMicros;
  by: SubjectKind;
  tenants?: string[] | undefined;
  /** Not these tenants (the canary tenants, left out when `tenants` is not given). */
  excludeTenants?: string[] | undefined;
  /** A top-level string property of the subject's first step-1 event to split the answer by. */
  breakdown?: string | undefined;
}

/** Per step, the subjects that reached it and the lower median of their time since the previous step. */
export interface FunnelStepRow {
  /** Breakdown value (null: the property was missing or not a string, or no breakdown asked). */
  group: string | null;
  step: number;
  count: bigint;
  /** Lower median (the ⌈n/2⌉-th smallest) of microseconds since the previous step; null for step 0 or no subject. */
  medianMicrosFromPrevious: number | null;
}

/** A retention question. */
export interface RetentionQuery {
  startEvent: FunnelStep;
  returnEvent: FunnelStep;
  period: Period;
  /** Following periods to report (offsets 0…periods). */
  periods: number;
  from: EpochMicros;
  to: EpochMicros;
  by: SubjectKind;
  timeZone: string;
  tenants?: string[] | undefined;
  /** Not these tenants (the canary tenants, left out when `tenants` is not given). */
  excludeTenants?: string[] | undefined;
}

/** Subjects of a cohort (by period number of their first start event) returning at an offset; offset -1 is the cohort's size. */
export interface RetentionCell {
  cohort: number;
  offset: number;
  count: bigint;
}

/** An adoption question: who uses which value of `dimension` on `eventType` events, per period. */
export interface AdoptionQuery {
  eventType: string;
  dimension: string;
  period: Period;
  timeZone: string;
  from: EpochMicros;
  to: EpochMicros;
  tenants?: string[] | undefined;
  /** Not these tenants (the canary tenants, left out when `tenants` is not given). */
  excludeTenants?: string[] | undefined;
}

/** Store rows of an adoption question. Period numbers: see period.ts. */
export interface AdoptionRows {
  /** Per period: tenants and end users with any event at all (the denominators). */
  active: { period: number; tenants: bigint; users: bigint }[];
  /** Per period and feature: tenants and end users that used it. */
  usage: { period: number; feature: string; tenants: bigint; users: bigint }[];
  /** Over the whole range: active tenants and end users, and per feature those that used it. */
  totals: { feature: string | null; tenants: bigint; users: bigint }[];
  /** Per feature and tenant: the first use inside the range. */
  firstUse: { feature: string; tenant: string; time: EpochMicros }[];
}
