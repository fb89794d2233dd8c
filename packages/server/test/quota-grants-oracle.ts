/** A grant as the oracle sees it (µs; `every`: recurring interval in µs, or null). */
export interface OracleGrant {
  id: string;
  amount: bigint;
  effectiveAt: number;
  expiresAt: number | null;
  priority: number;
  every: number | null;
  voidAt: number | null;
}

/**
 * An independent recomputation of what a tenant may consume at `at`: unit by unit, each unit of
 * every earlier admitted consumption takes the usable allowance that expires soonest (then the
 * plan's own allowance of the hour, then lower priority, earlier start, smaller id), picked afresh
 * by a linear scan; the plan's allowance is `limit` per hour. Returns what is usable at `at`.
 */
export function oracleBalance(grants: readonly OracleGrant[], limit: bigint, hour: number, admitted: readonly { at: number; amount: bigint }[], at: number): bigint {
  type Slot = { key: string; start: number; end: number; priority: number; left: bigint };
  const slots: Slot[] = [];
  const first = Math.min(at, ...admitted.map((a) => a.at), ...grants.map((g) => g.effectiveAt));
  for (let h = Math.floor(first / hour) * hour; h <= at; h += hour) slots.push({ key: ` plan${h}`, start: h, end: h + hour, priority: -1, left: limit });
  for (const g of grants) {
    const stop = Math.min(g.expiresAt ?? Infinity, g.voidAt ?? Infinity);
    if (g.every === null) {
      if (stop > g.effectiveAt) slots.push({ key: g.id, start: g.effectiveAt, end: stop, priority: g.priority, left: g.amount });
      continue;
    }
    for (let s = g.effectiveAt, k = 0; s < stop && s <= at; s += g.every, k++) slots.push({ key: `${g.id}#${k}`, start: s, end: Math.min(s + g.every, stop), priority: g.priority, left: g.amount });
  }
  const usable = (s: Slot, t: number) => s.start <= t && t < s.end && s.left > 0n;
  const better = (a: Slot, b: Slot) => a.end < b.end || (a.end === b.end && (a.priority < b.priority || (a.priority === b.priority && (a.start < b.start || (a.start === b.start && a.key < b.key)))));
  for (const c of [...admitted].sort((a, b) => a.at - b.at)) {
    for (let u = 0n; u < c.amount; u++) {
      let best: Slot | undefined;
      for (const s of slots) if (usable(s, c.at) && (best === undefined || better(s, best))) best = s;
      if (best === undefined) throw new Error(`oracle: admitted usage at ${c.at} found no allowance`);
      best.left--;
    }
  }
  return slots.reduce((sum, s) => (s.start <= at && at < s.end ? sum + s.left : sum), 0n);
}
