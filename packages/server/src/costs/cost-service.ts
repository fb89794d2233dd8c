import { minorDigits } from '../billing/money.ts';
import { TallyError } from '../errors/registry.ts';
import type { MeterRegistry } from '../meters/registry.ts';
import { QUANTITY_SCALE } from '../shared/decimal.ts';
import type { QueryService } from '../usage/query-service.ts';
import { allocateLargestRemainder, fromMinor, toMinor } from './allocate.ts';
import type { CostConfig } from './cost-schema.ts';
import { periodBounds, type CostPeriod } from './period.ts';

/** One tenant's part of one cost. */
export interface CostPart {
  tenant: string;
  /** Exact, in the cost's currency with its minor unit's decimals. */
  amount: string;
  /** `shared`: a share of the pool by usage; `dedicated`: its own dedicated cost. */
  basis: 'shared' | 'dedicated';
  /** The tenant's usage of the allocation meter in the period (exact decimal). */
  usage: string;
}

/** One cost attributed for a period. */
export interface AttributedCost {
  name: string;
  currency: string;
  allocateBy: string;
  unit: string | null;
  /** Pool + dedicated costs: what the parts and `unallocated` sum to, exactly. */
  total: string;
  pool: string;
  /** Pool left unallocated because no tenant used the meter in the period. */
  unallocated: string;
  parts: CostPart[];
}

/** The attribution of every configured cost for a period. */
export interface CostReport {
  period: string;
  from: string;
  to: string;
  costs: AttributedCost[];
  /** Per tenant and currency: the sum of its parts. */
  tenants: { tenant: string; currency: string; amount: string; costs: { name: string; amount: string }[] }[];
}

/** An exact decimal string ("12.5", "-3") as an integer scaled by 10^12, without a magnitude limit. */
function scaled(text: string | null): bigint {
  if (text === null) return 0n;
  const neg = text.startsWith('-');
  const [int, frac = ''] = text.replace('-', '').split('.');
  const v = BigInt((int || '0') + frac.padEnd(QUANTITY_SCALE, '0').slice(0, QUANTITY_SCALE));
  return neg ? -v : v;
}

/**
 * Attributes shared costs to tenants per period: each cost's pool in proportion to the tenants'
 * usage of its meter (read through the QueryService: the query API's exact numbers), split by
 * largest remainder in the currency's minor unit so the parts sum exactly to the pool;
 * dedicated-tier tenants carry their dedicated amount and take no share of the pool.
 */
export class CostService {
  constructor(
    private readonly costs: readonly CostConfig[],
    private readonly queries: QueryService,
    private readonly meters: MeterRegistry,
  ) {}

  /** The configured costs. */
  configured(): readonly CostConfig[] {
    return this.costs;
  }

  async attribute(period: CostPeriod): Promise<CostReport> {
    const out: AttributedCost[] = [];
    for (const c of this.costs) {
      const meter = this.meters.get(c.allocateBy);
      if (!meter) throw new TallyError('NOT_FOUND', `cost "${c.name}": no meter "${c.allocateBy}"`);
      const r = await this.queries.query({ meter: c.allocateBy, from: period.start, to: period.end, groupBy: ['tenant'] });
      const usage = new Map<string, string>();
      for (const row of r.data) if (row.tenant !== null) usage.set(row.tenant, row.value ?? '0');
      const digits = minorDigits(c.currency);
      const dedicated = new Map(Object.entries(c.dedicated ?? {}).map(([t, v]) => [t, toMinor(v, digits)] as const));
      const pool = toMinor(c.amount, digits);
      const shares = allocateLargestRemainder(pool, [...usage].filter(([t]) => !dedicated.has(t)).map(([t, v]) => [t, scaled(v)] as const));
      const allocated = [...shares.values()].reduce((s, v) => s + v, 0n);
      const parts: CostPart[] = [
        ...[...dedicated].map(([tenant, v]) => ({ tenant, amount: fromMinor(v, digits), basis: 'dedicated' as const, usage: usage.get(tenant) ?? '0' })),
        ...[...shares].map(([tenant, v]) => ({ tenant, amount: fromMinor(v, digits), basis: 'shared' as const, usage: usage.get(tenant)! })),
      ].sort((a, b) => (a.tenant < b.tenant ? -1 : a.tenant > b.tenant ? 1 : 0));
      const dedicatedSum = [...dedicated.values()].reduce((s, v) => s + v, 0n);
      out.push({ name: c.name, currency: c.currency, allocateBy: c.allocateBy, unit: meter.def.unit ?? null, total: fromMinor(pool + dedicatedSum, digits), pool: fromMinor(pool, digits), unallocated: fromMinor(pool - allocated, digits), parts });
    }
    return { period: period.label, ...periodBounds(period), costs: out, tenants: byTenant(out) };
  }
}

function byTenant(costs: AttributedCost[]): CostReport['tenants'] {
  const m = new Map<string, { tenant: string; currency: string; minor: bigint; digits: number; costs: { name: string; amount: string }[] }>();
  for (const c of costs) {
    const digits = minorDigits(c.currency);
    for (const p of c.parts) {
      const k = `${p.tenant}\u0000${c.currency}`;
      let e = m.get(k);
      if (!e) m.set(k, (e = { tenant: p.tenant, currency: c.currency, minor: 0n, digits, costs: [] }));
      e.minor += toMinor(p.amount, digits);
      e.costs.push({ name: c.name, amount: p.amount });
    }
  }
  return [...m.values()].sort((a, b) => (a.tenant < b.tenant ? -1 : a.tenant > b.tenant ? 1 : a.currency < b.currency ? -1 : 1)).map((e) => ({ tenant: e.tenant, currency: e.currency, amount: fromMinor(e.minor, e.digits), costs: e.costs }));
}
