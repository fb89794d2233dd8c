import type { AdoptionRows } from './model.ts';

/** One tagged row of an adoption read: kind, period, feature, tenants, users, "firstTime|tenant". */
export type TaggedAdoptionRow = [string, number | null, string | null, bigint | null, bigint | null, string | null];

/** Sorts tagged rows (both adapters return them) into {@link AdoptionRows}. */
export function toAdoptionRows(rows: readonly TaggedAdoptionRow[]): AdoptionRows {
  const out: AdoptionRows = { active: [], usage: [], totals: [], firstUse: [] };
  for (const [kind, period, feature, tenants, users, first] of rows) {
    if (kind === 'a') out.active.push({ period: period!, tenants: tenants!, users: users! });
    else if (kind === 'u') out.usage.push({ period: period!, feature: feature!, tenants: tenants!, users: users! });
    else if (kind === 't') out.totals.push({ feature, tenants: tenants!, users: users! });
    else {
      const at = first!.indexOf('|');
      out.firstUse.push({ feature: feature!, tenant: first!.slice(at + 1), time: Number(first!.slice(0, at)) });
    }
  }
  return out;
}
