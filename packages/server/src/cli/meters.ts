import type { Command } from 'commander';
import { AGGREGATIONS, meterSchema, type MeterDefinition } from '../meters/meter.ts';
import { api, CliError, resolveClient } from './client.ts';
import { renderTable } from './table.ts';

function collect(v: string, prev: string[]): string[] {
  return [...prev, v];
}

/** A literal as typed: JSON numbers, booleans and quoted strings as such, anything else a string. */
function literal(text: string): string | number | boolean {
  try {
    const v: unknown = JSON.parse(text);
    if (typeof v === 'number' || typeof v === 'boolean' || typeof v === 'string') return v;
  } catch {
    // not JSON: a bare word such as 5xx
  }
  return text;
}

const OPERATORS: [string, string][] = [['>=', 'gte'], ['<=', 'lte'], ['!=', 'ne'], ['>', 'gt'], ['<', 'lt'], ['=', 'eq']];

/**
 * Parses `--where` conditions (`$.statusClass=5xx`, `$.status>=500`, `$.region!=eu`) into a
 * meter filter; several conditions on one path merge, and all must hold.
 */
export function parseWhere(conditions: string[]): Record<string, unknown> | undefined {
  if (conditions.length === 0) return undefined;
  const filter: Record<string, Record<string, unknown>> = {};
  for (const c of conditions) {
    const at = OPERATORS.map(([op, name]) => ({ op, name, i: c.indexOf(op) })).filter((x) => x.i > 0).sort((a, b) => a.i - b.i || b.op.length - a.op.length)[0];
    if (!at) throw new CliError(`--where takes PATH=VALUE (or !=, >, >=, <, <=), e.g. '$.statusClass=5xx'; got "${c}"`);
    const path = c.slice(0, at.i).trim();
    const value = literal(c.slice(at.i + at.op.length).trim());
    (filter[path] ??= {})[at.name] = value;
  }
  return filter;
}

/** `tally meters`: list the meters of a running server, or create one. */
export function metersCommand(program: Command): void {
  const meters = program.command('meters').description('list or create meters');
  meters
    .command('list', { isDefault: true })
    .description('list meters (the default)')
    .option('--json', 'print JSON')
    .option('--url <url>', 'server URL')
    .option('--key <key>', 'read or admin key')
    .action(async (o: { json?: boolean; url?: string; key?: string }) => {
      const r = (await api(resolveClient(o), 'GET', '/v1/meters')).json as { data: MeterDefinition[] };
      if (o.json) process.stdout.write(JSON.stringify(r.data, null, 2) + '\n');
      else
        process.stdout.write(
          renderTable(
            ['slug', 'event type', 'aggregation', 'value', 'unit', 'group by', 'filter'],
            r.data.map((m) => [m.slug, m.eventType, m.aggregation, m.valueProperty ?? null, m.unit ?? null, Object.keys(m.groupBy).join(', ') || null, m.filter ? JSON.stringify(m.filter) : null]),
          ) + '\n',
        );
    });
  meters
    .command('create <slug>')
    .description('create a meter on a running server (backfilled from the raw events already stored); meters are immutable once created')
    .requiredOption('-e, --event-type <type>', 'the event type it reads, e.g. api.request')
    .requiredOption('-a, --aggregation <agg>', AGGREGATIONS.join(' | '))
    .option('-v, --value <path>', 'JSONPath of the value (not for COUNT), e.g. $.tokens; $actor for UNIQUE_COUNT of end users')
    .option('-g, --group-by <name=path>', 'a dimension, e.g. route=$.route (repeatable)', collect, [])
    .option('-w, --where <condition>', "count only events whose data matches, e.g. '$.statusClass=5xx' or '$.status>=500' (repeatable; all must hold)", collect, [])
    .option('-u, --unit <unit>', 'display unit (ms, bytes, tokens; USD for money)')
    .option('-p, --precision <digits>', 'fractional digits to display')
    .option('-d, --description <text>', 'what it measures')
    .option('--json', 'print the created meter as JSON')
    .option('--url <url>', 'server URL')
    .option('--key <key>', 'admin key')
    .action(async (slug: string, o: { eventType: string; aggregation: string; value?: string; groupBy: string[]; where: string[]; unit?: string; precision?: string; description?: string; json?: boolean; url?: string; key?: string }) => {
      const groupBy: Record<string, string> = {};
      for (const g of o.groupBy) {
        const i = g.indexOf('=');
        if (i <= 0) throw new CliError(`--group-by takes name=path, e.g. route=$.route; got "${g}"`);
        groupBy[g.slice(0, i)] = g.slice(i + 1);
      }
      const def = {
        slug,
        eventType: o.eventType,
        aggregation: o.aggregation.toUpperCase(),
        groupBy,
        ...(o.value === undefined ? {} : { valueProperty: o.value }),
        ...(o.where.length ? { filter: parseWhere(o.where) } : {}),
        ...(o.unit === undefined ? {} : { unit: o.unit }),
        ...(o.precision === undefined ? {} : { precision: Number(o.precision) }),
        ...(o.description === undefined ? {} : { description: o.description }),
      };
      // Checked here first so a mistake reads as flags, not as an HTTP answer.
      const parsed = meterSchema.safeParse(def);
      if (!parsed.success) throw new CliError(`invalid meter: ${parsed.error.issues.map((i) => `${i.path.join('.') || 'meter'}: ${i.message}`).join('; ')}`);
      const r = await api(resolveClient(o), 'POST', '/v1/meters', parsed.data);
      const body = r.json as { meter: MeterDefinition; backfilled: number; skipped: number };
      if (o.json) process.stdout.write(JSON.stringify(body, null, 2) + '\n');
      else if (r.status === 200) process.stdout.write(`meter ${slug} already exists with this definition; nothing changed\n`);
      else process.stdout.write(`created meter ${slug}: backfilled ${body.backfilled.toLocaleString('en-US')} stored events${body.skipped ? `, ${body.skipped.toLocaleString('en-US')} skipped (they lack the value)` : ''}\n`);
    });
}
