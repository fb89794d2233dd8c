import { useState } from 'react';
import type { Entitlement, Grant } from '../api.ts';
import { Card, ErrorBox, Loading } from '../components/States.tsx';
import { useLoad, useSession } from '../hooks.ts';

interface TenantQuotas {
  plan: string | null;
  overrides?: { plan?: string | null; entitlements: Record<string, { limit?: string | number; enforcement?: 'hard' | 'soft' }>; updatedAt: string; updatedBy: string };
  data: Entitlement[];
}

/** Minutes are the grants' resolution: a datetime-local value (UTC) to RFC 3339. */
const utc = (local: string) => (local ? `${local}:00Z` : undefined);

/**
 * The tenant's run-time quota settings for an admin: entitlement overrides (`PUT
 * /v1/tenants/{tenant}`), grants with what each still holds, add and void (`/grants`). Every
 * change goes through the public API, so it is audited and in force on every node within a second.
 */
export function QuotaAdmin({ tenant }: { tenant: string }) {
  const { api } = useSession();
  const [version, setVersion] = useState(0);
  const [error, setError] = useState<Error | undefined>(undefined);
  const q = useLoad((signal) => api.entitlements(tenant, signal) as Promise<TenantQuotas | undefined>, [api, tenant, version]);
  const grants = useLoad(async () => (await api.call<{ data: Grant[] }>('GET', `/v1/tenants/${encodeURIComponent(tenant)}/grants`)).data, [api, tenant, version]);
  const [limits, setLimits] = useState<Record<string, string>>({});
  const [form, setForm] = useState({ entitlement: '', amount: '', expires: '', priority: '0', recurrence: '' });
  if (q.error) return <ErrorBox error={q.error} />;
  if (!q.data) return q.loading ? <Loading height={80} label="Loading quota settings…" /> : null;
  if (q.data.data.length === 0) return null;
  const t = encodeURIComponent(tenant);
  const act = async (fn: () => Promise<unknown>) => {
    setError(undefined);
    try {
      await fn();
      setVersion((v) => v + 1);
    } catch (err) {
      setError(err as Error);
    }
  };
  const overrides = q.data.overrides?.entitlements ?? {};
  const saveOverrides = () => {
    const entitlements = { ...overrides };
    for (const [id, v] of Object.entries(limits)) if (v.trim() !== '') entitlements[id] = { ...entitlements[id], limit: v.trim() };
    return act(() => api.call('PUT', `/v1/tenants/${t}`, { plan: q.data!.overrides?.plan ?? null, entitlements }));
  };
  const ents = q.data.data;
  const entitlement = form.entitlement || ents[0]!.id;
  return (
    <Card title="Quota settings" subtitle={q.data.overrides ? `overridden by ${q.data.overrides.updatedBy} at ${q.data.overrides.updatedAt}` : 'as configured (no run-time overrides)'} testId="quota-admin">
      {error ? <ErrorBox error={error} /> : null}
      <table className="table" data-testid="override-table">
        <thead>
          <tr>
            <th>entitlement</th>
            <th>included</th>
            <th>from grants</th>
            <th>limit now</th>
            <th>override limit</th>
          </tr>
        </thead>
        <tbody>
          {ents.map((e) => (
            <tr key={e.id} data-testid={`override-row-${e.id}`}>
              <td>
                <code>{e.id}</code> <span className="muted small">per {e.period}</span>
              </td>
              <td>{e.included ?? e.limit}</td>
              <td>{e.grantAllowance ?? '0'}</td>
              <td data-testid={`limit-${e.id}`}>{e.limit}</td>
              <td>
                <input data-testid={`override-${e.id}`} inputMode="decimal" placeholder={overrides[e.id]?.limit !== undefined ? String(overrides[e.id]!.limit) : 'plan'} value={limits[e.id] ?? ''} onChange={(ev) => setLimits({ ...limits, [e.id]: ev.target.value })} />
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      <p>
        <button data-testid="override-save" onClick={() => void saveOverrides()}>
          Save overrides
        </button>{' '}
        <button data-testid="override-clear" disabled={!q.data.overrides} onClick={() => void act(() => api.call('PUT', `/v1/tenants/${t}`, { plan: null }))}>
          Back to the plan
        </button>
      </p>
      <h3>Grants</h3>
      {grants.error ? <ErrorBox error={grants.error} /> : null}
      <table className="table" data-testid="grant-table">
        <thead>
          <tr>
            <th>id</th>
            <th>entitlement</th>
            <th>amount</th>
            <th>remaining</th>
            <th>drawn</th>
            <th>status</th>
            <th>expires</th>
            <th>priority</th>
            <th />
          </tr>
        </thead>
        <tbody>
          {(grants.data ?? []).map((g) => (
            <tr key={g.id} data-testid={`grant-row-${g.id}`}>
              <td>
                <code>{g.id}</code>
              </td>
              <td>{g.entitlement}</td>
              <td>{g.amount}</td>
              <td data-testid={`grant-remaining-${g.id}`}>{g.remaining}</td>
              <td>{g.drawn}</td>
              <td data-testid={`grant-status-${g.id}`}>{g.status}</td>
              <td>{g.expiresAt ?? 'never'}</td>
              <td>{g.priority}</td>
              <td>
                {g.voided === null ? (
                  <button data-testid={`grant-void-${g.id}`} onClick={() => void act(() => api.call('POST', `/v1/tenants/${t}/grants/${encodeURIComponent(g.id)}/void`, { reason: 'voided in the dashboard' }))}>
                    Void
                  </button>
                ) : (
                  <span className="muted small">voided {g.voided.at}</span>
                )}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      <div className="controls" data-testid="grant-form">
        <label className="field">
          <span>Entitlement</span>
          <select data-testid="grant-entitlement" value={entitlement} onChange={(e) => setForm({ ...form, entitlement: e.target.value })}>
            {ents.map((e) => (
              <option key={e.id} value={e.id}>
                {e.id}
              </option>
            ))}
          </select>
        </label>
        <label className="field">
          <span>Amount</span>
          <input data-testid="grant-amount" inputMode="decimal" value={form.amount} onChange={(e) => setForm({ ...form, amount: e.target.value })} />
        </label>
        <label className="field">
          <span>Expires (UTC, optional)</span>
          <input data-testid="grant-expires" type="datetime-local" value={form.expires} onChange={(e) => setForm({ ...form, expires: e.target.value })} />
        </label>
        <label className="field">
          <span>Priority</span>
          <input data-testid="grant-priority" inputMode="numeric" value={form.priority} onChange={(e) => setForm({ ...form, priority: e.target.value })} />
        </label>
        <label className="field">
          <span>Recurs</span>
          <select data-testid="grant-recurrence" value={form.recurrence} onChange={(e) => setForm({ ...form, recurrence: e.target.value })}>
            <option value="">one-off</option>
            {['hour', 'day', 'week', 'month'].map((r) => (
              <option key={r} value={r}>
                every {r}
              </option>
            ))}
          </select>
        </label>
        <div className="field">
          <span>&nbsp;</span>
          <button
            data-testid="grant-add"
            onClick={() =>
              void act(async () => {
                await api.call('POST', `/v1/tenants/${t}/grants`, { entitlement, amount: form.amount, priority: Number(form.priority || 0), ...(form.expires ? { expiresAt: utc(form.expires) } : {}), ...(form.recurrence ? { recurrence: form.recurrence } : {}) });
                setForm({ ...form, amount: '' });
              })
            }
          >
            Add grant
          </button>
        </div>
      </div>
    </Card>
  );
}
