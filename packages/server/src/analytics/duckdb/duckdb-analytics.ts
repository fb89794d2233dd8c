import type { DuckDBConnection } from '@duckdb/node-api';
import { int, readBig, SqlParams } from '../../store/duckdb/sql.ts';
import { toAdoptionRows } from '../adoption-rows.ts';
import type { AdoptionQuery, AdoptionRows, FunnelQuery, FunnelStepRow, RetentionCell, RetentionQuery, SubjectKind } from '../model.ts';
import type { AnalyticsStore } from '../port.ts';
import { periodsRelation, propertyExpr, stepExpr } from './sql.ts';

/** The subject's key columns and the condition that it has one. */
function subject(by: SubjectKind): { keys: string; where: string } {
  return by === 'actor' ? { keys: 'tenant, actor', where: 'actor IS NOT NULL' } : { keys: 'tenant', where: 'true' };
}

/** Range, tenant and type conditions of a raw read. */
function rangeWhere(p: SqlParams, from: number, to: number, tenants: string[] | undefined, types?: string[]): string[] {
  const where = [`time_us >= ${int(from)}`, `time_us < ${int(to)}`];
  if (tenants) where.push(tenants.length === 0 ? 'false' : p.in('tenant', tenants));
  if (types) where.push(p.in('type', [...new Set(types)]));
  return where;
}

/**
 * Analytics on the embedded store's raw `events` table (a connection of its own on the same
 * DuckDB instance). One grouped pass per question; funnel steps are found per subject with
 * list lambdas, so the raw table is read once however many steps there are.
 */
export class DuckDbAnalytics implements AnalyticsStore {
  readonly engine = 'duckdb';
  constructor(private readonly conn: DuckDBConnection) {}

  async funnel(q: FunnelQuery): Promise<FunnelStepRow[]> {
    const p = new SqlParams();
    const s = subject(q.by);
    const conds = q.steps.map((st) => stepExpr(p, st.eventType, st.filter));
    const where = [...rangeWhere(p, q.from, q.to, q.tenants, q.steps.map((st) => st.eventType)), s.where];
    // arg_min skips NULL arguments: '' stands for "missing" inside it (both mean null in answers).
    const group = q.breakdown ? `NULLIF(arg_min(COALESCE(${propertyExpr(q.breakdown)}, ''), (time_us, id)) FILTER (WHERE ${conds[0]}), '')` : 'NULL::VARCHAR';
    const lists = conds.slice(1).map((c, i) => `list(time_us) FILTER (WHERE ${c}) AS a${i + 2}`);
    const w = int(q.windowMicros);
    let sql = `WITH p1 AS (SELECT min(time_us) FILTER (WHERE ${conds[0]}) AS t1, ${group} AS g${lists.map((l) => `, ${l}`).join('')}
      FROM events WHERE ${where.join(' AND ')} GROUP BY ${s.keys} HAVING t1 IS NOT NULL)`;
    for (let k = 2; k <= q.steps.length; k++) {
      sql += `, p${k} AS (SELECT *, list_min(list_filter(a${k}, x -> x > t${k - 1} AND x <= t1 + ${w})) AS t${k} FROM p${k - 1})`;
    }
    const measures = q.steps.map((_, i) => (i === 0 ? 'count(*)' : `count(t${i + 1}), quantile_disc(t${i + 1} - t${i}, 0.5)`));
    sql += ` SELECT g, ${measures.join(', ')} FROM p${q.steps.length} GROUP BY g`;
    const rows = (await this.conn.runAndReadAll(sql, p.values)).getRows();
    return rows.flatMap((r) => {
      const group = r[0] as string | null;
      return q.steps.map((_, i) => ({
        group,
        step: i,
        count: readBig(r[i === 0 ? 1 : 2 * i]),
        medianMicrosFromPrevious: i === 0 || r[2 * i + 1] === null ? null : Number(r[2 * i + 1]),
      }));
    });
  }

  async retention(q: RetentionQuery): Promise<RetentionCell[]> {
    const p = new SqlParams();
    const s = subject(q.by);
    const cs = stepExpr(p, q.startEvent.eventType, q.startEvent.filter);
    const cr = stepExpr(p, q.returnEvent.eventType, q.returnEvent.filter);
    const where = [...rangeWhere(p, q.from, q.to, q.tenants, [q.startEvent.eventType, q.returnEvent.eventType]), s.where];
    const on = s.keys.split(', ').map((k) => `e.${k} = f.${k}`).join(' AND ');
    // Per (subject, period) first: the earliest start and the latest return (far fewer rows
    // than events); a subject returns at an offset when its period's latest return is at or
    // after its first start, and each (subject, period) row is counted once, so no DISTINCT.
    const sql = `WITH e AS (SELECT ${s.keys}, periods.n AS p, min(time_us) FILTER (WHERE ${cs}) AS smin, max(time_us) FILTER (WHERE ${cr}) AS rmax
          FROM events ASOF JOIN ${periodsRelation(q.from, q.to, q.period, q.timeZone)} ON time_us >= periods.s WHERE ${where.join(' AND ')} GROUP BY ${s.keys}, periods.n),
      f AS (SELECT ${s.keys}, min(smin) AS first, arg_min(p, smin) AS cohort FROM e WHERE smin IS NOT NULL GROUP BY ${s.keys})
      SELECT cohort, -1 AS off, count(*) FROM f GROUP BY cohort
      UNION ALL SELECT f.cohort, e.p - f.cohort AS off, count(*) FROM e JOIN f ON ${on} WHERE e.rmax >= f.first AND e.p - f.cohort BETWEEN 0 AND ${int(q.periods)} GROUP BY f.cohort, e.p - f.cohort`;
    const rows = (await this.conn.runAndReadAll(sql, p.values)).getRows();
    return rows.map((r) => ({ cohort: Number(r[0]), offset: Number(r[1]), count: readBig(r[2]) }));
  }

  async adoption(q: AdoptionQuery): Promise<AdoptionRows> {
    const p = new SqlParams();
    const feature = propertyExpr(q.dimension);
    const type = p.add(q.eventType);
    const where = rangeWhere(p, q.from, q.to, q.tenants).join(' AND ');
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
