import { ClickHouseLogLevel, createClient, type ClickHouseClient } from '@clickhouse/client';
import { lit, parseTsv, readBig } from '../../store/clickhouse/sql.ts';
import { int } from '../../store/sql-int.ts';
import { toAdoptionRows } from '../adoption-rows.ts';
import type { AdoptionQuery, AdoptionRows, FunnelQuery, FunnelStepRow, RetentionCell, RetentionQuery, SubjectKind } from '../model.ts';
import type { AnalyticsStore } from '../port.ts';
import { checkProperty } from '../property.ts';
import { periodExpr, propertyExpr, rangeWhere, stepExpr, type JsonReader } from './sql.ts';

/** Where the distributed profile's raw events are. */
export interface ClickHouseAnalyticsOptions {
  url: string;
  database: string;
}

/** A time after every event: the "not reached" value of a funnel step (arrays have no NULL minimum on 18.16). */
const NEVER = '9223372036854775807';

function subject(by: SubjectKind): { keys: string; where: string } {
  return by === 'actor' ? { keys: 'tenant, actor', where: 'isNotNull(actor)' } : { keys: 'tenant', where: '1' };
}

/**
 * Analytics on ClickHouse's raw `events` table, in SQL that runs on 18.16 and current servers
 * (no window functions, no arrayFold, no query parameters: escaped literals). Each question is
 * one grouped pass per subject; funnel steps are found with array lambdas.
 */
export class ClickHouseAnalytics implements AnalyticsStore {
  readonly engine = 'clickhouse';
  private constructor(
    private readonly client: ClickHouseClient,
    private readonly reader: JsonReader,
  ) {}

