import { randomBytes } from 'node:crypto';
import { TallyError } from '../../errors/registry.ts';
import type { IngestService } from '../../ingest/ingest-service.ts';
import { formatScaled, parseQuantity } from '../../shared/decimal.ts';
import { formatMicros, MICROS_PER_DAY, MICROS_PER_MINUTE, parseRfc3339, type Clock, type EpochMicros } from '../../shared/time.ts';
import type { QueryService } from '../../usage/query-service.ts';
import type { Entitlement } from '../catalog.ts';
import { periodAt } from '../period.ts';
import type { GrantExtras } from '../overrides/apply.ts';
import type { QuotaOverridesService } from '../overrides/overrides-service.ts';
import { QUOTA_SOURCE } from '../warnings.ts';
import type { GrantUsage } from './ledger.ts';
import type { GrantRecord, GrantRepo, Recurrence, StoredGrant } from './repo.ts';
import { grantStanding, type GrantStanding } from './standing.ts';

/** Event type of the audit record of each grant and void. */
export const GRANT_EVENT_TYPE = 'tally.quota.grant';
/** After a grant starts or ends, standings are recomputed this often for a while (pipeline lag, ms)… */
const CATCH_UP_EVERY_MS = 5_000;
/** …for this long (ms); and at least this often otherwise. */
const CATCH_UP_FOR_MS = 600_000;
const RECOMPUTE_EVERY_MS = 600_000;
// The usage query is split so no part holds more than the query's window ceiling.
const USAGE_CHUNK_US = 60 * MICROS_PER_DAY;

/** What `POST /v1/tenants/{tenant}/grants` takes (already schema-checked). */
export interface GrantInput {
  id?: string | undefined;
  entitlement: string;
  amount: string | number;
  effectiveAt?: string | undefined;
  expiresAt?: string | null | undefined;
  priority?: number | undefined;
  recurrence?: Recurrence | null | undefined;
}

/** What {@link GrantsService} needs. */
export interface GrantsDeps {
  repo: GrantRepo;
  overrides: QuotaOverridesService;
  queries: QueryService;
  ingest: IngestService;
  clock: Clock;
  exclusive: <T>(fn: () => Promise<T>) => Promise<T>;
  /** How often every node reads the stored grants (default 250 ms: in force everywhere within a second). */
  pollMs?: number;
}

interface Computed {
  /** The group's grants as last read (a change recomputes the group). */
  text: string;
  standing: GrantStanding;
  at: EpochMicros;
  lastChange: EpochMicros;
}

const minuteAligned = (t: EpochMicros) => t % MICROS_PER_MINUTE === 0;

/**
 * Grants (one-off or recurring allowances on a tenant's entitlement): stored insert-only
 * (`GrantRepo`), read by every node every `pollMs`, replayed with the usage (`standing.ts`) into
 * what they add to each limit, applied by swapping the quota catalog (through the overrides, so
 * both hold together). Each grant and void is also an immutable `tally.quota.grant` event.
 */
export class GrantsService {
  private computed = new Map<string, Computed>();
  private applied = '';
  private plainSeen: unknown;
  private timer: NodeJS.Timeout | undefined;
  private polling: Promise<void> | undefined;
  /** Failed polls (the last standings stay in force). */
  pollErrors = 0;

  constructor(private readonly d: GrantsDeps) {}

