import { DateTime } from 'luxon';
import { parseQuantity } from '../../shared/decimal.ts';
import { MICROS_PER_MS, type EpochMicros } from '../../shared/time.ts';
import { periodAt, type PeriodSpec } from '../period.ts';
import { replayGrants, type GrantHistoryEntry, type GrantUsage, type UsageGrant } from './ledger.ts';
import type { GrantRecord } from './repo.ts';

/** Id prefix of the plan's own allowance of one period in a replay (never a stored grant's id: those are identifiers). */
export const INCLUDED = '~plan:';

/** One recurrence of a grant (a one-off grant has one), as the ledger draws it. */
export interface GrantInstance extends UsageGrant {
  readonly grant: string;
}

/**
 * The instances of a grant that start before `until`: one for a one-off grant; for a recurring
 * one, an instance every interval from `effectiveAt` (UTC calendar arithmetic, so a monthly grant
 * made on the 31st recurs on the last day of shorter months) lasting until the next one. A void
 * ends the instance in effect at its instant and drops later ones; what was drawn stays drawn.
 */
export function grantInstances(g: GrantRecord, until: EpochMicros): GrantInstance[] {
  const end = Math.min(g.expiresAt ?? Infinity, g.voided?.at ?? Infinity);
  const amount = parseQuantity(g.amount) as bigint;
  const out: GrantInstance[] = [];
  if (g.recurrence === null) {
    if (end > g.effectiveAt) out.push({ id: g.id, grant: g.id, amount, effectiveAt: g.effectiveAt, expiresAt: end === Infinity ? null : end, priority: g.priority });
    return out;
  }
  const anchor = DateTime.fromMillis(Math.floor(g.effectiveAt / MICROS_PER_MS), { zone: 'UTC' }).toISO({ includeOffset: false })!;
  const spec: PeriodSpec = { unit: g.recurrence, timeZone: 'UTC', anchor };
  for (let at = g.effectiveAt, k = 0; at < end && at <= until; k++) {
    const next = periodAt(spec, at).end;
    out.push({ id: `${g.id}#${k}`, grant: g.id, amount, effectiveAt: at, expiresAt: Math.min(next, end) === Infinity ? null : Math.min(next, end), priority: g.priority });
    at = next;
  }
  return out;
}

/** Where a tenant's grants on one entitlement stand at an instant. */
export interface GrantStanding {
  /** What the grants add to the limit of the current period: drawn in it so far + what the grants in effect still hold. */
  extra: bigint;
  /** What the grants in effect hold now. */
  balance: bigint;
  /** Per stored grant: what is left now (0 unless in effect) and drawn in all. */
  grants: Map<string, { remaining: bigint; drawn: bigint; status: 'scheduled' | 'active' | 'expired' | 'voided' }>;
  /** The next instant the result changes without new usage (a grant starts or ends, a period starts). */
  nextChange: EpochMicros;
  /** The ledger's history with the plan's own allowance left out of the drawn lists. */
  history: GrantHistoryEntry[];
}

/**
 * Replays the plan's allowance of each period (a grant that expires at the period's end, drawn
 * before grants expiring later, and before a grant expiring at the same instant) together with a
 * tenant's grants over the usage, oldest first, with the ledger (`ledger.ts`): soonest-expiring
 * first, then priority. Usage is given per minute (instants are whole minutes, so within a minute
 * the grants in effect do not change and the draw is exact).
 */
export function grantStanding(records: readonly GrantRecord[], included: bigint, period: PeriodSpec, usage: readonly GrantUsage[], now: EpochMicros): GrantStanding {
  const instances = records.flatMap((g) => grantInstances(g, now));
  const cur = periodAt(period, now);
  const from = Math.min(cur.start, ...instances.map((i) => i.effectiveAt));
  const plan: UsageGrant[] = [];
  for (let p = periodAt(period, from); p.start <= now; p = periodAt(period, p.end)) plan.push({ id: `${INCLUDED}${p.start}`, amount: included, effectiveAt: p.start, expiresAt: p.end, priority: -1 });
  const r = replayGrants([...plan, ...instances], usage, now);
  const active = (i: UsageGrant) => i.effectiveAt <= now && (i.expiresAt === null || i.expiresAt > now);
  let extra = 0n;
  let balance = 0n;
  const grants: GrantStanding['grants'] = new Map(records.map((g) => [g.id, { remaining: 0n, drawn: 0n, status: g.voided !== null && g.voided.at <= now ? 'voided' : g.effectiveAt > now ? 'scheduled' : g.expiresAt !== null && g.expiresAt <= now ? 'expired' : 'active' }]));
  const byInstance = new Map(instances.map((i) => [i.id, i]));
  for (const h of r.history) {
    if (h.kind !== 'usage') continue;
    for (const d of h.drawn) {
      const i = byInstance.get(d.grant);
      if (i === undefined) continue;
      grants.get(i.grant)!.drawn += d.amount;
      if (h.at >= cur.start) extra += d.amount;
    }
  }
  for (const i of instances) {
    if (!active(i)) continue;
    const left = r.remaining.get(i.id)!;
    extra += left;
    balance += left;
    grants.get(i.grant)!.remaining += left;
  }
  const changes = [cur.end, ...records.flatMap((g) => [g.effectiveAt, g.expiresAt ?? Infinity, g.voided?.at ?? Infinity]), ...instances.flatMap((i) => [i.effectiveAt, i.expiresAt ?? Infinity])].filter((t) => t > now);
  const history = r.history
    .filter((h) => !('grant' in h) || !h.grant.startsWith(INCLUDED))
    .map((h) => (h.kind === 'usage' ? { ...h, drawn: h.drawn.filter((d) => !d.grant.startsWith(INCLUDED)) } : h));
  return { extra, balance, grants, nextChange: Math.min(...changes), history };
}