  static async open(opts: ClickHouseAnalyticsOptions): Promise<ClickHouseAnalytics> {
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(opts.database)) throw new Error(`invalid ClickHouse database name "${opts.database}"`);
    const client = createClient({ url: opts.url, database: opts.database, request_timeout: 300_000, log: { level: ClickHouseLogLevel.OFF } });
    const rs = await client.query({ query: "SELECT count() FROM system.functions WHERE name = 'JSONExtractString'", format: 'TabSeparated' });
    return new ClickHouseAnalytics(client, (await rs.text()).trim() === '0' ? 'visitParamExtractString' : 'JSONExtractString');
  }

  /** Runs a read and returns TSV rows. */
  async rows(query: string): Promise<(string | null)[][]> {
    const rs = await this.client.query({ query, format: 'TabSeparated' });
    return parseTsv(await rs.text());
  }

  async funnel(q: FunnelQuery): Promise<FunnelStepRow[]> {
    const s = subject(q.by);
    if (q.breakdown) checkProperty(q.breakdown);
    const conds = q.steps.map((st) => stepExpr(this.reader, st.eventType, st.filter));
    const where = [...rangeWhere(q.from, q.to, q.tenants, q.steps.map((st) => st.eventType), q.excludeTenants), s.where];
    // Aggregates skip NULLs: argMin reads the raw string ('' for missing) and nullIf comes after.
    const group = q.breakdown ? `nullIf(argMinIf(${this.reader}(data, ${lit(q.breakdown)}), (time_us, id), ${conds[0]}), '')` : 'CAST(NULL AS Nullable(String))';
    const lists = conds.slice(1).map((c, i) => `, groupArrayIf(time_us, ${c}) AS a${i + 2}`);
    const w = int(q.windowMicros);
    // Every column a step's lambda reads (t1, the previous step) is also read outside a lambda
    // (the medians): 18.16 drops subquery columns that only a lambda reads.
    const steps = q.steps.slice(1).map((_, i) => {
      const k = i + 2;
      return `, arrayReduce('min', arrayConcat(arrayFilter(x -> x > t${k - 1} AND x <= t1 + ${w}, a${k}), [toInt64(${NEVER})])) AS t${k}`;
    });
    const measures = q.steps.map((_, i) => {
      if (i === 0) return 'count()';
      const reached = `t${i + 1} < ${NEVER}`;
      return `countIf(${reached}), arrayElement(arraySort(groupArrayIf(t${i + 1} - t${i}, ${reached})), intDiv(countIf(${reached}) + 1, 2))`;
    });
    const sql = `SELECT g, ${measures.join(', ')} FROM (
        SELECT g, t1${steps.join('')} FROM (
          SELECT minIf(time_us, ${conds[0]}) AS t1, ${group} AS g${lists.join('')}
          FROM events WHERE ${where.join(' AND ')} GROUP BY ${s.keys} HAVING countIf(${conds[0]}) > 0))
      GROUP BY g`;
    return (await this.rows(sql)).flatMap((r) =>
      q.steps.map((_, i) => {
        const count = readBig(r[i === 0 ? 1 : 2 * i]!);
        return { group: r[0] ?? null, step: i, count, medianMicrosFromPrevious: i === 0 || count === 0n ? null : Number(r[2 * i + 1]) };
      }),
    );
  }

  async retention(q: RetentionQuery): Promise<RetentionCell[]> {
    const s = subject(q.by);
    const cs = stepExpr(this.reader, q.startEvent.eventType, q.startEvent.filter);
    const cr = stepExpr(this.reader, q.returnEvent.eventType, q.returnEvent.filter);
    const where = [...rangeWhere(q.from, q.to, q.tenants, [q.startEvent.eventType, q.returnEvent.eventType], q.excludeTenants), s.where];
    // Per (subject, period) first the earliest start and the latest return (far fewer rows
    // than events), then per subject its first start, cohort and return periods; one row per
    // return period (index 0: the subject itself, its cohort's size) rather than an array
    // lambda: 18.16 drops subquery columns that only a lambda reads ("Unknown identifier").
    const sql = `SELECT cohort, off, count() FROM (
        SELECT cohort, arrayJoin(arrayConcat([toUInt32(0)], arrayEnumerate(rp))) AS i, if(i = 0, -1, if(rmaxs[i] >= t_first, rp[i] - cohort, -2)) AS off FROM (
          SELECT min(smin) AS t_first, argMin(p, smin) AS cohort, groupArrayIf(p, has_r) AS rp, groupArrayIf(rmax, has_r) AS rmaxs FROM (
            SELECT ${s.keys}, p, if(countIf(is_s) > 0, minIf(time_us, is_s), toInt64(${NEVER})) AS smin, maxIf(time_us, is_r) AS rmax, countIf(is_r) > 0 AS has_r
            FROM (SELECT ${s.keys}, time_us, ${periodExpr(q.period, q.timeZone)} AS p, ${cs} AS is_s, ${cr} AS is_r FROM events WHERE ${where.join(' AND ')})
            GROUP BY ${s.keys}, p)
          GROUP BY ${s.keys} HAVING t_first < ${NEVER}))
      WHERE off = -1 OR (off >= 0 AND off <= ${int(q.periods)})
      GROUP BY cohort, off`;
    return (await this.rows(sql)).map((r) => ({ cohort: Number(r[0]), offset: Number(r[1]), count: readBig(r[2]!) }));
  }

  async adoption(q: AdoptionQuery): Promise<AdoptionRows> {
    const feature = propertyExpr(this.reader, q.dimension);
    const where = rangeWhere(q.from, q.to, q.tenants, undefined, q.excludeTenants).join(' AND ');
    const users = 'uniqExactIf(tenant, assumeNotNull(actor), isNotNull(actor))';
    const e = `(SELECT tenant, actor, time_us, ${periodExpr(q.period, q.timeZone)} AS p, if(type = ${lit(q.eventType)}, ${feature}, NULL) AS f FROM events WHERE ${where})`;
    const sql = `SELECT 'a', toNullable(p), CAST(NULL AS Nullable(String)), toNullable(uniqExact(tenant)), toNullable(${users}), CAST(NULL AS Nullable(String)) FROM ${e} GROUP BY p
      UNION ALL SELECT 'u', toNullable(p), f, toNullable(uniqExact(tenant)), toNullable(${users}), CAST(NULL AS Nullable(String)) FROM ${e} WHERE isNotNull(f) GROUP BY p, f
      UNION ALL SELECT 't', CAST(NULL AS Nullable(Int32)), CAST(NULL AS Nullable(String)), toNullable(uniqExact(tenant)), toNullable(${users}), CAST(NULL AS Nullable(String)) FROM ${e}
      UNION ALL SELECT 't', CAST(NULL AS Nullable(Int32)), f, toNullable(uniqExact(tenant)), toNullable(${users}), CAST(NULL AS Nullable(String)) FROM ${e} WHERE isNotNull(f) GROUP BY f
      UNION ALL SELECT 'f', CAST(NULL AS Nullable(Int32)), f, CAST(NULL AS Nullable(UInt64)), CAST(NULL AS Nullable(UInt64)), toNullable(concat(toString(min(time_us)), '|', tenant)) FROM ${e} WHERE isNotNull(f) GROUP BY f, tenant`;
    return toAdoptionRows(
      (await this.rows(sql)).map((r) => [r[0]!, r[1] === null ? null : Number(r[1]), r[2] ?? null, r[3] === null ? null : readBig(r[3]!), r[4] === null ? null : readBig(r[4]!), r[5] ?? null]),
    );
  }

  close(): Promise<void> {
    return this.client.close();
  }
}
