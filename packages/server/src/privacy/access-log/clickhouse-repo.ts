import { createClient, type ClickHouseClient } from '@clickhouse/client';
import { lit, parseTsv } from '../../store/clickhouse/sql.ts';
import { int } from '../../store/sql-int.ts';
import type { AccessEntry } from './entry.ts';
import type { AccessFilter, AccessLogRepo, Checkpoint } from './repo.ts';

// Insert-only: each API node appends its own chain, so no two writers share a (chain, seq).
const DDL = `CREATE TABLE IF NOT EXISTS access_log (
  chain String, seq UInt64, at_us Int64, key_id Nullable(String), tenants Array(String), body String
) ENGINE = MergeTree ORDER BY (chain, seq)`;
const CHECKPOINT_DDL = `CREATE TABLE IF NOT EXISTS access_log_checkpoints (chain String, seq UInt64, hash String, at_us Int64) ENGINE = MergeTree ORDER BY (chain, seq)`;

/** The access log in the distributed profile's ClickHouse database (`body`: the entry exactly as hashed). */
export class ClickHouseAccessLogRepo implements AccessLogRepo {
  private constructor(private readonly client: ClickHouseClient) {}

  /** Connects and creates the table if needed. */
  static async open(opts: { url: string; database: string }): Promise<ClickHouseAccessLogRepo> {
    const client = createClient({ url: opts.url, database: opts.database, request_timeout: 30_000 });
    await client.command({ query: DDL });
    await client.command({ query: CHECKPOINT_DDL });
    return new ClickHouseAccessLogRepo(client);
  }

  async append(entries: readonly AccessEntry[]): Promise<void> {
    if (entries.length === 0) return;
    const rows = entries.map((e) => `(${lit(e.chain)}, ${int(e.seq)}, ${int(e.at)}, ${e.keyId === null ? 'NULL' : lit(e.keyId)}, [${e.tenants.map(lit).join(', ')}], ${lit(JSON.stringify(e))})`);
    await this.client.command({ query: `INSERT INTO access_log VALUES ${rows.join(', ')}` });
  }

  private async read(query: string): Promise<AccessEntry[]> {
    const text = await (await this.client.query({ query, format: 'TabSeparated' })).text();
    return parseTsv(text).map((r) => JSON.parse(r[0]!) as AccessEntry);
  }

  async last(chain: string): Promise<AccessEntry | undefined> {
    return (await this.read(`SELECT body FROM access_log WHERE chain = ${lit(chain)} ORDER BY seq DESC LIMIT 1`))[0];
  }

  async list(f: AccessFilter): Promise<AccessEntry[]> {
    const where = ['1'];
    if (f.tenant !== undefined) where.push(`(has(tenants, ${lit(f.tenant)}) OR empty(tenants))`);
    if (f.keyId !== undefined) where.push(`key_id = ${lit(f.keyId)}`);
    if (f.from !== undefined) where.push(`at_us >= ${int(f.from)}`);
    if (f.to !== undefined) where.push(`at_us < ${int(f.to)}`);
    return this.read(`SELECT body FROM access_log WHERE ${where.join(' AND ')} ORDER BY at_us DESC, chain, seq DESC LIMIT ${int(f.limit)}`);
  }

  async chains(): Promise<string[]> {
    const text = await (await this.client.query({ query: 'SELECT DISTINCT chain FROM access_log ORDER BY chain', format: 'TabSeparated' })).text();
    return parseTsv(text).map((r) => r[0]!);
  }

  async page(chain: string, afterSeq: number, limit: number): Promise<AccessEntry[]> {
    return this.read(`SELECT body FROM access_log WHERE chain = ${lit(chain)} AND seq > ${int(afterSeq)} ORDER BY seq LIMIT ${int(limit)}`);
  }

  async checkpoint(chain: string): Promise<Checkpoint | undefined> {
    const text = await (await this.client.query({ query: `SELECT seq, hash, at_us FROM access_log_checkpoints WHERE chain = ${lit(chain)} ORDER BY seq DESC LIMIT 1`, format: 'TabSeparated' })).text();
    const [r] = parseTsv(text);
    return r ? { chain, seq: Number(r[0]), hash: r[1]!, at: Number(r[2]) } : undefined;
  }

  /**
   * The checkpoint is written first; the delete is a mutation (the table has no time
   * partitions: entries are few), applied in the background. Verification reads only entries
   * after the checkpoint, so entries the mutation has not removed yet are never misread.
   */
  async dropBefore(before: number, dryRun: boolean): Promise<{ entries: number; chains: number }> {
    const text = await (
      await this.client.query({
        query: `SELECT chain, least(maxIf(seq, at_us < ${int(before)}), max(seq) - 1) AS cut FROM access_log GROUP BY chain HAVING countIf(at_us < ${int(before)}) > 0 AND cut > 0`,
        format: 'TabSeparated',
      })
    ).text();
    let entries = 0;
    let chains = 0;
    for (const [chain, cut] of parseTsv(text)) {
      const done = await this.checkpoint(chain!);
      // Entries at or below an earlier checkpoint may still be visible until its mutation ran.
      if (Number(cut) <= (done?.seq ?? 0)) continue;
      chains++;
      const range = `chain = ${lit(chain!)} AND seq <= ${int(Number(cut))} AND seq > ${int(done?.seq ?? 0)}`;
      const count = await (await this.client.query({ query: `SELECT count() FROM access_log WHERE ${range}`, format: 'TabSeparated' })).text();
      entries += Number(count.trim());
      if (dryRun) continue;
      const [e] = await this.read(`SELECT body FROM access_log WHERE chain = ${lit(chain!)} AND seq = ${int(Number(cut))}`);
      await this.client.command({ query: `INSERT INTO access_log_checkpoints VALUES (${lit(e!.chain)}, ${int(e!.seq)}, ${lit(e!.hash)}, ${int(e!.at)})` });
      await this.client.command({ query: `ALTER TABLE access_log DELETE WHERE chain = ${lit(chain!)} AND seq <= ${int(e!.seq)}` });
    }
    return { entries, chains };
  }

  async close(): Promise<void> {
    await this.client.close();
  }
}
