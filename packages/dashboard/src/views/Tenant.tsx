import type { Meter } from '../api.ts';
import { Chart, PALETTE } from '../components/Chart.tsx';
import { Card, Empty, ErrorBox, Loading } from '../components/States.tsx';
import { formatValue } from '../format.ts';
import { useLoad, useSession } from '../hooks.ts';
import { rank, requestMeter, toChartData } from '../series.ts';
import { lastMinutes } from '../time.ts';
import { TenantAlerts } from './Alerts.tsx';
import { Upcoming } from './Billing.tsx';
import { QuotaAdmin } from './QuotaAdmin.tsx';
import { Quotas } from './Quotas.tsx';
import { TenantList } from './TenantList.tsx';

/** An average rounded to 2 decimals for display (the exact value is in the tooltip). */
function roundDisplay(v: string): string {
  return Number(v).toFixed(2).replace(/\.?0+$/, '');
}

/** Tenant ids close to `id` (same letters ignoring case, one containing the other, or one edit apart), at most 3. */
export function similarTenants(id: string, ids: readonly string[]): string[] {
  const a = id.toLowerCase();
  const close = (b: string) => {
    if (a === b || a.includes(b) || b.includes(a)) return true;
    if (Math.abs(a.length - b.length) > 1) return false;
    let i = 0;
    while (i < a.length && a[i] === b[i]) i++;
    // One substitution, insertion or deletion at the first difference.
    return a.slice(i + 1) === b.slice(i + 1) || a.slice(i + 1) === b.slice(i) || a.slice(i) === b.slice(i + 1);
  };
  return ids.filter((t) => t !== id && close(t.toLowerCase())).slice(0, 3);
}

/** What the figure beside a meter card's title is, per aggregation. */
const FIGURE_LABEL: Record<Meter['aggregation'], string> = { COUNT: 'total', SUM: 'total', UNIQUE_COUNT: 'distinct', MIN: 'lowest', MAX: 'highest', AVG: 'average', LATEST: 'latest', TIME_WEIGHTED_SUM: 'time-weighted total' };

const RANGE = { minutes: 1440, window: 'HOUR' as const, label: 'last 24 hours, hourly' };

/** One tenant: its usage of every meter over time. */
export function TenantView({ meters, tenant }: { meters: Meter[]; tenant: string | undefined }) {
  const { api } = useSession();
  const listMeter = requestMeter(meters) ?? meters[0]!;
  const list = useLoad((signal) => api.query({ meter: listMeter.slug, ...lastMinutes(30 * 1440), groupBy: ['tenant'] }, signal), [api, listMeter.slug]);
  if (list.error) return <ErrorBox error={list.error} />;
  if (!list.data) return <Loading height={300} label="Loading tenants…" />;
  const tenants = rank(list.data.data, (r) => r.tenant ?? '').items;
  if (tenants.length === 0) return <Empty title="No tenants with usage in the last 30 days" />;
  if (tenant === undefined) return <TenantList tenants={tenants} meter={listMeter} />;
  const current = tenant;
  const known = tenants.some((t) => t.key === current);
  return (
    <div className="stack" data-testid="tenant-view">
      <section className="card controls">
        <label className="field">
          <span>Tenant</span>
          <select data-testid="tenant-select" value={current} onChange={(e) => (window.location.hash = `#/tenants/${encodeURIComponent(e.target.value)}`)}>
            {known ? null : <option value={current}>{current}</option>}
            {tenants.map((t) => (
              <option key={t.key} value={t.key}>
                {t.key} · {formatValue(t.value, listMeter)}
              </option>
            ))}
          </select>
        </label>
        <div className="field">
          <span>&nbsp;</span>
          <a href="#/tenants" data-testid="all-tenants">← all tenants</a>
        </div>
        <div className="field grow">
          <span>&nbsp;</span>
          <p className="muted small">Quotas of the tenant's plan for the current period, then its usage of every meter, {RANGE.label}.</p>
        </div>
      </section>
      <h1 className="tenant-title" data-testid="tenant-title">
        {current}
      </h1>
      {known ? null : (
        <p className="notice" data-testid="unknown-tenant">
          No usage from a tenant named “{current}” in the last 30 days. Tenant ids are the <code>subject</code> of the events (case-sensitive): check the spelling, or <a href="#/tenants">search the tenants</a>. A tenant appears with its first event.
          {similarTenants(current, tenants.map((t) => t.key)).map((t, i) => (
            <span key={t}>
              {i === 0 ? ' Did you mean ' : ', '}
              <a href={`#/tenants/${encodeURIComponent(t)}`}>{t}</a>
            </span>
          ))}
        </p>
      )}
      <TenantAlerts key={`al-${current}`} tenant={current} />
      <Quotas key={current} tenant={current} />
      <QuotaAdmin key={`qa-${current}`} tenant={current} />
      <Upcoming key={`up-${current}`} tenant={current} />
      <div className="meter-grid" hidden={!known}>
        {!known ? null : meters.map((m, i) => (
          <MeterCard key={`${current}|${m.slug}`} meter={m} tenant={current} color={PALETTE[i % PALETTE.length]!} />
        ))}
      </div>
    </div>
  );
}

function MeterCard({ meter, tenant, color }: { meter: Meter; tenant: string; color: string }) {
  const { api } = useSession();
  const data = useLoad(
    async (signal) => {
      const range = lastMinutes(RANGE.minutes);
      const [series, total] = await Promise.all([
        api.query({ meter: meter.slug, ...range, windowSize: RANGE.window, tenants: [tenant] }, signal),
        api.query({ meter: meter.slug, ...range, tenants: [tenant] }, signal),
      ]);
      return { series, total: total.data[0]?.value ?? null };
    },
    [api, meter.slug, tenant],
    60_000,
  );
  return (
    <Card
      title={<code>{meter.slug}</code>}
      subtitle={`${meter.aggregation}${meter.valueProperty ? ` of ${meter.valueProperty}` : ''} · ${meter.eventType}`}
      right={
        <span className="meter-figure">
          <span className="big-num" data-testid="meter-total" data-value={data.data?.total ?? ''} title={data.data?.total ?? undefined}>
            {data.data ? (data.data.total === null ? '–' : formatValue(meter.aggregation === 'AVG' && meter.precision === undefined ? roundDisplay(data.data.total) : data.data.total, meter)) : '…'}
          </span>
          <span className="muted small"> {FIGURE_LABEL[meter.aggregation]} · last 24 h</span>
        </span>
      }
      className="meter-card"
      testId={`meter-card-${meter.slug}`}
    >
      {data.error ? (
        <ErrorBox error={data.error} />
      ) : !data.data ? (
        <Loading height={140} />
      ) : data.data.series.data.length === 0 ? (
        <p className="muted nodata">No {meter.eventType} events from {tenant} in the last 24 hours.</p>
      ) : (
        <Chart data={toChartData(data.data.series, [], 1)} kind="area" colors={[color]} height={140} legend={false} windowSize={RANGE.window} format={meter} testId={`tenant-chart-${meter.slug}`} range={data.data.series} />
      )}
    </Card>
  );
}
