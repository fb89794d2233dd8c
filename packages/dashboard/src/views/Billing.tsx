import { useMemo, type ReactNode } from 'react';
import type { Invoice, InvoiceLine, TallyApi } from '../api.ts';
import { Card, ErrorBox, Loading } from '../components/States.tsx';
import { groupDigits, sumDecimals } from '../decimal.ts';
import { useLoad, useSession } from '../hooks.ts';

/** Saves what an authenticated GET answers as a file (links cannot carry the key). */
export async function download(api: TallyApi, path: string, accept: string, file: string): Promise<void> {
  const url = URL.createObjectURL(await api.blob(path, accept));
  const a = document.createElement('a');
  a.href = url;
  a.download = file;
  a.click();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

/** An amount with its currency's minor digits (sums of rounded lines trim trailing zeros). */
function money(v: string, currency: string): string {
  const digits = new Intl.NumberFormat('en', { style: 'currency', currency }).resolvedOptions().maximumFractionDigits ?? 2;
  const [int = '0', frac = ''] = v.split('.');
  return `${groupDigits(int)}${digits > 0 ? `.${frac.padEnd(digits, '0')}` : ''} ${currency}`;
}
const day = (iso: string) => iso.slice(0, 10);

/** Revenue of finalized invoices (credit notes subtract) per plan and per month of period start, per currency. */
function revenue(invoices: Invoice[]): { byPlan: [string, string][]; byMonth: [string, string][] } {
  // A voided invoice stays listed as issued; its credit note (finalized, negative) offsets it.
  const counted = invoices.filter((i) => i.status === 'finalized' || i.status === 'void');
  const group = (key: (i: Invoice) => string) => {
    const m = new Map<string, string[]>();
    for (const i of counted) m.set(key(i), [...(m.get(key(i)) ?? []), i.total]);
    return [...m.entries()].map(([k, v]) => [k, sumDecimals(v)] as [string, string]).sort((a, b) => a[0].localeCompare(b[0]));
  };
  return { byPlan: group((i) => `${i.plan} · ${i.currency}`), byMonth: group((i) => `${i.periodStart.slice(0, 7)} · ${i.currency}`) };
}

/** The Billing view: invoices with their status, revenue per plan and month, and one invoice's page. */
export function Billing({ id }: { id?: string | undefined }) {
  const { api } = useSession();
  const list = useLoad((signal) => api.invoices(undefined, signal), [api], 30_000);
  if (id) return <InvoicePage id={id} />;
  if (list.error) return <ErrorBox error={list.error} />;
  if (!list.data && list.loading) return <Loading height={200} label="Loading invoices…" />;
  if (!list.data) return <p className="muted">This server has no billing API.</p>;
  if (list.data.length === 0) {
    return (
      <div className="state empty" data-testid="no-invoices">
        <strong>No invoices yet</strong>
        <p>
          Give a plan a <code>currency</code> and <code>prices</code> in <code>tally.config.yaml</code>; the <code>invoices</code> job drafts each tenant's invoice an hour after its period ends (or run it now: <code>npm run tally -- jobs run invoices now</code>). A tenant's page shows its upcoming invoice meanwhile.
        </p>
      </div>
    );
  }
  return <InvoiceList invoices={list.data} />;
}

function InvoiceList({ invoices }: { invoices: Invoice[] }) {
  const r = useMemo(() => revenue(invoices), [invoices]);
  const sorted = [...invoices].sort((a, b) => b.periodStart.localeCompare(a.periodStart) || a.tenant.localeCompare(b.tenant));
  return (
    <div className="billing" data-testid="billing">
      <div className="meter-grid">
        <RevenueCard title="Revenue per plan" subtitle="finalized invoices minus credit notes" rows={r.byPlan} testId="revenue-plan" />
        <RevenueCard title="Revenue per month" subtitle="by the month the billed period starts" rows={r.byMonth} testId="revenue-month" />
      </div>
      <Card title="Invoices" subtitle={`${invoices.length} · newest period first`} testId="invoice-list">
        <table className="data">
          <thead>
            <tr>
              <th>Number</th>
              <th>Tenant</th>
              <th>Period</th>
              <th>Status</th>
              <th className="num">Total</th>
            </tr>
          </thead>
          <tbody>
            {sorted.map((i) => (
              <tr key={i.id} data-testid="invoice-row">
                <td>
                  <a href={`#/billing/${encodeURIComponent(i.id)}`}>{i.number ?? 'draft'}</a>
                </td>
                <td>
                  <a href={`#/tenants/${encodeURIComponent(i.tenant)}`}>{i.tenant}</a>
                </td>
                <td>
                  {day(i.periodStart)} → {day(i.periodEnd)}
                </td>
                <td>
                  <Status i={i} />
                </td>
                <td className="num">{money(i.total, i.currency)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </Card>
    </div>
  );
}

/** Amounts by a `label · currency` key. */
function RevenueCard({ title, subtitle, rows, testId }: { title: string; subtitle: string; rows: [string, string][]; testId: string }) {
  return (
    <Card title={title} subtitle={subtitle} testId={testId}>
      <table className="data">
        <tbody>
          {rows.map(([k, v]) => (
            <tr key={k}>
              <td>{k.split(' · ')[0]}</td>
              <td className="num">{money(v, k.split(' · ')[1]!)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </Card>
  );
}

function Status({ i }: { i: Invoice }) {
  const label = i.creditNoteFor ? 'credit note' : i.status === 'draft' && i.reconciled === false ? 'blocked' : i.status;
  const tone = label === 'finalized' ? 'ok' : label === 'blocked' || label === 'void' ? 'bad' : 'warn';
  return <span className={`chip ${tone}`}>{label}</span>;
}

function InvoicePage({ id }: { id: string }) {
  const { api } = useSession();
  const inv = useLoad((signal) => api.invoice(id, signal), [api, id]);
  if (inv.error) return <ErrorBox error={inv.error} />;
  if (!inv.data) return <Loading height={300} label="Loading the invoice…" />;
  const i = inv.data;
  const file = i.number ?? i.id;
  return (
    <div data-testid="invoice-page">
      <p>
        <a href="#/billing">← All invoices</a>
      </p>
      <InvoiceCard
        invoice={i}
        right={
          <>
            <button onClick={() => void download(api, `/v1/invoices/${encodeURIComponent(i.id)}?format=pdf`, 'application/pdf', `${file}.pdf`)}>PDF</button>{' '}
            <button className="ghost" onClick={() => void download(api, `/v1/invoices/${encodeURIComponent(i.id)}?format=csv`, 'text/csv', `${file}.csv`)}>
              CSV
            </button>
          </>
        }
      />
    </div>
  );
}

/** An invoice's lines with their tiers; usage lines link to the raw events behind them. */
export function InvoiceCard({ invoice: i, right }: { invoice: Invoice; right?: ReactNode }) {
  const { api } = useSession();
  const title = i.status === 'upcoming' ? 'Upcoming invoice' : i.creditNoteFor ? `Credit note ${i.number}` : i.number ? `Invoice ${i.number}` : 'Draft invoice';
  const subtitle = `${i.tenant} · plan ${i.plan} · ${day(i.periodStart)} → ${day(i.periodEnd)}${i.asOf ? ` · as of ${i.asOf.slice(0, 16).replace('T', ' ')} UTC` : ''}`;
  const events = (l: InvoiceLine) => download(api, `/v1/invoices/${encodeURIComponent(i.id)}/lines/${l.id}/events`, 'text/csv', `${i.number ?? i.id}-${l.id}-events.csv`);
  return (
    <Card title={title} subtitle={subtitle} right={right ?? <Status i={i} />} testId="invoice-card">
      {i.reconciled === false ? (
        <p className="state error small" data-testid="blocked">
          Blocked: usage recomputed from raw events differs from the rollups ({i.discrepancies!.map((d) => `${d.meter}: raw ${d.raw}, rollups ${d.rollups}`).join('; ')}).
        </p>
      ) : null}
      <table className="data" data-testid="invoice-lines">
        <thead>
          <tr>
            <th>Line</th>
            <th className="num">Quantity</th>
            <th className="num">Amount</th>
            <th className="num muted">Exact</th>
            {i.status === 'upcoming' ? null : <th />}
          </tr>
        </thead>
        <tbody>
          {i.lines.map((l, k) => (
            <LineRows key={k} l={l} currency={i.currency} onEvents={i.status !== 'upcoming' && l.meter ? () => void events(l) : undefined} showEvents={i.status !== 'upcoming'} />
          ))}
          <tr className="total">
            <td>Total</td>
            <td />
            <td className="num" data-testid="invoice-total">
              {money(i.total, i.currency)}
            </td>
            <td />
            {i.status === 'upcoming' ? null : <td />}
          </tr>
        </tbody>
      </table>
      <p className="muted small">Each line is exact, rounded once (half-even) to the currency's minor unit; the total is the sum of the rounded lines.</p>
    </Card>
  );
}

function LineRows({ l, currency, onEvents, showEvents }: { l: InvoiceLine; currency: string; onEvents: (() => void) | undefined; showEvents: boolean }) {
  return (
    <>
      <tr>
        <td>
          {l.name}
          {l.kind === 'adjustment' ? <span className="chip warn">late usage</span> : null}
        </td>
        <td className="num">{l.kind === 'flat' || l.kind === 'minimum' ? '' : groupDigits(l.quantity)}</td>
        <td className="num">{money(l.amount, currency)}</td>
        <td className="num muted">{l.amountExact}</td>
        {showEvents ? <td>{onEvents ? <button className="ghost small" onClick={onEvents}>events</button> : null}</td> : null}
      </tr>
      {l.tiers
        .filter((t) => t.quantity !== '0')
        .map((t, k) => (
          <tr key={k} className="tier muted small">
            <td>
              ↳ {groupDigits(t.from)} – {t.to === null ? '∞' : groupDigits(t.to)} at {t.unitPrice}
              {t.flatAmount ? ` + ${t.flatAmount}` : ''}
            </td>
            <td className="num">{groupDigits(t.quantity)}</td>
            <td className="num">{t.amount}</td>
            <td />
            {showEvents ? <td /> : null}
          </tr>
        ))}
    </>
  );
}

/** The tenant page's upcoming invoice (nothing when its plan has no prices). */
export function Upcoming({ tenant }: { tenant: string }) {
  const { api } = useSession();
  const up = useLoad((signal) => api.upcoming(tenant, signal), [api, tenant], 30_000);
  if (up.error) return <ErrorBox error={up.error} />;
  if (!up.data) return null;
  return <InvoiceCard invoice={up.data} />;
}
