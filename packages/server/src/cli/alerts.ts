import type { Command } from 'commander';
import { csvCell } from '../http/csv.ts';
import { parseRfc3339 } from '../shared/time.ts';
import { api, CliError, resolveClient } from './client.ts';
import { renderTable } from './table.ts';

interface AlertView { id: string; rule: string; kind: string; tenant: string; state: string; summary: string; firedAt: string; resolvedAt: string | null; notifications: number }
interface MessageView { id: string; endpoint: string; type: string; state: string; attempts: number; createdAt: string; nextAttemptAt: string; lastError: string | null }
interface Conn { url?: string; key?: string; json?: boolean; csv?: boolean }

const conn = (c: Command) => c.option('--url <url>', 'server URL').option('--key <key>', 'API key');
const out = (o: Conn, data: unknown, table: () => string) => process.stdout.write(o.json ? `${JSON.stringify(data, null, 2)}\n` : `${table()}\n`);

/** `--until`: an RFC 3339 time or a duration from now (30m, 2h, 1d). */
export function parseUntil(v: string, nowMs = Date.now()): string {
  const m = /^(\d+)([mhd])$/.exec(v);
  if (m) return new Date(nowMs + Number(m[1]) * { m: 60_000, h: 3_600_000, d: 86_400_000 }[m[2] as 'm' | 'h' | 'd']).toISOString();
  if (parseRfc3339(v) === undefined) throw new CliError(`--until: "${v}" is neither a duration (30m, 2h, 1d) nor an RFC 3339 time`);
  return v;
}

