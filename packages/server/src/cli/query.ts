import type { Command } from 'commander';
import { api, CliError, resolveClient } from './client.ts';
import { renderTable } from './table.ts';
import type { UsageResult } from '../usage/query-service.ts';

const collect = (v: string, prev: string[] = []) => [...prev, v];

/** `tally query <meter>`: usage as a table, JSON or CSV. */
export function queryCommand(program: Command): void {
  program
    .command('query')
    .description('query a meter: exact usage per window, tenant and dimension')
    .argument('<meter>', 'meter slug (see `tally meters`)')
    .option('--from <time>', 'RFC 3339 start (inclusive); default 24 h before --to')
    .option('--to <time>', 'RFC 3339 end (exclusive); default now')
    .option('-w, --window <size>', 'MINUTE | HOUR | DAY | MONTH (default: one row per group)')
    .option('--tz <zone>', 'IANA time zone for DAY/MONTH boundaries', 'UTC')
    .option('--tenant <id>', 'only this tenant (repeatable)', collect)
    .option('-g, --group-by <dim>', 'group by a dimension or "tenant" (repeatable or comma-separated)', collect)
    .option('-f, --filter <dim=value>', 'keep rows whose dimension equals value (repeatable)', collect)
    .option('--json', 'print the JSON answer')
    .option('--csv', 'print CSV')
    .option('--url <url>', 'server URL')
    .option('--key <key>', 'read or admin key')
    .action(async (meter: string, o: { from?: string; to?: string; window?: string; tz: string; tenant?: string[]; groupBy?: string[]; filter?: string[]; json?: boolean; csv?: boolean; url?: string; key?: string }) => {
      if (o.json && o.csv) throw new CliError('choose one of --json and --csv');
      const c = resolveClient(o);
      const filterGroupBy: Record<string, string[]> = {};
      for (const f of o.filter ?? []) {
        const i = f.indexOf('=');
        if (i <= 0) throw new CliError(`--filter takes dim=value, got "${f}"`);
        (filterGroupBy[f.slice(0, i)] ??= []).push(f.slice(i + 1));
      }
      const body = {
        ...(o.from ? { from: o.from } : {}),
        ...(o.to ? { to: o.to } : {}),
        ...(o.window ? { windowSize: o.window.toUpperCase() } : {}),
        windowTimeZone: o.tz,
        ...(o.tenant ? { tenant: o.tenant } : {}),
        ...(o.groupBy ? { groupBy: o.groupBy } : {}),
        ...(Object.keys(filterGroupBy).length ? { filterGroupBy } : {}),
      };
      const path = `/v1/meters/${encodeURIComponent(meter)}/query`;
      if (o.csv) {
        process.stdout.write((await api(c, 'POST', path, { ...body, limit: 100_000 }, 'text/csv')).text);
        return;
      }
      // Every page of the answer (the API answers at most `limit` rows at a time).
      const r = (await api(c, 'POST', path, { ...body, limit: 100_000 })).json as UsageResult & { truncated: boolean; nextOffset: number | null };
      for (let page = r; page.truncated && page.nextOffset !== null; ) {
        page = (await api(c, 'POST', path, { ...body, limit: 100_000, offset: page.nextOffset })).json as typeof r;
        r.data.push(...page.data);
      }
      if (o.json) {
        process.stdout.write(JSON.stringify(r, null, 2) + '\n');
        return;
      }
      const dims = [...new Set(r.data.flatMap((row) => Object.keys(row.groupBy)))];
      const showTenant = r.data.some((row) => row.tenant !== null);
      // The meter's unit names the value column; the values themselves stay exact, as stored.
      const unit = ((await api(c, 'GET', `/v1/meters/${encodeURIComponent(r.meter)}`)).json as { unit?: string }).unit;
      const headers = ['window start', 'window end', ...(showTenant ? ['tenant'] : []), ...dims, `${r.aggregation.toLowerCase()}${unit ? ` (${unit})` : ''}`];
      const rows = r.data.map((row) => [row.windowStart, row.windowEnd, ...(showTenant ? [row.tenant] : []), ...dims.map((d) => row.groupBy[d] ?? null), row.value]);
      process.stdout.write(renderTable(headers, rows) + '\n');
      process.stdout.write(`${r.data.length} rows · ${r.meter} (${r.aggregation}) · ${r.from} → ${r.to} · served from ${r.resolution === 'raw' ? 'raw events' : `${r.resolution} rollups`}\n`);
    });
}
