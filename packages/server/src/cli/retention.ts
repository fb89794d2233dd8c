import type { Command } from 'commander';
import { api, CliError, resolveClient } from './client.ts';
import { renderTable } from './table.ts';

interface TierDropView {
  tier: string;
  horizonAt: string;
  rows: number;
  partitions: number;
  ledgered?: number;
}

const bytes = (n: number) => `${(n / 1024 / 1024).toFixed(1)} MiB`;

/** `tally retention show|run [--dry-run]`: the retention policy per tier, and the retention job now (admin). */
export function retentionCommand(program: Command): void {
  const ret = program.command('retention').description('tiered retention: how long each tier is kept, and the job that deletes the rest (docs/privacy.md; needs an admin key)');
  const conn = (c: Command) => c.option('--url <url>', 'server URL').option('--key <key>', 'admin key');
  conn(ret.command('show').description('the policy per tier: days kept, what a run now deletes before, where each tier starts').option('--json', 'print JSON')).action(async (o: { json?: boolean; url?: string; key?: string }) => {
    const r = (await api(resolveClient(o), 'GET', '/v1/retention')).json as { tiers: { tier: string; days: number | null; cutoff: string | null; heldFrom: string | null }[]; ledgerDays: number; schedule: string };
    if (o.json) return void process.stdout.write(JSON.stringify(r, null, 2) + '\n');
    process.stdout.write(renderTable(['tier', 'kept', 'a run now deletes before', 'held from'], r.tiers.map((t) => [t.tier, t.days === null ? 'forever' : `${t.days} days`, t.cutoff ?? '-', t.heldFrom ?? 'everything (nothing deleted yet)'])) + '\n');
    process.stdout.write(`\ndedupe ledger: ids of deleted raw events are kept ${r.ledgerDays} days after their event time (backfill horizon + future skew + 1 day), so a re-send is still a duplicate\nschedule (UTC): ${r.schedule}\n`);
  });
  conn(ret.command('run').description('run the retention job now (recorded in `tally jobs list`); --dry-run previews it and deletes nothing').option('--dry-run', 'count what would be deleted; delete nothing').option('--json', 'print JSON')).action(async (o: { dryRun?: boolean; json?: boolean; url?: string; key?: string }) => {
    const r = (await api(resolveClient(o), 'POST', '/v1/retention/run', { dryRun: o.dryRun === true })).json as {
      dryRun: boolean;
      preview?: { now: string; tiers: TierDropView[]; others: Record<string, unknown>; bytesBefore: number };
      ran?: boolean;
      reason?: string;
      run?: { key: string; status: string; output: { tiers: { tier: string; before: string; rows: number; partitions: number; ledgered?: number }[]; others: Record<string, unknown>; bytesBefore: number; bytesAfter: number } | null; error: string | null };
    };
    if (o.json) return void process.stdout.write(JSON.stringify(r, null, 2) + '\n');
    if (r.preview) {
      process.stdout.write(`preview at ${r.preview.now} (nothing deleted):\n`);
      process.stdout.write(renderTable(['tier', 'deletes before', 'rows', 'partitions', 'ids to ledger'], r.preview.tiers.map((t) => [t.tier, t.horizonAt, t.rows.toLocaleString('en-US'), String(t.partitions), t.ledgered === undefined ? '' : String(t.ledgered)])) + '\n');
      for (const [tier, v] of Object.entries(r.preview.others)) process.stdout.write(`${tier}: ${JSON.stringify(v)}\n`);
      process.stdout.write(`store now ${bytes(r.preview.bytesBefore)}\n`);
      return;
    }
    if (!r.ran && r.reason === 'busy') throw new CliError('the retention job is running on another node; try again when it finishes');
    const run = r.run!;
    if (run.status !== 'succeeded' || !run.output) {
      process.stdout.write(`${run.key}: ${run.status}${run.error ? `: ${run.error}` : ''}\n`);
      process.exitCode = 1;
      return;
    }
    const out = run.output;
    process.stdout.write(`${run.key}: deleted\n`);
    process.stdout.write(renderTable(['tier', 'deleted before', 'rows', 'partitions', 'ids ledgered'], out.tiers.map((t) => [t.tier, t.before, t.rows.toLocaleString('en-US'), String(t.partitions), t.ledgered === undefined ? '' : String(t.ledgered)])) + '\n');
    for (const [tier, v] of Object.entries(out.others)) process.stdout.write(`${tier}: ${JSON.stringify(v)}\n`);
    process.stdout.write(`store ${bytes(out.bytesBefore)} → ${bytes(out.bytesAfter)}\n`);
  });
}
