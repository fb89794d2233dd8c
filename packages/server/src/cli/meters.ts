import type { Command } from 'commander';
import type { MeterDefinition } from '../meters/meter.ts';
import { api, resolveClient } from './client.ts';
import { renderTable } from './table.ts';

/** `tally meters`: list the meters of a running server. */
export function metersCommand(program: Command): void {
  program
    .command('meters')
    .description('list meters')
    .option('--json', 'print JSON')
    .option('--url <url>', 'server URL')
    .option('--key <key>', 'read or admin key')
    .action(async (o: { json?: boolean; url?: string; key?: string }) => {
      const r = (await api(resolveClient(o), 'GET', '/v1/meters')).json as { data: MeterDefinition[] };
      if (o.json) process.stdout.write(JSON.stringify(r.data, null, 2) + '\n');
      else
        process.stdout.write(
          renderTable(['slug', 'event type', 'aggregation', 'value', 'group by'], r.data.map((m) => [m.slug, m.eventType, m.aggregation, m.valueProperty ?? null, Object.keys(m.groupBy).join(', ') || null])) + '\n',
        );
    });
}
