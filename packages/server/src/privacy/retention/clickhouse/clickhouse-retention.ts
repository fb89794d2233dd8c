import { CORRECTION_TYPE } from '../../../audit/corrections/correction.ts';
import type { EpochMicros } from '../../../shared/time.ts';
import type { ClickHouseStore } from '../../../store/clickhouse/clickhouse-store.ts';
import { TIER_PARTITIONS } from '../../../store/clickhouse/schema.ts';
import { int } from '../../../store/sql-int.ts';
import type { StoreTier } from '../policy.ts';
import type { RetentionStore, TierDrop } from '../port.ts';

/** The period index a partition key holds for a tier, or null when the key is another tier's (or a day's corrections). */
function indexOf(tier: StoreTier, key: number): number | null {
  switch (tier) {
    case 'raw':
      return key % 2 === 0 ? key / 2 : null;
    case 'minute':
      return key < 1_000_000 ? key : null;
    case 'hour':
      return key >= 1_000_000 && key < 2_000_000 ? key - 1_000_000 : null;
    case 'day':
      return key >= 2_000_000 ? key - 2_000_000 : null;
    default:
      return key;
  }
}

/**
 * Retention on ClickHouse: drops whole partitions (`ALTER TABLE … DROP PARTITION <n>`, no
 * mutation, instant on 18.16 and current servers) of the integer partition keys in
 * store/clickhouse/schema.ts. A raw day's ids still inside the backfill horizon are copied to
 * `dedupe_ledger` first, skipping ids already there, so a re-run after a crash adds nothing twice.
 */
export class ClickHouseRetention implements RetentionStore {
  constructor(
    private readonly store: ClickHouseStore,
    private readonly database: string,
  ) {}

  private async partitions(table: string): Promise<{ key: number; rows: number }[]> {
    const rows = await this.store.rows(`SELECT partition, sum(rows) FROM system.parts WHERE database = '${this.database}' AND table = '${table}' AND active GROUP BY partition`);
    return rows.map((r) => {
      const key = Number(r[0]);
      if (!Number.isInteger(key)) throw new Error(`table ${this.database}.${table} is not partitioned by time (created by an earlier Tally): retention drops whole partitions only; move its data to a new database (docs/privacy.md)`);
      return { key, rows: Number(r[1]) };
    });
  }

  async drop(tier: StoreTier, cutoff: EpochMicros, opts: { dryRun: boolean; ledgerFrom?: EpochMicros }): Promise<TierDrop> {
    const { table, width, key } = TIER_PARTITIONS[tier];
    const limit = Math.floor(cutoff / width);
    const horizon = limit * width;
    const doomed = (await this.partitions(table)).filter((p) => {
      const i = indexOf(tier, p.key);
      return i !== null && i < limit && key(i) === p.key;
    });
    const rows = doomed.reduce((n, p) => n + p.rows, 0);
    let ledgered = 0;
    // Raw: the latest ingest time among what goes (the archive refuses ingest days from it on).
    let maxIngested: number | undefined;
    if (tier === 'raw' && doomed.length > 0) {
      const [[max]] = (await this.store.rows(`SELECT max(ingested_us), count() FROM events WHERE time_us < ${int(horizon)} AND type != '${CORRECTION_TYPE}'`)) as [[string]];
      if (max !== undefined && max !== '0') maxIngested = Number(max);
    }
    if (!opts.dryRun) {
      for (const p of doomed.sort((a, b) => a.key - b.key)) {
        const start = indexOf(tier, p.key)! * width;
        if (tier === 'raw' && opts.ledgerFrom !== undefined && start + width > opts.ledgerFrom) ledgered += await this.ledger(start, start + width, opts.ledgerFrom);
        await this.store.client.command({ query: `ALTER TABLE ${table} DROP PARTITION ${p.key}` });
      }
    }
    return { tier, horizon, rows, partitions: doomed.length, ...(tier === 'raw' ? { ledgered } : {}), ...(maxIngested === undefined ? {} : { maxIngested }) };
  }

  /** Copies the ids of one raw day (time ≥ from) into the ledger, except those already there. */
  private async ledger(start: number, end: number, from: number): Promise<number> {
    const range = `time_us >= ${int(Math.max(start, from))} AND time_us < ${int(end)}`;
    const count = async () => Number((await this.store.rows(`SELECT count() FROM dedupe_ledger WHERE ${range}`))[0]![0]);
    const before = await count();
    await this.store.client.command({
      query: `INSERT INTO dedupe_ledger SELECT tenant, id, content_hash, time_us, part FROM events WHERE ${range} AND type != '${CORRECTION_TYPE}' AND (tenant, id) NOT IN (SELECT tenant, id FROM dedupe_ledger WHERE ${range})`,
    });
    return (await count()) - before;
  }

  async diskBytes(): Promise<number> {
    const rows = await this.store.rows(`SELECT sum(bytes_on_disk) FROM system.parts WHERE database = '${this.database}' AND active`);
    return Number(rows[0]![0]);
  }
}
