import type { Command } from 'commander';
import { api, resolveClient } from './client.ts';
import { renderTable } from './table.ts';

interface EntryView {
  chain: string;
  seq: number;
  at: string;
  keyId: string | null;
  method: string;
  endpoint: string;
  tenants: string[];
  status: number;
  rows: number | null;
}

/** `tally audit list|verify`: the access log (who read which tenant's data, every admin action). */
export function accessLogCommand(program: Command): void {
  const audit = program.command('audit').description('the access log: every read of usage data and every admin action, hash-chained (docs/privacy.md)');
  const conn = (c: Command) => c.option('--url <url>', 'server URL').option('--key <key>', 'admin key (or a tenant-bound key: its tenant only)');
  conn(audit.command('list').description('entries, newest first').option('--tenant <id>', 'only entries about this tenant').option('--by <keyId>', 'only calls made with this key').option('--limit <n>', 'at most n entries (≤ 1000)', '50').option('--json', 'print JSON')).action(
    async (o: { tenant?: string; by?: string; limit: string; json?: boolean; url?: string; key?: string }) => {
      const q = new URLSearchParams({ limit: o.limit, ...(o.tenant ? { tenant: o.tenant } : {}), ...(o.by ? { key: o.by } : {}) });
      const r = (await api(resolveClient(o), 'GET', `/v1/audit?${q}`)).json as { data: EntryView[] };
      if (o.json) return void process.stdout.write(JSON.stringify(r.data, null, 2) + '\n');
      process.stdout.write(renderTable(['at', 'key', 'call', 'tenants', 'status', 'rows', 'entry'], r.data.map((e) => [e.at, e.keyId, `${e.method} ${e.endpoint}`, e.tenants.join(', ') || 'all', String(e.status), e.rows === null ? null : String(e.rows), `${e.chain}#${e.seq}`])) + '\n');
    },
  );
  conn(audit.command('verify').description('re-hash every chain of the access log; exit 1 at the first altered, missing or reordered entry').option('--json', 'print JSON')).action(async (o: { json?: boolean; url?: string; key?: string }) => {
    const r = (await api(resolveClient(o), 'GET', '/v1/audit/verify')).json as { ok: boolean; chains: { chain: string; entries: number; fromSeq: number; lastSeq: number; lastHash: string }[]; breaks: { chain: string; seq: number; reason: string }[] };
    if (o.json) process.stdout.write(JSON.stringify(r, null, 2) + '\n');
    else {
      for (const c of r.chains) process.stdout.write(`chain ${c.chain}: ${c.entries.toLocaleString('en-US')} entries, #${c.fromSeq}…#${c.lastSeq} ${c.lastHash.slice(0, 16)}…${c.fromSeq > 1 ? ` (entries before #${c.fromSeq} dropped by retention behind a checkpoint)` : ''}\n`);
      for (const b of r.breaks) process.stdout.write(`BROKEN at ${b.chain}#${b.seq}: ${b.reason}\n`);
      process.stdout.write(r.ok ? 'access log intact\n' : 'access log altered\n');
    }
    if (!r.ok) process.exitCode = 1;
  });
}
