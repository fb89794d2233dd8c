import type { Command } from 'commander';
import type { GrantView } from '../quota/grants/grants-service.ts';
import { api, resolveClient } from './client.ts';
import { renderTable } from './table.ts';

type Conn = { url?: string; key?: string; json?: boolean };

const print = (rows: GrantView[], json: boolean | undefined) => {
  if (json) return void process.stdout.write(JSON.stringify(rows, null, 2) + '\n');
  process.stdout.write(
    renderTable(
      ['id', 'entitlement', 'amount', 'remaining', 'drawn', 'status', 'effective', 'expires', 'priority', 'recurs'],
      rows.map((g) => [g.id, g.entitlement, g.amount, g.remaining, g.drawn, g.status, g.effectiveAt, g.expiresAt ?? 'never', String(g.priority), g.recurrence ?? 'no']),
    ) + '\n',
  );
};

/** `tally grants add|list|void`: allowances on a tenant's entitlements (docs/quotas.md). */
export function grantsCommand(program: Command): void {
  const grants = program.command('grants').description("allowances on a tenant's entitlements: one-off or recurring, drawn soonest-expiring first (docs/quotas.md)");
  const conn = (c: Command) => c.option('--url <url>', 'server URL').option('--key <key>', 'admin key').option('--json', 'print JSON');
  conn(
    grants
      .command('add <tenant> <entitlement> <amount>')
      .description('grant an allowance (in force on every node within a second)')
      .option('--id <id>', 'grant id (a retry with the same id and content is answered with the stored grant)')
      .option('--effective <time>', 'RFC 3339 on a whole minute (default: the current minute)')
      .option('--expires <time>', 'RFC 3339 on a whole minute, exclusive (default: never)')
      .option('--priority <n>', 'among grants expiring together, lower first', '0')
      .option('--recurrence <unit>', 'hour|day|week|month: granted anew every interval'),
  ).action(async (tenant: string, entitlement: string, amount: string, o: Conn & { id?: string; effective?: string; expires?: string; priority: string; recurrence?: string }) => {
    const body = { entitlement, amount, priority: Number(o.priority), ...(o.id ? { id: o.id } : {}), ...(o.effective ? { effectiveAt: o.effective } : {}), ...(o.expires ? { expiresAt: o.expires } : {}), ...(o.recurrence ? { recurrence: o.recurrence } : {}) };
    print([(await api(resolveClient(o), 'POST', `/v1/tenants/${encodeURIComponent(tenant)}/grants`, body)).json as GrantView], o.json);
  });
  conn(grants.command('list <tenant>').description("the tenant's grants with what each holds now")).action(async (tenant: string, o: Conn) => {
    print(((await api(resolveClient(o), 'GET', `/v1/tenants/${encodeURIComponent(tenant)}/grants`)).json as { data: GrantView[] }).data, o.json);
  });
  conn(grants.command('void <tenant> <id>').description('void a grant from the next whole minute on (what was drawn stays drawn)').option('--reason <text>', 'why (recorded)')).action(async (tenant: string, id: string, o: Conn & { reason?: string }) => {
    print([(await api(resolveClient(o), 'POST', `/v1/tenants/${encodeURIComponent(tenant)}/grants/${encodeURIComponent(id)}/void`, o.reason ? { reason: o.reason } : {})).json as GrantView], o.json);
  });
}