  /** Loads and applies the stored grants, then polls for changes. */
  async start(): Promise<void> {
    await this.refresh();
    this.timer = setInterval(() => void this.poll(), this.d.pollMs ?? 250).unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  private poll(): Promise<void> {
    this.polling ??= this.refresh()
      .catch(() => void this.pollErrors++)
      .finally(() => (this.polling = undefined));
    return this.polling;
  }

  /**
   * Reads the grants and recomputes the standings that may have changed (a group whose grants
   * changed, a tenant asked for, an instant passed, the overrides changed), then applies them.
   */
  async refresh(only?: string): Promise<void> {
    const records = await this.d.repo.list();
    const plain = this.d.overrides.plain;
    const plainChanged = plain !== this.plainSeen;
    this.plainSeen = plain;
    const now = this.d.clock.nowMicros();
    const groups = new Map<string, GrantRecord[]>();
    for (const g of records) groups.set(`${g.tenant}\u0000${g.entitlement}`, [...(groups.get(`${g.tenant}\u0000${g.entitlement}`) ?? []), g]);
    for (const k of this.computed.keys()) if (!groups.has(k)) this.computed.delete(k);
    for (const [k, gs] of groups) {
      const text = JSON.stringify(gs);
      const c = this.computed.get(k);
      const changed = plainChanged || c === undefined || c.text !== text;
      const due = changed || (only !== undefined && k.startsWith(`${only}\u0000`)) || now >= c.standing.nextChange || now - c.at >= RECOMPUTE_EVERY_MS * 1000 || (now - c.lastChange < CATCH_UP_FOR_MS * 1000 && now - c.at >= CATCH_UP_EVERY_MS * 1000);
      if (!due) continue;
      const [tenant, id] = k.split('\u0000') as [string, string];
      const ent = plain.entitlement(tenant, id);
      if (ent === undefined) {
        this.computed.delete(k);
        continue;
      }
      const standing = grantStanding(gs, ent.limit, ent.period, await this.usage(tenant, ent, gs, now), now);
      const lastChange = !changed && now < c.standing.nextChange ? c.lastChange : now;
      this.computed.set(k, { standing, at: now, lastChange, text });
    }
    const extras = new Map<string, Map<string, bigint>>();
    for (const [k, c] of this.computed) {
      const [tenant, id] = k.split('\u0000') as [string, string];
      if (!extras.has(tenant)) extras.set(tenant, new Map());
      extras.get(tenant)!.set(id, c.standing.extra);
    }
    const key = JSON.stringify([...extras].map(([t, m]) => [t, [...m].map(([e, v]) => [e, String(v)])]));
    if (key !== this.applied) {
      this.applied = key;
      this.d.overrides.setGranted(extras as GrantExtras);
    }
  }

  /** The tenant's usage of an entitlement per minute since the first period any of its grants touches. */
  private async usage(tenant: string, ent: Entitlement, gs: readonly GrantRecord[], now: EpochMicros): Promise<GrantUsage[]> {
    const first = Math.min(now, ...gs.map((g) => g.effectiveAt));
    const from = periodAt(ent.period, first).start;
    const to = Math.floor(now / MICROS_PER_MINUTE) * MICROS_PER_MINUTE + MICROS_PER_MINUTE;
    const filterGroupBy = Object.fromEntries(ent.filter.map((f) => [f.name, [...f.values]]));
    const out: GrantUsage[] = [];
    for (let a = from; a < to; a += USAGE_CHUNK_US) {
      const r = await this.d.queries.query({ meter: ent.meter, from: a, to: Math.min(to, a + USAGE_CHUNK_US), windowSize: 'MINUTE', tenants: [tenant], ...(ent.filter.length > 0 ? { filterGroupBy } : {}) });
      for (const row of r.data) {
        const amount = parseQuantity(row.value ?? '0');
        if (typeof amount === 'bigint' && amount !== 0n) out.push({ at: parseRfc3339(row.windowStart)!, amount });
      }
    }
    return out;
  }

  /**
   * Recomputes first when one of the tenant's grants started or ended (or a period began) since
   * the last computation, so a check right at such an instant already sees the new limit rather
   * than the one of the last poll. A failure keeps the standing in force (counted in pollErrors).
   */
  async ensureFresh(tenant: string): Promise<void> {
    const now = this.d.clock.nowMicros();
    for (const [k, c] of this.computed) {
      if (now >= c.standing.nextChange && k.startsWith(`${tenant}\u0000`)) return this.poll();
    }
  }

  /** The standing of a tenant's grants on one entitlement, as last computed here. */
  standing(tenant: string, entitlement: string): GrantStanding | undefined {
    return this.computed.get(`${tenant}\u0000${entitlement}`)?.standing;
  }

  /** A tenant's grants (all entitlements), oldest first, with what each still holds. */
  async list(tenant: string): Promise<GrantView[]> {
    // What each grant holds moves with usage (the limit does not): reads recompute the tenant's standings.
    await this.refresh(tenant);
    const records = await this.d.repo.list(tenant);
    return records.map((g) => view(g, this.standing(tenant, g.entitlement)));
  }

  /** Adds a grant (idempotent per id: the same request again answers the stored grant); audited. */
  async add(tenant: string, input: GrantInput, by: string): Promise<GrantView> {
    const now = this.d.clock.nowMicros();
    const problems: { path: string; message: string }[] = [];
    const ent = this.d.overrides.plain.entitlement(tenant, input.entitlement);
    if (ent === undefined) problems.push({ path: 'body.entitlement', message: `tenant "${tenant}" has no entitlement "${input.entitlement}" (an entitlement id of its plan)` });
    const amount = parseQuantity(input.amount);
    if (typeof amount !== 'bigint' || amount <= 0n) problems.push({ path: 'body.amount', message: 'must be a decimal > 0 with at most 12 fractional digits' });
    const instant = (v: string | undefined, path: string, dflt: EpochMicros) => {
      if (v === undefined) return dflt;
      const t = parseRfc3339(v);
      if (t === undefined) problems.push({ path, message: `"${v}" is not RFC 3339` });
      else if (!minuteAligned(t)) problems.push({ path, message: 'must be a whole minute (usage is replayed per minute, so a grant starts and ends on minute boundaries)' });
      return t ?? dflt;
    };
    const effectiveAt = instant(input.effectiveAt, 'body.effectiveAt', Math.floor(now / MICROS_PER_MINUTE) * MICROS_PER_MINUTE);
    const expiresAt = input.expiresAt === null || input.expiresAt === undefined ? null : instant(input.expiresAt, 'body.expiresAt', 0);
    if (expiresAt !== null && expiresAt <= effectiveAt) problems.push({ path: 'body.expiresAt', message: 'must be after effectiveAt' });
    if (problems.length > 0) throw new TallyError('VALIDATION_FAILED', problems.map((p) => `${p.path}: ${p.message}`).join('; '), problems);
    const grant: StoredGrant = {
      tenant,
      entitlement: input.entitlement,
      id: input.id ?? `gr_${randomBytes(8).toString('hex')}`,
      amount: formatScaled(amount as bigint),
      effectiveAt,
      expiresAt,
      priority: input.priority ?? 0,
      recurrence: input.recurrence ?? null,
      createdAt: now,
      createdBy: by,
    };
    const same = (a: StoredGrant) => JSON.stringify([a.entitlement, a.amount, a.effectiveAt, a.expiresAt, a.priority, a.recurrence]) === JSON.stringify([grant.entitlement, grant.amount, grant.effectiveAt, grant.expiresAt, grant.priority, grant.recurrence]);
    const stored = await this.d.exclusive(async () => {
      const existing = (await this.d.repo.list(tenant)).find((g) => g.id === grant.id);
      if (existing !== undefined) {
        if (!same(existing)) throw new TallyError('GRANT_CONFLICT', `tenant "${tenant}" already has a grant "${grant.id}" with different content`, { grant: view(existing, undefined) });
        return existing;
      }
      await this.d.repo.add(grant);
      return undefined;
    });
    if (stored !== undefined) return view(stored, this.standing(tenant, stored.entitlement));
    await this.audit(tenant, ['add', grant.id], { by, action: 'add', grant: view({ ...grant, voided: null }, undefined) });
    await this.refresh(tenant);
    return (await this.list(tenant)).find((g) => g.id === grant.id)!;
  }

  /** Voids a grant from the next whole minute on (what was drawn stays drawn); voiding twice answers the first void. */
  async void(tenant: string, id: string, by: string, reason: string | null): Promise<GrantView> {
    const at = Math.ceil(this.d.clock.nowMicros() / MICROS_PER_MINUTE) * MICROS_PER_MINUTE;
    const done = await this.d.exclusive(async () => {
      const g = (await this.d.repo.list(tenant)).find((r) => r.id === id);
      if (g === undefined) throw new TallyError('NOT_FOUND', `tenant "${tenant}" has no grant "${id}"`);
      if (g.voided !== null) return false;
      await this.d.repo.void({ tenant, id, at, by, reason });
      return true;
    });
    if (done) await this.audit(tenant, ['void', id], { by, action: 'void', grant: id, at: formatMicros(at), reason });
    await this.refresh(tenant);
    return (await this.list(tenant)).find((g) => g.id === id)!;
  }

  private async audit(tenant: string, parts: string[], data: Record<string, unknown>): Promise<void> {
    const now = this.d.clock.nowMicros();
    const event = { specversion: '1.0', id: this.d.ingest.internalId('qg', [tenant, ...parts]), source: QUOTA_SOURCE, type: GRANT_EVENT_TYPE, subject: tenant, time: formatMicros(now), data };
    const r = await this.d.ingest.ingest([event], { internal: true });
    if (r.rejected > 0) throw new TallyError('STORE_UNAVAILABLE', 'the grant is stored but its audit record could not be written; retry the same request');
  }
}

/** The API's view of a grant. */
export interface GrantView {
  id: string;
  tenant: string;
  entitlement: string;
  amount: string;
  effectiveAt: string;
  expiresAt: string | null;
  priority: number;
  recurrence: Recurrence | null;
  createdAt: string;
  createdBy: string;
  voided: { at: string; by: string; reason: string | null } | null;
  status: 'scheduled' | 'active' | 'expired' | 'voided' | 'dormant';
  remaining: string;
  drawn: string;
}

function view(g: GrantRecord, s: GrantStanding | undefined): GrantView {
  const st = s?.grants.get(g.id);
  return {
    id: g.id,
    tenant: g.tenant,
    entitlement: g.entitlement,
    amount: g.amount,
    effectiveAt: formatMicros(g.effectiveAt),
    expiresAt: g.expiresAt === null ? null : formatMicros(g.expiresAt),
    priority: g.priority,
    recurrence: g.recurrence,
    createdAt: formatMicros(g.createdAt),
    createdBy: g.createdBy,
    voided: g.voided === null ? null : { at: formatMicros(g.voided.at), by: g.voided.by, reason: g.voided.reason },
    status: st?.status ?? 'dormant',
    remaining: formatScaled(st?.remaining ?? 0n),
    drawn: formatScaled(st?.drawn ?? 0n),
  };
}
