import type { DuckDBConnection } from '@duckdb/node-api';
import { int, readBig, SqlParams } from '../../store/duckdb/sql.ts';
import { toAdoptionRows } from '../adoption-rows.ts';
import type { AdoptionQuery, AdoptionRows, FunnelQuery, FunnelStepRow, RetentionCell, RetentionQuery, SubjectKind } from '../model.ts';
import type { AnalyticsStore } from '../port.ts';
import { periodsRelation, propertyExpr, stepExpr, uniformPeriodExpr } from './sql.ts';

/** The subject's key columns and the condition that it has one. */
function subject(by: SubjectKind): { keys: string; where: string } {
  return by === 'actor' ? { keys: 'tenant, actor', where: 'actor IS NOT NULL' } : { keys: 'tenant', where: 'true' };
}

/** Range, tenant and type conditions of a raw read. */
function rangeWhere(p: SqlParams, from: number, to: number, tenants: string[] | undefined, types?: string[], exclude?: string[]): string[] {
  const where = [`time_us >= ${int(from)}`, `time_us < ${int(to)}`];
  if (tenants) where.push(tenants.length === 0 ? 'false' : p.in('tenant', tenants));
  if (exclude?.length) where.push(`NOT ${p.in('tenant', exclude)}`);
  if (types) where.push(p.in('type', [...new Set(types)]));
  return where;
}

/**
 * Analytics on the embedded store's raw `events` table (a connection of its own on the same
 * DuckDB instance). Funnels: anchors, then the later steps' events inside each anchor's window
 * as per-step lists (two reads of the raw table however many steps); retention: first starts,
 * then the return events joined to them; periods by ASOF joins on the period starts.
 */
export class DuckDbAnalytics implements AnalyticsStore {
  readonly engine = 'duckdb';
  constructor(private readonly conn: DuckDBConnection) {}

  async funnel(q: FunnelQuery): Promise<FunnelStepRow[]> {
    const p = new SqlParams();
    const s = subject(q.by);
    const keys = s.keys.split(', ');
    const conds = q.steps.map((st) => stepExpr(p, st.eventType, st.filter));
    const w = int(q.windowMicros);
    // arg_min skips NULL arguments: '' stands for "missing" inside it (both mean null in answers).
    const group = q.breakdown ? `NULLIF(arg_min(COALESCE(${propertyExpr(q.breakdown)}, ''), (time_us, id)), '')` : 'NULL::VARCHAR';
    // Step 1: each subject's anchor. Step k: the earliest matching event strictly after step k−1
    // and within the window of the anchor, joined on the subject; only survivors go on.
    const ctes = [`s1 AS (SELECT ${s.keys}, min(time_us) AS t1, ${group} AS g FROM events WHERE ${[...rangeWhere(p, q.from, q.to, q.tenants, undefined, q.excludeTenants), s.where, conds[0]].join(' AND ')} GROUP BY ${s.keys})`];
    for (let k = 2; k <= q.steps.length; k++) {
      const on = [...keys.map((c) => `e.${c} = s.${c}`), `e.time_us > s.t${k - 1}`, `e.time_us <= s.t1 + ${w}`, `e.time_us < ${int(q.to)}`];
      // One row per subject in s(k−1): group by the subject only and carry its earlier times
      // along (any_value), rather than hashing every carried column as a group key.
      const carried = ['g', ...Array.from({ length: k - 1 }, (_, i) => `t${i + 1}`)].map((c) => `any_value(s.${c}) AS ${c}`).join(', ');
      ctes.push(`s${k} AS (SELECT ${keys.map((c) => `s.${c}`).join(', ')}, ${carried}, min(e.time_us) AS t${k} FROM s${k - 1} s JOIN events e ON ${on.join(' AND ')} WHERE ${conds[k - 1]!.replace(/\b(type|data)\b/g, 'e.$1')} GROUP BY ${keys.map((c) => `s.${c}`).join(', ')})`);
    }
    const parts = q.steps.map((_, i) => (i === 0 ? 'SELECT g, 0 AS step, count(*) AS n, NULL::BIGINT AS m FROM s1 GROUP BY g' : `SELECT g, ${i}, count(*), quantile_disc(t${i + 1} - t${i}, 0.5) FROM s${i + 1} GROUP BY g`));
    const rows = (await this.conn.runAndReadAll(`WITH ${ctes.join(', ')} ${parts.join(' UNION ALL ')}`, p.values)).getRows();
    const groups = new Map<string | null, FunnelStepRow[]>();
    for (const r of rows) {
      const g = r[0] as string | null;
      if (!groups.has(g)) groups.set(g, q.steps.map((_, step) => ({ group: g, step, count: 0n, medianMicrosFromPrevious: null })));
      const row = groups.get(g)![Number(r[1])]!;
      row.count = readBig(r[2]);
      row.medianMicrosFromPrevious = r[3] === null ? null : Number(r[3]);
    }
    return [...groups.values()].flat();
  }

