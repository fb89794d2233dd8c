import type { Command } from 'commander';
import { api, resolveClient } from './client.ts';

interface ErasureView {
  id: string;
  status: 'pending' | 'done' | 'failed';
  requestedBy: string;
  requestedAt: string;
  completedAt: string | null;
  rows: { events: number; uniqueFacts: number; archiveRows: number; archivePartitions: number } | null;
  error: string | null;
}

function describe(e: ErasureView): string {
  const lines = [`${e.id}: ${e.status} (requested ${e.requestedAt} by ${e.requestedBy}${e.completedAt ? `, completed ${e.completedAt}` : ''})`];
  if (e.rows) lines.push(`  raw events: actor removed from ${e.rows.events}`, `  unique-value facts removed: ${e.rows.uniqueFacts}`, `  archive: ${e.rows.archiveRows} rows in ${e.rows.archivePartitions} partitions rewritten`);
  if (e.error) lines.push(`  error: ${e.error}`);
  return lines.join('\n') + '\n';
}

/** `tally erasures create|show`: erase one end user (admin; docs/privacy.md). */
export function erasuresCommand(program: Command): void {
  const erasures = program.command('erasures').description('erase an end user from raw events, unique-value facts and the archive (needs an admin key)');
  const conn = (c: Command) => c.option('--url <url>', 'server URL').option('--key <key>', 'admin key');
  conn(
    erasures
      .command('create')
      .description('erase the end user with this raw id (as sent in events as `actor`)')
      .argument('<actor>', 'the raw end-user id')
      .option('--wait', 'wait until the erasure is done; exit 1 if it fails')
      .option('--json', 'print JSON'),
  ).action(async (actor: string, o: { wait?: boolean; json?: boolean; url?: string; key?: string }) => {
    const client = resolveClient(o);
    let e = (await api(client, 'POST', '/v1/erasures', { actor })).json as ErasureView;
    while (o.wait && e.status === 'pending') {
      await new Promise((r) => setTimeout(r, 250));
      e = (await api(client, 'GET', `/v1/erasures/${encodeURIComponent(e.id)}`)).json as ErasureView;
    }
    process.stdout.write(o.json ? JSON.stringify(e, null, 2) + '\n' : describe(e));
    if (e.status === 'failed') process.exitCode = 1;
  });
  conn(erasures.command('show').description('status and rows changed of an erasure').argument('<id>', 'erasure id (era_…)').option('--json', 'print JSON')).action(async (id: string, o: { json?: boolean; url?: string; key?: string }) => {
    const e = (await api(resolveClient(o), 'GET', `/v1/erasures/${encodeURIComponent(id)}`)).json as ErasureView;
    process.stdout.write(o.json ? JSON.stringify(e, null, 2) + '\n' : describe(e));
    if (e.status === 'failed') process.exitCode = 1;
  });
}
