import type { Command } from 'commander';
import { api, resolveClient } from './client.ts';
import { renderTable } from './table.ts';

interface KeyView {
  id: string;
  name: string;
  scopes: string[];
  tenant: string | null;
  createdAt: string;
  revokedAt: string | null;
  expiresAt?: string | null;
  lastUsedAt?: string | null;
  expired?: boolean;
  token?: string;
}

const collect = (v: string, prev: string[] = []) => [...prev, ...v.split(',')];

/** `tally keys create|list|revoke` (through the running server's admin API). */
export function keysCommand(program: Command): void {
  const keys = program.command('keys').description('manage API keys (needs an admin key)');
  const conn = (c: Command) => c.option('--url <url>', 'server URL').option('--key <key>', 'admin key');
  conn(
    keys
      .command('create')
      .description('create a key; its secret is printed once')
      .requiredOption('--name <name>', 'what the key is for')
      .requiredOption('-s, --scope <scope>', 'ingest | read | admin (repeatable or comma-separated)', collect)
      .option('--tenant <id>', 'bind a read key to one tenant (customer portal)')
      .option('--expires <time>', 'RFC 3339 time from which the key is refused (KEY_EXPIRED)')
      .option('--json', 'print JSON'),
  ).action(async (o: { name: string; scope: string[]; tenant?: string; expires?: string; json?: boolean; url?: string; key?: string }) => {
    const r = (await api(resolveClient(o), 'POST', '/v1/keys', { name: o.name, scopes: o.scope, ...(o.tenant ? { tenant: o.tenant } : {}), ...(o.expires ? { expiresAt: o.expires } : {}) })).json as KeyView;
    if (o.json) process.stdout.write(JSON.stringify(r, null, 2) + '\n');
    else process.stdout.write(`created ${r.id} (${r.scopes.join(', ')}${r.tenant ? `, tenant ${r.tenant}` : ''})\n${r.token}\nstore it now: the secret is not shown again\n`);
  });
  conn(keys.command('list').description('list keys (never their secrets)').option('--json', 'print JSON')).action(async (o: { json?: boolean; url?: string; key?: string }) => {
    const r = (await api(resolveClient(o), 'GET', '/v1/keys')).json as { data: KeyView[] };
    if (o.json) process.stdout.write(JSON.stringify(r.data, null, 2) + '\n');
    else process.stdout.write(renderTable(['id', 'name', 'scopes', 'tenant', 'created', 'expires', 'last used', 'revoked'], r.data.map((k) => [k.id, k.name, k.scopes.join(','), k.tenant, k.createdAt, k.expiresAt ? `${k.expiresAt}${k.expired ? ' (expired)' : ''}` : null, k.lastUsedAt ?? 'never', k.revokedAt])) + '\n');
  });
  conn(keys.command('revoke').description('revoke a key by id').argument('<id>', 'key id (key_…)')).action(async (id: string, o: { url?: string; key?: string }) => {
    await api(resolveClient(o), 'DELETE', `/v1/keys/${encodeURIComponent(id)}`);
    process.stdout.write(`revoked ${id}\n`);
  });
}
