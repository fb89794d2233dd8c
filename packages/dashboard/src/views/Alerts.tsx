import { AlertsApi, type AlertItem, type AlertRule, type Delivery, type DeliveryAttempt } from '../alerts-api.ts';
import { Card, ErrorBox, Loading } from '../components/States.tsx';
import { useLoad, useSession } from '../hooks.ts';

const when = (iso: string | null) => (iso ? iso.replace('T', ' ').slice(0, 19) : '—');

/** The state of an alert as a coloured pill. */
function StatePill({ a }: { a: AlertItem }) {
  const cls = a.state === 'firing' ? 'bad' : a.state === 'event' ? 'dup' : 'ok';
  const extra = a.acknowledgedAt ? ' · acked' : a.silencedUntil && a.silencedUntil > new Date().toISOString() ? ' · silenced' : '';
  return <span className={`pill ${cls}`}>{a.state}{extra}</span>;
}

/** Alerts as a table: what, who, since when, notifications. */
export function AlertTable({ alerts, testId }: { alerts: AlertItem[]; testId: string }) {
  if (alerts.length === 0) return <p className="muted" data-testid={`${testId}-empty`}>None.</p>;
  return (
    <div className="table-wrap">
      <table data-testid={testId}>
        <thead>
          <tr><th>state</th><th>rule</th><th>tenant</th><th>what</th><th>fired</th><th>resolved</th><th>notified</th></tr>
        </thead>
        <tbody>
          {alerts.map((a) => (
            <tr key={a.id} data-testid="alert-row">
              <td><StatePill a={a} /></td>
              <td>{a.rule} <span className="badge">{a.kind}</span></td>
              <td>{a.tenant ? <a href={`#/tenants/${encodeURIComponent(a.tenant)}`}>{a.tenant}</a> : '—'}</td>
              <td className="wrap" title={JSON.stringify(a.details, null, 2)}>{a.summary}</td>
              <td>{when(a.firedAt)}</td>
              <td>{when(a.resolvedAt)}</td>
              <td>{a.notifications}×</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

function RuleTable({ rules }: { rules: AlertRule[] }) {
  if (rules.length === 0) return <p className="muted">No rules: add them under <code>alerts.rules</code> in the config or <code>POST /v1/alerts/rules</code>.</p>;
  return (
    <div className="table-wrap">
      <table data-testid="rule-table">
        <thead>
          <tr><th>rule</th><th>kind</th><th>scope</th><th>meter</th><th>thresholds</th><th>channels</th><th>from</th></tr>
        </thead>
        <tbody>
          {rules.map((r) => (
            <tr key={r.id}>
              <td>{r.name ?? r.id}{r.enabled ? null : <span className="badge">off</span>}</td>
              <td>{r.kind}</td>
              <td>{r.scope.tenant ? `tenant ${r.scope.tenant}` : r.scope.plan ? `plan ${r.scope.plan}` : 'all tenants'}</td>
              <td>{r.meter ?? '—'}</td>
              <td>{r.kind === 'quota' ? r.thresholds?.join(', ') : '—'}</td>
              <td>{r.channels.length}</td>
              <td>{r.source}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

function DeliveryLog({ deliveries, attempts }: { deliveries: Delivery[]; attempts: DeliveryAttempt[] }) {
  const dead = deliveries.filter((d) => d.state === 'dead').length;
  const pending = deliveries.filter((d) => d.state === 'pending').length;
  return (
    <>
      <div className="pills" data-testid="delivery-counts">
        <span className="pill ok"><b>{deliveries.filter((d) => d.state === 'delivered').length}</b> delivered</span>
        <span className="pill dup"><b>{pending}</b> pending</span>
        <span className="pill bad"><b>{dead}</b> dead-lettered</span>
      </div>
      <div className="table-wrap">
        <table data-testid="attempt-table">
          <thead>
            <tr><th>at</th><th>webhook-id</th><th>attempt</th><th>response</th><th>latency</th><th>error</th></tr>
          </thead>
          <tbody>
            {attempts.map((a) => (
              <tr key={a.id}>
                <td>{when(a.at)}</td>
                <td><code>{a.message.slice(0, 16)}…</code></td>
                <td>#{a.attempt}</td>
                <td><span className={`pill ${a.ok ? 'ok' : 'bad'}`}>{a.status ?? 'no answer'}</span></td>
                <td>{a.latencyMs} ms</td>
                <td className="wrap">{a.error ?? ''}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </>
  );
}

/** The Alerts view: firing now, history, rules, and the webhook delivery log (empty for keys that may not read the outbox). */
export function Alerts() {
  const { api } = useSession();
  const alerts = new AlertsApi(api);
  const data = useLoad(async () => {
    const [all, rules, deliveries, attempts] = await Promise.all([alerts.alerts({ limit: 200 }), alerts.rules(), alerts.deliveries().catch(() => []), alerts.attempts().catch(() => [])]);
    return { all, rules, deliveries, attempts };
  }, [api], 10_000);
  if (data.error) return <ErrorBox error={data.error} />;
  if (!data.data) return <Loading height={300} label="Loading alerts…" />;
  const { all, rules, deliveries, attempts } = data.data;
  const firing = all.filter((a) => a.state === 'firing');
  return (
    <div className="stack" data-testid="alerts-view">
      <Card title={`Firing now (${firing.length})`} subtitle="deduplicated per rule and subject; resolved when the condition clears" testId="firing-card">
        <AlertTable alerts={firing} testId="firing-table" />
      </Card>
      <Card title="History" subtitle="the latest 200 alerts, newest change first" testId="history-card">
        <AlertTable alerts={all} testId="history-table" />
      </Card>
      <Card title={`Rules (${rules.length})`} subtitle="evaluated by the alerts-evaluate job" testId="rules-card">
        <RuleTable rules={rules} />
      </Card>
      <Card title="Webhook deliveries" subtitle="Standard Webhooks signed; retries keep their webhook-id; latest 50 attempts" testId="deliveries-card">
        <DeliveryLog deliveries={deliveries} attempts={attempts} />
      </Card>
    </div>
  );
}

/** The firing alerts of one tenant (its page); nothing when none fire. */
export function TenantAlerts({ tenant }: { tenant: string }) {
  const { api } = useSession();
  const data = useLoad(() => new AlertsApi(api).alerts({ state: 'firing', tenant }).catch(() => []), [api, tenant], 15_000);
  if (!data.data || data.data.length === 0) return null;
  return (
    <Card title={`Firing alerts (${data.data.length})`} subtitle={<a href="#/alerts">all alerts</a>} testId="tenant-alerts">
      <AlertTable alerts={data.data} testId="tenant-alert-table" />
    </Card>
  );
}
