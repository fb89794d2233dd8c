import type { DuckDBConnection } from '@duckdb/node-api';
import type { DuckDbStore } from '../../store/duckdb/duckdb-store.ts';
import { SqlParams } from '../../store/duckdb/sql.ts';
import type { ErasedRows, ErasureRecord, ErasureRepo, ErasureStatus, ErasureTarget } from './erasure.ts';

/** Facts may hold NULL: an erased value is set to NULL in place (count(DISTINCT) skips it). */
const FACT_TABLES = ['unique_facts', 'pending_facts'];

/**
 * Erasure in the embedded DuckDB file. Rows are changed in place with UPDATE (a DELETE only
 * marks rows deleted and leaves their bytes in the column segment). The old values then still
 * sit in the WAL and in blocks the checkpoint frees: `scrub` checkpoints and overwrites every
 * free block with random filler, so no byte of them stays in the file.
 */
export class DuckDbErasureTarget implements ErasureTarget {
  constructor(
    private readonly store: DuckDbStore,
    private readonly conn: DuckDBConnection,
  ) {}

  static async open(store: DuckDbStore): Promise<DuckDbErasureTarget> {
    const conn = await store.connect();
    await store.exclusiveWrite(async (w) => {
      for (const t of FACT_TABLES) await w.run(`ALTER TABLE ${t} ALTER COLUMN value DROP NOT NULL`);
    });
    return new DuckDbErasureTarget(store, conn);
  }

  erase(hashes: readonly string[]): Promise<{ events: number; uniqueFacts: number }> {
    return this.store.exclusiveWrite(async (w) => {
      const p = new SqlParams();
      const inEvents = p.in('actor', hashes);
      await w.run('BEGIN TRANSACTION');
      try {
        const events = await changed(w, `UPDATE events SET actor = NULL WHERE ${inEvents}`, p.values);
        let uniqueFacts = 0;
        for (const t of FACT_TABLES) {
          const q = new SqlParams();
          uniqueFacts += await changed(w, `UPDATE ${t} SET value = NULL WHERE ${q.in('value', hashes)}`, q.values);
        }
        await w.run('COMMIT');
        return { events, uniqueFacts };
      } catch (err) {
        await w.run('ROLLBACK').catch(() => undefined);
        throw err;
      }
    });
  }

  async scrub(): Promise<string> {
    // The checkpoint moves the WAL (which holds the old values verbatim) into the file and frees
    // the blocks of the rewritten segments; a filler table then takes every free block (DuckDB
    // reuses free blocks before it grows the file, so a grown file means none was left) and is
    // dropped. A block a concurrent reader still used is freed only at a later checkpoint: so
    // there is a second round. FORCE CHECKPOINT waits for running transactions (DuckDB ≥ 1.4;
    // before, it aborted them), where a plain CHECKPOINT would fail beside them.
    let overwritten = 0;
    await this.store.exclusiveWrite(async (w) => {
      await w.run('FORCE CHECKPOINT');
      for (let round = 0; round < SCRUB_ROUNDS; round++) {
        const before = await blocks(w);
        if (before.free === 0) continue;
        await w.run('CREATE TABLE erasure_scrub (x VARCHAR)');
        for (let i = 0; i < 8; i++) {
          // 64 random hex characters a row: stored, compressed, in well over 16 bytes.
          await w.run(`INSERT INTO erasure_scrub SELECT md5(random()::VARCHAR) || md5(random()::VARCHAR) FROM range(${Math.ceil((before.free * before.blockSize) / 16) + 1024})`);
          await w.run('FORCE CHECKPOINT');
          if ((await blocks(w)).total > before.total) break;
        }
        overwritten += before.free;
        await w.run('DROP TABLE erasure_scrub');
        await w.run('FORCE CHECKPOINT');
      }
    });
    return `checkpointed; ${overwritten} free blocks overwritten in ${SCRUB_ROUNDS} rounds`;
  }

  async close(): Promise<void> {
    this.conn.closeSync();
  }
}

/** Rounds of the scrub (see `scrub`). */
const SCRUB_ROUNDS = 2;

async function blocks(conn: DuckDBConnection): Promise<{ total: number; free: number; blockSize: number }> {
  const [r] = (await conn.runAndReadAll('SELECT total_blocks, free_blocks, block_size FROM pragma_database_size()')).getRows();
  return { total: Number(r![0] as bigint), free: Number(r![1] as bigint), blockSize: Number(r![2] as bigint) };
}

async function changed(conn: DuckDBConnection, sql: string, values: string[]): Promise<number> {
  const rows = (await conn.runAndReadAll(sql, values)).getRows();
  return Number((rows[0]?.[0] as bigint | undefined) ?? 0n);
}

const DDL = `CREATE TABLE IF NOT EXISTS erasures (
  id VARCHAR PRIMARY KEY, requested_by VARCHAR NOT NULL, requested_us BIGINT NOT NULL, status VARCHAR NOT NULL,
  hashes VARCHAR, completed_us BIGINT, rows VARCHAR, error VARCHAR)`;

/** Erasure records in the embedded DuckDB file (their own table and connection). */
export class DuckDbErasureRepo implements ErasureRepo {
  private constructor(private readonly conn: DuckDBConnection) {}

  static async open(conn: DuckDBConnection): Promise<DuckDbErasureRepo> {
    await conn.run(DDL);
    return new DuckDbErasureRepo(conn);
  }

  async insert(r: ErasureRecord): Promise<void> {
    await this.conn.run('INSERT INTO erasures VALUES ($1, $2, $3, $4, $5, NULL, NULL, NULL)', [r.id, r.requestedBy, BigInt(r.requestedAt), r.status, JSON.stringify(r.hashes)]);
  }

  async update(r: ErasureRecord): Promise<void> {
    // UPDATE rewrites the hashes' bytes in place (see the target's note); scrub runs after it.
    await this.conn.run('UPDATE erasures SET status = $1, hashes = $2, completed_us = $3, rows = $4, error = $5 WHERE id = $6', [
      r.status,
      JSON.stringify(r.hashes),
      r.completedAt === null ? null : BigInt(r.completedAt),
      r.rows === null ? null : JSON.stringify(r.rows),
      r.error,
      r.id,
    ]);
  }

  async listPending(): Promise<string[]> {
    return (await this.conn.runAndReadAll("SELECT id FROM erasures WHERE status <> 'done' ORDER BY requested_us")).getRows().map((r) => r[0] as string);
  }

  async get(id: string): Promise<ErasureRecord | undefined> {
    const [r] = (await this.conn.runAndReadAll('SELECT id, requested_by, requested_us, status, hashes, completed_us, rows, error FROM erasures WHERE id = $1', [id])).getRows();
    if (!r) return undefined;
    return {
      id: r[0] as string,
      requestedBy: r[1] as string,
      requestedAt: Number(r[2]),
      status: r[3] as ErasureStatus,
      hashes: JSON.parse((r[4] as string | null) ?? '[]') as string[],
      completedAt: r[5] === null ? null : Number(r[5]),
      rows: r[6] === null ? null : (JSON.parse(r[6] as string) as ErasedRows),
      error: r[7] as string | null,
    };
  }

  async close(): Promise<void> {
    this.conn.closeSync();
  }
}
