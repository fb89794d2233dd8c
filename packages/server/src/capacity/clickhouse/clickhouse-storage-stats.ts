import type { ClickHouseClient } from '@clickhouse/client';
import { lit, parseTsv } from '../../store/clickhouse/sql.ts';
import { toTiers, type StorageMeasure, type StorageStats, type Tier } from '../storage-stats.ts';

const RES_TIER: Record<string, Tier> = { minute: 'minute', hour: 'hour', day: 'day' };

/**
 * Storage of the distributed profile's ClickHouse database: `bytes_on_disk` of the active parts
 * per table (`system.parts`). The one `rollups` table holds every resolution; its bytes are
 * split by each resolution's share of its rows.
 */
export class ClickHouseStorageStats implements StorageStats {
  constructor(
    private readonly client: ClickHouseClient,
    private readonly database: string,
  ) {}

  private async rows(query: string): Promise<(string | null)[][]> {
    const r = await this.client.query({ query, format: 'TabSeparated' });
    return parseTsv(await r.text());
  }

  async measure(): Promise<StorageMeasure> {
    const parts = await this.rows(`SELECT table, sum(bytes_on_disk), sum(rows) FROM system.parts WHERE database = ${lit(this.database)} AND active GROUP BY table`);
    const tables: { table: string; bytes: number; rows: number; tier?: Tier }[] = [];
    for (const [table, bytes, rows] of parts) {
      if (table !== 'rollups') {
        tables.push({ table: table!, bytes: Number(bytes), rows: Number(rows) });
        continue;
      }
      const byRes = await this.rows(`SELECT res, count() FROM ${this.database}.rollups GROUP BY res`);
      const total = byRes.reduce((s, [, n]) => s + Number(n), 0);
      for (const [res, n] of byRes) tables.push({ table: 'rollups', tier: RES_TIER[res!] ?? 'other', rows: Number(n), bytes: total > 0 ? Math.round((Number(bytes) * Number(n)) / total) : 0 });
    }
    return {
      engine: 'clickhouse',
      method: `ClickHouse: bytes_on_disk of the active parts per table (system.parts, database ${this.database}); the rollups table split by rows per resolution`,
      tiers: toTiers(tables),
      totalBytes: tables.reduce((s, t) => s + t.bytes, 0),
    };
  }
}
