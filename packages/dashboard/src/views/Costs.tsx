import { useState } from 'react';
import { Card, ErrorBox, Loading } from '../components/States.tsx';
import { groupDigits } from '../decimal.ts';
import { useLoad, useSession } from '../hooks.ts';

/** `GET /v1/costs`. */
interface CostReport {
  period: string;
  costs: { name: string; currency: string; allocateBy: string; unit: string | null; total: string; pool: string; unallocated: string; parts: { tenant: string; amount: string; basis: 'shared' | 'dedicated'; usage: string }[] }[];
}
/** `GET /v1/costs/margin`. */
interface MarginReport {
  period: string;
  revenueBasis: string;
  tenants: { tenant: string; plan: string | null; currency: string | null; revenue: string | null; revenueSource: string; cost: string | null; margin: string | null; flagged: boolean; note: string | null }[];
  plans: { plan: string; currency: string; revenue: string; cost: string; margin: string; tenants: number; flagged: number }[];
}

const money = (v: string | null, currency: string | null) => {
  if (v === null) return '—';
  const neg = v.startsWith('-');
  const [int = '0', frac] = v.replace('-', '').split('.');
  return `${neg ? '−' : ''}${groupDigits(int)}${frac ? `.${frac}` : ''}${currency ? ` ${currency}` : ''}`;
};
const thisMonth = () => new Date().toISOString().slice(0, 7);

/** The Costs view: shared costs attributed to tenants, and margin per tenant and plan with loss-makers flagged. */
export function Costs() {
  const { api } = useSession();
  const [period, setPeriod] = useState(thisMonth());
  const costs = useLoad((signal) => api.json<CostReport>(`/v1/costs?period=${period}`, signal), [api, period]);
  const margin = useLoad((signal) => api.json<MarginReport>(`/v1/costs/margin?period=${period}`, signal), [api, period]);
  return (
    <div className="costs" data-testid="costs">
      <section className="controls card">
        <label className="field">
          Month <input type="month" value={period} onChange={(e) => e.target.value && setPeriod(e.target.value)} data-testid="cost-period" />
        </label>
      </section>
      {margin.error ? <ErrorBox error={margin.error} /> : !margin.data ? <Loading height={200} label="Reading invoices and costs…" /> : <Margins m={margin.data} />}
      {costs.error ? <ErrorBox error={costs.error} /> : !costs.data ? <Loading height={200} label="Attributing costs…" /> : <Attribution r={costs.data} />}
    </div>
  );
}

function Margins({ m }: { m: MarginReport }) {
  const flagged = m.tenants.filter((t) => t.flagged).length;
  const sorted = [...m.tenants].sort((a, b) => Number(a.margin ?? 0) - Number(b.margin ?? 0));
  return (
    <>
      <Card title="Margin per plan" subtitle={`${m.period} · revenue minus attributed cost`} testId="margin-plans">
        <table className="data">
          <thead>
            <tr>
              <th>Plan</th>
              <th className="num">Tenants</th>
              <th className="num">Revenue</th>
              <th className="num">Cost</th>
              <th className="num">Margin</th>
              <th className="num">Cost &gt; revenue</th>
            </tr>
          </thead>
          <tbody>
            {m.plans.map((p) => (
              <tr key={`${p.plan}-${p.currency}`}>
                <td>{p.plan}</td>
                <td className="num">{p.tenants}</td>
                <td className="num">{money(p.revenue, p.currency)}</td>
                <td className="num">{money(p.cost, p.currency)}</td>
                <td className={`num${p.margin.startsWith('-') ? ' bad-text' : ''}`}>{money(p.margin, p.currency)}</td>
                <td className="num">{p.flagged}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </Card>
      <Card title="Margin per tenant" subtitle={`${flagged} tenant${flagged === 1 ? '' : 's'} cost more than they pay · lowest margin first`} testId="margin-tenants">
        <table className="data">
          <thead>
            <tr>
              <th>Tenant</th>
              <th>Plan</th>
              <th className="num">Revenue</th>
              <th>Source</th>
              <th className="num">Cost</th>
              <th className="num">Margin</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {sorted.map((t) => (
              <tr key={t.tenant} data-testid="margin-row" className={t.flagged ? 'flagged' : ''}>
                <td>{t.tenant}</td>
                <td>{t.plan ?? '—'}</td>
                <td className="num">{money(t.revenue, t.currency)}</td>
                <td className="muted">{t.revenueSource}</td>
                <td className="num">{money(t.cost, t.currency)}</td>
                <td className={`num${t.flagged ? ' bad-text' : ''}`}>{money(t.margin, t.currency)}</td>
                <td>{t.flagged ? <span className="pill bad">cost &gt; revenue</span> : t.note ? <span className="muted">{t.note}</span> : null}</td>
              </tr>
            ))}
          </tbody>
        </table>
        <p className="muted">Revenue: {m.revenueBasis}.</p>
      </Card>
    </>
  );
}

function Attribution({ r }: { r: CostReport }) {
  if (r.costs.length === 0) {
    return (
      <div className="state empty" data-testid="no-costs">
        <strong>No shared costs declared</strong>
        <p>
          Declare them under <code>costs:</code> in <code>tally.config.yaml</code>, e.g. <code>{'{ name: database cluster, amount: "1200.00", currency: USD, allocateBy: api_requests }'}</code>.
        </p>
      </div>
    );
  }
  return (
    <div className="meter-grid">
      {r.costs.map((c) => (
        <Card key={c.name} title={c.name} subtitle={`${money(c.total, c.currency)} · by ${c.allocateBy}${c.unit ? ` (${c.unit})` : ''} · parts sum exactly`} testId="cost-card">
          <table className="data">
            <thead>
              <tr>
                <th>Tenant</th>
                <th>Basis</th>
                <th className="num">Usage</th>
                <th className="num">Amount</th>
              </tr>
            </thead>
            <tbody>
              {[...c.parts]
                .sort((a, b) => Number(b.amount) - Number(a.amount))
                .map((p) => (
                  <tr key={p.tenant}>
                    <td>{p.tenant}</td>
                    <td>{p.basis === 'dedicated' ? <span className="badge">dedicated</span> : 'shared'}</td>
                    <td className="num">{groupDigits(p.usage.split('.')[0]!)}</td>
                    <td className="num">{money(p.amount, c.currency)}</td>
                  </tr>
                ))}
              {!/^0(\.0+)?$/.test(c.unallocated) && (
                <tr>
                  <td className="muted">(unallocated: no usage)</td>
                  <td />
                  <td />
                  <td className="num">{money(c.unallocated, c.currency)}</td>
                </tr>
              )}
            </tbody>
          </table>
        </Card>
      ))}
    </div>
  );
}
