/** How often a recurring grant is granted anew (each instance expires when the next one starts). */
export const RECURRENCES = ['hour', 'day', 'week', 'month'] as const;
export type Recurrence = (typeof RECURRENCES)[number];

/** A grant as stored: immutable once written (a void is a record of its own). Times in epoch µs. */
export interface StoredGrant {
  readonly tenant: string;
  /** The entitlement id in the tenant's plan. */
  readonly entitlement: string;
  readonly id: string;
  /** Exact decimal text (> 0, ≤ 12 fractional digits). */
  readonly amount: string;
  readonly effectiveAt: number;
  /** Exclusive; `null`: never expires. */
  readonly expiresAt: number | null;
  /** Among grants expiring together, lower numbers are drawn first. */
  readonly priority: number;
  /** Recurring grants start afresh every interval from `effectiveAt` (what is left of the previous instance lapses). */
  readonly recurrence: Recurrence | null;
  readonly createdAt: number;
  /** Id of the key that made it. */
  readonly createdBy: string;
}

/** The record that voids a grant from `at` on (what was drawn before stays drawn). */
export interface GrantVoid {
  readonly tenant: string;
  readonly id: string;
  readonly at: number;
  readonly by: string;
  readonly reason: string | null;
}

/** A grant with its void, if any (the earliest one written counts). */
export interface GrantRecord extends StoredGrant {
  readonly voided: Omit<GrantVoid, 'tenant' | 'id'> | null;
}

/**
 * The grants' own store (insert-only). Adapters: DuckDB (embedded) and ClickHouse (distributed),
 * both running `repo-contract.ts`. Writers serialise through the quota lock, so an id is written
 * once per tenant; nothing is updated or deleted.
 */
export interface GrantRepo {
  add(g: StoredGrant): Promise<void>;
  void(v: GrantVoid): Promise<void>;
  /** Grants (of one tenant, or all) oldest first, each with its void. */
  list(tenant?: string): Promise<GrantRecord[]>;
  close(): Promise<void>;
}

/** Joins grants with their earliest void, oldest first (then by id). */
export function joinVoids(grants: StoredGrant[], voids: GrantVoid[]): GrantRecord[] {
  const first = new Map<string, GrantVoid>();
  for (const v of voids) {
    const k = `${v.tenant}\u0000${v.id}`;
    const seen = first.get(k);
    if (seen === undefined || v.at < seen.at) first.set(k, v);
  }
  return grants
    .map((g) => {
      const v = first.get(`${g.tenant}\u0000${g.id}`);
      return { ...g, voided: v === undefined ? null : { at: v.at, by: v.by, reason: v.reason } };
    })
    .sort((a, b) => a.createdAt - b.createdAt || a.tenant.localeCompare(b.tenant) || a.id.localeCompare(b.id));
}
