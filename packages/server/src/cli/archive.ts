import { mkdtempSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { verifyArchive } from '../audit/archive/verify.ts';
import { replayIntoStore } from '../audit/archive/replay-store.ts';
import { archiveDirOf } from '../audit/setup.ts';
import { loadConfig } from '../config/load.ts';
import { formatMicros, parseRfc3339 } from '../shared/time.ts';
import { CliError } from './client.ts';
import { configPath } from './serve.ts';
import { renderTable } from './table.ts';

/** A `--from`/`--to` value: RFC 3339, or a UTC day (its start). */
function timeArg(v: string, name: string): number {
  const t = parseRfc3339(/^\d{4}-\d{2}-\d{2}$/.test(v) ? `${v}T00:00:00Z` : v);
  if (t === undefined) throw new CliError(`--${name} must be RFC 3339 or YYYY-MM-DD, got "${v}"`);
  return t;
}

/** `tally archive verify` and `tally replay`: the immutable archive, read offline (no server needed). */
export function archiveCommand(program: Command): void {
  const archive = program.command('archive').description('the immutable Parquet archive of raw events and corrections (written daily by the archive job)');
  archive
    .command('verify')
    .description('re-hash and re-count every archived file against its partition manifest; exit 1 on any difference')
    .option('-c, --config <file>', 'YAML config (its audit.archiveDir)')
    .option('--dir <dir>', 'archive directory (default: audit.archiveDir or <dataDir>/archive)')
    .option('--from <day>', 'first partition (YYYY-MM-DD)')
    .option('--to <day>', 'last partition (YYYY-MM-DD)')
    .option('--json', 'print JSON')
    .action(async (o: { config?: string; dir?: string; from?: string; to?: string; json?: boolean }) => {
      const dir = resolve(o.dir ?? archiveDirOf(loadConfig(configPath(o.config))));
      const checks = await verifyArchive(dir, { ...(o.from ? { fromDate: o.from } : {}), ...(o.to ? { toDate: o.to } : {}), onPartition: (c) => !o.json && process.stderr.write(`verified date=${c.date}: ${c.files} files, ${c.rows} rows${c.problems.length ? `, ${c.problems.length} problems` : ''}\n`) });
      const problems = checks.flatMap((c) => c.problems);
      if (o.json) process.stdout.write(JSON.stringify({ dir, partitions: checks.length, rows: checks.reduce((s, c) => s + c.rows, 0), problems }, null, 2) + '\n');
      else {
        if (problems.length > 0) process.stdout.write(renderTable(['partition', 'file', 'problem', 'expected', 'actual'], problems.map((p) => [p.date, p.file, p.problem, p.expected === undefined ? null : String(p.expected), p.actual === undefined ? null : String(p.actual)])) + '\n');
        process.stdout.write(`${dir}: ${checks.length} partitions, ${checks.reduce((s, c) => s + c.rows, 0)} rows, ${problems.length} problems\n`);
      }
      if (checks.length === 0) throw new CliError(`no archive partitions in ${dir}`);
      if (problems.length > 0) process.exitCode = 1;
    });

  program
    .command('replay')
    .description('rebuild a fresh store (raw events, corrections, rollups) from the archive — embedded DuckDB, or a ClickHouse database — for a dispute or a restore')
    .requiredOption('--from <time>', 'event time, inclusive (RFC 3339 or YYYY-MM-DD)')
    .requiredOption('--to <time>', 'event time, exclusive')
    .option('--into <dir>', 'data directory of the new embedded store (default: a new ./tally-replay-* directory)')
    .option('--into-clickhouse <database>', 'replay into this ClickHouse database instead (created if missing; use a new one: events already there are kept, duplicates skipped)')
    .option('--clickhouse-url <url>', 'with --into-clickhouse (default: distributed.clickhouseUrl of the config)')
    .option('--tenant <tenant>', "only this tenant's events and corrections (a dispute); a tenant-sharded archive is read from that tenant's files only")
    .option('-c, --config <file>', 'YAML config (meters and audit.archiveDir)')
    .option('--dir <dir>', 'archive directory')
    .option('--json', 'print JSON')
    .action(async (o: { from: string; to: string; into?: string; intoClickhouse?: string; tenant?: string; clickhouseUrl?: string; config?: string; dir?: string; json?: boolean }) => {
      const config = loadConfig(configPath(o.config));
      const from = timeArg(o.from, 'from');
      const to = timeArg(o.to, 'to');
      if (from >= to) throw new CliError('--from must be before --to');
      const dir = resolve(o.dir ?? archiveDirOf(config));
      if (o.into !== undefined && o.intoClickhouse !== undefined) throw new CliError('--into and --into-clickhouse: one or the other');
      if (o.intoClickhouse !== undefined && !/^[A-Za-z_][A-Za-z0-9_]*$/.test(o.intoClickhouse)) throw new CliError(`--into-clickhouse: "${o.intoClickhouse}" is not a ClickHouse database name (letters, digits, _)`);
      const target = o.intoClickhouse !== undefined ? { clickhouseUrl: o.clickhouseUrl ?? config.distributed.clickhouseUrl, database: o.intoClickhouse } : resolve(o.into ?? mkdtempSync('tally-replay-'));
      const into = typeof target === 'string' ? `${target}/tally.duckdb` : `${target.clickhouseUrl} database ${target.database}`;
      const started = performance.now();
      const r = await replayIntoStore(dir, from, to, target, config.meters, { onProgress: (n) => !o.json && process.stderr.write(`\rreplayed ${n} rows`), ...(o.tenant !== undefined ? { tenant: o.tenant } : {}) });
      try {
        const secs = (performance.now() - started) / 1000;
        const totals = [];
        for (const m of r.meters.all()) {
          const a = await r.queries.query({ meter: m.slug, from, to });
          totals.push({ meter: m.slug, aggregation: m.def.aggregation, value: a.data[0]?.value ?? null });
        }
        const summary = { archive: dir, into: typeof target === 'string' ? target : { clickhouseUrl: target.clickhouseUrl, database: target.database }, from: formatMicros(from), to: formatMicros(to), rows: r.rows, stored: r.accepted, seconds: Number(secs.toFixed(3)), rowsPerSecond: Math.round(r.rows / Math.max(secs, 1e-6)), meters: totals };
        if (o.json) return void process.stdout.write(JSON.stringify(summary, null, 2) + '\n');
        process.stdout.write(`\nreplayed ${r.rows} rows (${r.accepted} stored) into ${into} in ${secs.toFixed(1)} s (${summary.rowsPerSecond} rows/s)\n`);
        process.stdout.write(renderTable(['meter', 'aggregation', `value ${summary.from} – ${summary.to}`], totals.map((t) => [t.meter, t.aggregation, t.value])) + '\n');
      } finally {
        await r.close();
      }
    });
}
