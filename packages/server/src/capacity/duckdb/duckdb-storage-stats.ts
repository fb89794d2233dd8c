import type { DuckDBConnection } from '@duckdb/node-api';
import { toTiers, type StorageMeasure, type StorageStats } from '../storage-stats.ts';

/**
 * Storage of the embedded DuckDB file. DuckDB reports the file's used blocks
 * (`pragma_database_size`) and which blocks each table's column segments live in
 * (`pragma_storage_info`), not bytes per table: the used bytes (plus the WAL not yet
 * checkpointed) are split across tables in proportion to their distinct blocks.
 */
export class DuckDbStorageStats implements StorageStats {
  constructor(private readonly conn: DuckDBConnection) {}

  async measure(): Promise<StorageMeasure> {
    try {
      // Moves the WAL into the file so blocks say where the data is; refused while a writer is busy (then the WAL is counted as it is).
      await this.conn.run('CHECKPOINT');
    } catch {
      /* a write transaction is active */
    }
    const size = (await (await this.conn.runAndReadAll(`SELECT block_size, used_blocks, wal_size FROM pragma_database_size() WHERE database_name = current_database()`)).getRowObjectsJS())[0] as { block_size: bigint; used_blocks: bigint; wal_size: string };
    const tables = (await (await this.conn.runAndReadAll(`SELECT table_name FROM duckdb_tables() WHERE database_name = current_database() AND NOT temporary`)).getRowObjectsJS()).map((r) => String(r.table_name));
    const measured: { table: string; blocks: number; rows: number }[] = [];
    for (const t of tables) {
      const q = `"${t.replace(/"/g, '""')}"`;
      const blocks = Number((await (await this.conn.runAndReadAll(`SELECT count(DISTINCT block_id) AS b FROM pragma_storage_info('${t.replace(/'/g, "''")}') WHERE persistent AND block_id >= 0`)).getRowObjectsJS())[0]!.b);
      const rows = Number((await (await this.conn.runAndReadAll(`SELECT count(*) AS n FROM ${q}`)).getRowObjectsJS())[0]!.n);
      measured.push({ table: t, blocks, rows });
    }
    const usedBytes = Number(size.used_blocks) * Number(size.block_size);
    const walBytes = parseSize(size.wal_size);
    const allBlocks = measured.reduce((s, m) => s + m.blocks, 0);
    const allRows = measured.reduce((s, m) => s + m.rows, 0);
    // Blocks not pinned to a table (catalog, free-list, overflow strings) are shared out the same way.
    const share = (m: { blocks: number; rows: number }) => (allBlocks > 0 ? m.blocks / allBlocks : allRows > 0 ? m.rows / allRows : 0);
    const walShare = (m: { rows: number }) => (allRows > 0 ? m.rows / allRows : 0);
    const perTable = measured.map((m) => ({ table: m.table, rows: m.rows, bytes: Math.round(usedBytes * share(m) + walBytes * walShare(m)) }));
    return {
      engine: 'duckdb',
      method: `DuckDB file: ${usedBytes} used bytes (pragma_database_size) split by each table's distinct blocks (pragma_storage_info), plus ${walBytes} WAL bytes split by rows`,
      tiers: toTiers(perTable),
      totalBytes: usedBytes + walBytes,
    };
  }
}

/** DuckDB's human sizes ("1.2 MiB", "0 bytes") in bytes. */
function parseSize(s: string): number {
  const m = /^([\d.]+)\s*(bytes|[KMGT]i?B)?$/i.exec(String(s).trim());
  if (!m) return 0;
  const unit = (m[2] ?? 'bytes').toUpperCase();
  const pow = { BYTES: 0, KB: 1, KIB: 1, MB: 2, MIB: 2, GB: 3, GIB: 3, TB: 4, TIB: 4 }[unit] ?? 0;
  const base = unit.includes('I') ? 1024 : 1000;
  return Math.round(Number(m[1]) * base ** pow);
}