/** `tally alerts …`: alerts, rules, webhook endpoints and deliveries through the running server's API. */
export function alertsCommand(program: Command): void {
  const alerts = program.command('alerts').description('alerts and their notifications: history, rules, webhook endpoints, deliveries');
  conn(alerts.command('list').description('alerts, newest change first').option('--state <state>', 'firing | resolved | event').option('--tenant <tenant>').option('--rule <id>').option('--limit <n>', 'at most n', '50').option('--json', 'print JSON').option('--csv', 'print CSV')).action(
    async (o: Conn & { state?: string; tenant?: string; rule?: string; limit: string }) => {
      if (o.json && o.csv) throw new CliError('choose one of --json and --csv');
      const q = new URLSearchParams({ limit: o.limit, ...(o.state ? { state: o.state } : {}), ...(o.tenant ? { tenant: o.tenant } : {}), ...(o.rule ? { rule: o.rule } : {}) });
      const data = ((await api(resolveClient(o), 'GET', `/v1/alerts?${q}`)).json as { data: AlertView[] }).data;
      const head = ['id', 'state', 'rule', 'kind', 'tenant', 'fired', 'resolved', 'notifications', 'summary'];
      const rows = data.map((a) => [a.id, a.state, a.rule, a.kind, a.tenant, a.firedAt, a.resolvedAt ?? '', String(a.notifications), a.summary]);
      if (o.csv) return void process.stdout.write([head, ...rows].map((r) => r.map((v, i) => csvCell(v, i !== 5 && i !== 6 && i !== 7)).join(',')).join('\n') + '\n');
      out(o, data, () => (data.length === 0 ? 'no alerts' : renderTable(head, rows)));
    },
  );
  conn(alerts.command('rules').description('alert rules').option('--json', 'print JSON')).action(async (o: Conn) => {
    const data = ((await api(resolveClient(o), 'GET', '/v1/alerts/rules')).json as { data: { id: string; kind: string; scope: { tenant?: string; plan?: string }; meter?: string; thresholds: string[]; channels: string[]; source: string; enabled: boolean }[] }).data;
    out(o, data, () => (data.length === 0 ? 'no rules (alerts.rules in the config, or POST /v1/alerts/rules)' : renderTable(['id', 'kind', 'scope', 'meter', 'thresholds', 'channels', 'from', 'enabled'], data.map((r) => [r.id, r.kind, r.scope.tenant ? `tenant ${r.scope.tenant}` : r.scope.plan ? `plan ${r.scope.plan}` : 'all tenants', r.meter ?? '', r.kind === 'quota' ? r.thresholds.join(' ') : '', r.channels.join(' '), r.source, String(r.enabled)]))));
  });
  conn(alerts.command('ack').description('acknowledge an alert (no re-notification while it fires)').argument('<id>').option('--json', 'print JSON')).action(async (id: string, o: Conn) => {
    const a = (await api(resolveClient(o), 'POST', `/v1/alerts/${encodeURIComponent(id)}/acknowledge`)).json as AlertView;
    out(o, a, () => `acknowledged ${a.id} (${a.state}): ${a.summary}`);
  });
  conn(alerts.command('silence').description("silence an alert's notifications").argument('<id>').requiredOption('--until <when>', 'RFC 3339 time or a duration from now: 30m, 2h, 1d').option('--json', 'print JSON')).action(async (id: string, o: Conn & { until: string }) => {
    const a = (await api(resolveClient(o), 'POST', `/v1/alerts/${encodeURIComponent(id)}/silence`, { until: parseUntil(o.until) })).json as AlertView & { silencedUntil: string };
    out(o, a, () => `silenced ${a.id} until ${a.silencedUntil}`);
  });
  const endpoints = alerts.command('endpoints').description('webhook endpoints (Standard Webhooks signed, or Slack)');
  conn(endpoints.command('list').description('endpoints').option('--json', 'print JSON')).action(async (o: Conn) => {
    const data = ((await api(resolveClient(o), 'GET', '/v1/alerts/endpoints')).json as { data: { id: string; url: string; type: string; tenant: string | null; kinds: string[]; enabled: boolean; secrets: { prefix: string; expiresAt: string | null }[] }[] }).data;
    out(o, data, () => (data.length === 0 ? 'no endpoints' : renderTable(['id', 'type', 'url', 'tenant', 'kinds', 'enabled', 'secrets'], data.map((e) => [e.id, e.type, e.url, e.tenant ?? '', e.kinds.join(' '), String(e.enabled), e.secrets.map((s) => `${s.prefix}${s.expiresAt ? ` (until ${s.expiresAt})` : ''}`).join(', ')]))));
  });
  conn(endpoints.command('add').description('add an endpoint; prints its signing secret once').argument('<url>').option('--slack', 'Slack-compatible payloads (incoming webhook URL)').option('--tenant <tenant>', "bind to a tenant: it receives that tenant's alerts of --kinds").option('--kinds <kinds...>', 'with --tenant: quota, invoice-finalized, credit-low').option('--description <text>').option('--json', 'print JSON')).action(
    async (url: string, o: Conn & { slack?: boolean; tenant?: string; kinds?: string[]; description?: string }) => {
      const e = (await api(resolveClient(o), 'POST', '/v1/alerts/endpoints', { url, type: o.slack ? 'slack' : 'webhook', ...(o.tenant ? { tenant: o.tenant } : {}), ...(o.kinds ? { kinds: o.kinds } : {}), ...(o.description ? { description: o.description } : {}) })).json as { id: string; secret: string };
      out(o, e, () => `endpoint ${e.id}\nsigning secret (shown once; verify with the standardwebhooks package): ${e.secret}`);
    },
  );
  conn(endpoints.command('rotate').description('new signing secret; the old one keeps signing for --grace minutes').argument('<id>').option('--grace <minutes>', 'minutes the previous secret stays valid', '1440').option('--json', 'print JSON')).action(async (id: string, o: Conn & { grace: string }) => {
    const e = (await api(resolveClient(o), 'POST', `/v1/alerts/endpoints/${encodeURIComponent(id)}/rotate-secret`, { graceMinutes: Number(o.grace) })).json as { id: string; secret: string };
    out(o, e, () => `new signing secret of ${e.id}: ${e.secret}\n(the previous one signs too for ${o.grace} min)`);
  });
  conn(endpoints.command('test').description('send a test ping now').argument('<id>').option('--json', 'print JSON')).action(async (id: string, o: Conn) => {
    const m = (await api(resolveClient(o), 'POST', `/v1/alerts/endpoints/${encodeURIComponent(id)}/test`)).json as MessageView;
    out(o, m, () => `ping ${m.id} enqueued; see \`tally alerts deliveries show ${m.id}\``);
  });
  conn(endpoints.command('delete').description('delete an endpoint').argument('<id>')).action(async (id: string, o: Conn) => {
    await api(resolveClient(o), 'DELETE', `/v1/alerts/endpoints/${encodeURIComponent(id)}`);
    process.stdout.write(`deleted ${id}\n`);
  });
  const deliveries = alerts.command('deliveries').description('the webhook outbox: pending, delivered and dead-lettered messages');
  conn(deliveries.command('list').description('messages, newest first').option('--state <state>', 'pending | delivered | dead (the dead-letter list)').option('--endpoint <id>').option('--limit <n>', 'at most n', '50').option('--json', 'print JSON')).action(async (o: Conn & { state?: string; endpoint?: string; limit: string }) => {
    const q = new URLSearchParams({ limit: o.limit, ...(o.state ? { state: o.state } : {}), ...(o.endpoint ? { endpoint: o.endpoint } : {}) });
    const data = ((await api(resolveClient(o), 'GET', `/v1/alerts/deliveries?${q}`)).json as { data: MessageView[] }).data;
    out(o, data, () => (data.length === 0 ? 'no messages' : renderTable(['webhook-id', 'type', 'endpoint', 'state', 'attempts', 'created', 'next attempt', 'last error'], data.map((m) => [m.id, m.type, m.endpoint, m.state, String(m.attempts), m.createdAt, m.state === 'pending' ? m.nextAttemptAt : '', m.lastError ?? '']))));
  });
  conn(deliveries.command('show').description('one message and its attempts (status codes, latencies)').argument('<id>').option('--json', 'print JSON')).action(async (id: string, o: Conn) => {
    const d = (await api(resolveClient(o), 'GET', `/v1/alerts/deliveries/${encodeURIComponent(id)}`)).json as { message: MessageView; attempts: { attempt: number; at: string; status: number | null; latencyMs: number; error: string | null }[] };
    out(o, d, () => `${d.message.id} ${d.message.type} → ${d.message.endpoint}: ${d.message.state} after ${d.message.attempts} attempt(s)\n${renderTable(['attempt', 'at', 'response', 'latency', 'error'], d.attempts.map((a) => [`#${a.attempt}`, a.at, a.status === null ? 'no answer' : String(a.status), `${a.latencyMs} ms`, a.error ?? '']))}`);
  });
  conn(deliveries.command('redeliver').description('send a message again under the same webhook-id').argument('<id>')).action(async (id: string, o: Conn) => {
    const m = (await api(resolveClient(o), 'POST', `/v1/alerts/deliveries/${encodeURIComponent(id)}/redeliver`)).json as MessageView;
    process.stdout.write(`${m.id} is pending again (same webhook-id)\n`);
  });
}