  async retention(q: RetentionQuery): Promise<RetentionCell[]> {
    const p = new SqlParams();
    const s = subject(q.by);
    const cs = stepExpr(p, q.startEvent.eventType, q.startEvent.filter);
    const cr = stepExpr(p, q.returnEvent.eventType, q.returnEvent.filter);
    const on = s.keys.split(', ').map((k) => `e.${k} = f.${k}`).join(' AND ');
    const base = [...rangeWhere(p, q.from, q.to, q.tenants, undefined, q.excludeTenants), s.where];
    const uniform = uniformPeriodExpr(q.from, q.to, q.period, q.timeZone);
    if (uniform) {
      // Fast path: periods by arithmetic (no ASOF join per return event), and the return events
      // reduced to distinct (subject, cohort, offset) at once rather than (subject, time) first.
      const fk = s.keys.split(', ').map((k) => `f.${k}`).join(', ');
      const off = `(${uniform('e.time_us')} - ${uniform('f.first')})`;
      const sql = `WITH f AS (SELECT ${s.keys}, min(time_us) AS first FROM events WHERE ${[...base, cs].join(' AND ')} GROUP BY ${s.keys})
        SELECT ${uniform('first')} AS cohort, -1 AS off, count(*) FROM f GROUP BY 1
        UNION ALL SELECT cohort, off, count(*) FROM (SELECT DISTINCT ${fk}, ${uniform('f.first')} AS cohort, ${off} AS off FROM f JOIN events e ON ${on}
          WHERE ${[...base, cr].map((c) => c.replace(/\b(type|data|time_us|tenant|actor)\b/g, 'e.$1')).join(' AND ')} AND e.time_us >= f.first) WHERE off BETWEEN 0 AND ${int(q.periods)} GROUP BY cohort, off`;
      const rows = (await this.conn.runAndReadAll(sql, p.values)).getRows();
      return rows.map((r) => ({ cohort: Number(r[0]), offset: Number(r[1]), count: readBig(r[2]) }));
    }
    const periods = periodsRelation(q.from, q.to, q.period, q.timeZone);
    // First starts per subject (start events only), then the return events at or after them
    // (return events only, joined on the subject); periods by ASOF joins on the period starts.
    const sql = `WITH f0 AS (SELECT ${s.keys}, min(time_us) AS first FROM events WHERE ${[...base, cs].join(' AND ')} GROUP BY ${s.keys}),
      f AS (SELECT f0.*, periods.n AS cohort FROM f0 ASOF JOIN ${periods} ON f0.first >= periods.s),
      r AS (SELECT DISTINCT ${s.keys.split(', ').map((k) => `f.${k}`).join(', ')}, f.cohort, e.time_us AS t FROM f JOIN events e ON ${on} AND e.time_us >= f.first WHERE ${[...base, cr].map((c) => c.replace(/\b(type|data|time_us|tenant|actor)\b/g, 'e.$1')).join(' AND ')}),
      rp AS (SELECT DISTINCT ${s.keys}, cohort, periods.n - cohort AS off FROM r ASOF JOIN ${periods} ON r.t >= periods.s)
      SELECT cohort, -1 AS off, count(*) FROM f GROUP BY cohort
      UNION ALL SELECT cohort, off, count(*) FROM rp WHERE off BETWEEN 0 AND ${int(q.periods)} GROUP BY cohort, off`;
    const rows = (await this.conn.runAndReadAll(sql, p.values)).getRows();
    return rows.map((r) => ({ cohort: Number(r[0]), offset: Number(r[1]), count: readBig(r[2]) }));
  }

  async adoption(q: AdoptionQuery): Promise<AdoptionRows> {
    const p = new SqlParams();
    const feature = propertyExpr(q.dimension);
    const type = p.add(q.eventType);
    const where = rangeWhere(p, q.from, q.to, q.tenants, undefined, q.excludeTenants).join(' AND ');
    const users = `count(DISTINCT CASE WHEN actor IS NOT NULL THEN [tenant, actor] END)`;
    const sql = `WITH e AS (SELECT tenant, actor, time_us, periods.n AS p, CASE WHEN type = ${type} THEN ${feature} END AS f FROM events ASOF JOIN ${periodsRelation(q.from, q.to, q.period, q.timeZone)} ON time_us >= periods.s WHERE ${where})
      SELECT 'a', p, NULL, count(DISTINCT tenant), ${users}, NULL FROM e GROUP BY p
      UNION ALL SELECT 'u', p, f, count(DISTINCT tenant), ${users}, NULL FROM e WHERE f IS NOT NULL GROUP BY p, f
      UNION ALL SELECT 't', NULL, NULL, count(DISTINCT tenant), ${users}, NULL FROM e
      UNION ALL SELECT 't', NULL, f, count(DISTINCT tenant), ${users}, NULL FROM e WHERE f IS NOT NULL GROUP BY f
      UNION ALL SELECT 'f', NULL, f, NULL, NULL, min(time_us) || '|' || tenant FROM e WHERE f IS NOT NULL GROUP BY f, tenant`;
    const rows = (await this.conn.runAndReadAll(sql, p.values)).getRows();
    return toAdoptionRows(rows.map((r) => [r[0] as string, r[1] === null ? null : Number(r[1]), r[2] as string | null, r[3] === null ? null : readBig(r[3]), r[4] === null ? null : readBig(r[4]), r[5] as string | null]));
  }

  close(): Promise<void> {
    this.conn.closeSync();
    return Promise.resolve();
  }
}
