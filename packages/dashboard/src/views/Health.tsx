import { useState } from 'react';
import type { RuleLatest } from '../api.ts';
import { Card, ErrorBox, Loading } from '../components/States.tsx';
import { useLoad, useSession } from '../hooks.ts';

/** The canary's lag from /metrics (seconds), or null when the server exports none. */
function canaryLag(metrics: string): number | null {
  const line = metrics.split('\n').find((l) => l.startsWith('tally_canary_lag_seconds '));
  const v = line ? Number(line.split(' ')[1]) : NaN;
  return Number.isFinite(v) ? v : null;
}

/**
 * Data health: the last run of every reconciliation rule and canary check, with its
 * discrepancies (scope, expected, actual, exact difference), and the canary's lag.
 */
export function Health() {
  const { api } = useSession();
  const rules = useLoad((signal) => api.reconciliation(signal), [api], 15_000);
  const metrics = useLoad((signal) => api.metrics(signal), [api], 15_000);
  const [open, setOpen] = useState<string | null>(null);
  if (rules.error) return <ErrorBox error={rules.error} />;
  if (!rules.data) return rules.data === undefined && !rules.loading ? <p className="muted">This server has no reconciliation.</p> : <Loading height={200} label="Loading reconciliation…" />;
  const list = rules.data;
  const failing = list.filter((r) => r.status !== 'ok');
  const lag = metrics.data ? canaryLag(metrics.data) : null;
  return (
    <div data-testid="health-view">
      <section className="tiles">
        <div className="card tile" data-testid="health-summary">
          <span className="muted small">Rules</span>
          <strong>{list.length === 0 ? 'no runs yet' : failing.length === 0 ? `${list.length} ok` : `${failing.length} of ${list.length} failing`}</strong>
        </div>
        <div className="card tile" data-testid="health-canary-lag">
          <span className="muted small">Canary lag</span>
          <strong>{lag === null ? 'no canary' : `${lag.toFixed(1)} s`}</strong>
        </div>
      </section>
      <Card title="Reconciliation" subtitle="last run per rule; run now with tally reconcile or POST /v1/reconcile" testId="health-rules">
        {list.length === 0 ? (
          <p className="muted">No reconciliation has run yet (the job runs daily at 00:45 UTC; the canary every minute when enabled).</p>
        ) : (
          <table className="data">
            <thead>
              <tr>
                <th>Rule</th>
                <th>Status</th>
                <th>Day</th>
                <th>Last run</th>
                <th className="num">Checked</th>
                <th className="num">Discrepancies</th>
              </tr>
            </thead>
            <tbody>
              {list.map((r) => (
                <Row key={r.rule} r={r} open={open === r.rule} onToggle={() => setOpen(open === r.rule ? null : r.rule)} />
              ))}
            </tbody>
          </table>
        )}
      </Card>
    </div>
  );
}

function Row({ r, open, onToggle }: { r: RuleLatest; open: boolean; onToggle: () => void }) {
  return (
    <>
      <tr data-testid="health-rule" className={r.status === 'ok' ? '' : 'bad'} onClick={onToggle} title={r.description} style={{ cursor: r.results.length || r.error ? 'pointer' : undefined }}>
        <td>
          <code>{r.rule}</code>
        </td>
        <td data-testid="health-status">{r.status === 'ok' ? '✓ ok' : r.status === 'error' ? '✗ error' : '✗ discrepancy'}</td>
        <td>{r.day}</td>
        <td>{r.ranAt.replace('T', ' ').slice(0, 19)} UTC</td>
        <td className="num">{r.checked}</td>
        <td className="num" data-testid="health-discrepancies">
          {r.discrepancies}
        </td>
      </tr>
      {open && (r.results.length > 0 || r.error) ? (
        <tr>
          <td colSpan={6}>
            {r.error ? <p className="error">{r.error}</p> : null}
            <table className="data nested" data-testid="health-results">
              <thead>
                <tr>
                  <th>Scope</th>
                  <th className="num">Expected</th>
                  <th className="num">Actual</th>
                  <th className="num">Difference</th>
                  <th>Unit</th>
                </tr>
              </thead>
              <tbody>
                {r.results.map((x, i) => (
                  <tr key={i}>
                    <td>{Object.entries(x.scope).map(([k, v]) => `${k}=${v}`).join(' ')}</td>
                    <td className="num">{x.expected}</td>
                    <td className="num">{x.actual}</td>
                    <td className="num">{x.difference}</td>
                    <td>{x.unit}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </td>
        </tr>
      ) : null}
    </>
  );
}
