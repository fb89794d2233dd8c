import { useState } from 'react';
import type { Meter } from '../api.ts';
import { analytics, daysAgo, downloadCsv, exactness } from '../analytics/client.ts';
import { Chart } from '../components/Chart.tsx';
import { Card, ErrorBox, Loading } from '../components/States.tsx';
import { browserTimeZone, formatPercent } from '../format.ts';
import { useLoad, useSession } from '../hooks.ts';
import type { ChartData } from '../series.ts';

interface Point {
  period: string;
  tenants: number;
  users: number;
  tenantShare: number;
  userShare: number;
  cumulativeTenants: number;
}
interface Feature {
  feature: string;
  tenants: number;
  users: number;
  tenantShare: number;
  userShare: number;
  firstUse: string;
  bucket: 'broad' | 'niche' | null;
  series: Point[];
}
interface AdoptionAnswer {
  activeTenants: number;
  activeUsers: number;
  features: Feature[];
  approximate: boolean;
}
interface PercentileAnswer {
  count: number;
  percentiles: Record<string, string | null>;
  approximate: boolean;
  errorBound: unknown;
}

/** Feature adoption: tenants and end users per feature with shares, buckets and the adoption curve (exact); latency percentiles (sketch, labelled). */
export function Adoption({ meters }: { meters: Meter[] }) {
  const { api } = useSession();
  const [period, setPeriod] = useState('WEEK');
  const tz = browserTimeZone();
  const q = new URLSearchParams({ period, timeZone: tz, from: daysAgo(84), to: daysAgo(0) }).toString();
  const answer = useLoad((signal) => analytics<AdoptionAnswer>(api, `/v1/analytics/adoption?${q}`, undefined, signal), [api, period]);
  const latency = meters.find((m) => m.valueProperty && m.aggregation !== 'UNIQUE_COUNT' && /duration|latency|ms/i.test(m.valueProperty + m.slug));
  const pct = useLoad((signal) => (latency ? analytics<PercentileAnswer>(api, `/v1/analytics/percentiles?meter=${encodeURIComponent(latency.slug)}&approximate=true&from=${daysAgo(1)}&to=${daysAgo(0)}`, undefined, signal) : Promise.resolve(null)), [api, latency?.slug]);
  const a = answer.data;
  const curve: ChartData | null = a && a.features[0] ? { x: a.features[0].series.map((p) => Date.parse(`${p.period}T00:00:00Z`) / 1000), series: a.features.map((f) => ({ label: f.feature, values: f.series.map((p) => p.cumulativeTenants), raw: f.series.map((p) => String(p.cumulativeTenants)) })) } : null;
  return (
    <div className="stack" data-testid="adoption-view">
      {answer.error ? <ErrorBox error={answer.error} /> : !a ? <Loading height={240} label="Computing adoption…" /> : null}
      {a ? (
        <Card
          title="Feature adoption"
          subtitle={`feature.used by feature, last 12 weeks · ${a.activeTenants} active tenants, ${a.activeUsers} active end users`}
          right={
            <>
              <select className="small-select" value={period} onChange={(e) => setPeriod(e.target.value)}>
                {['DAY', 'WEEK', 'MONTH'].map((p) => (
                  <option key={p}>{p}</option>
                ))}
              </select>
              <span className="badge" data-testid="adoption-exactness">{exactness(a)}</span>
              <button className="ghost" data-testid="adoption-csv" onClick={() => void downloadCsv(api, `/v1/analytics/adoption?${q}`, undefined, 'adoption.csv')}>
                CSV
              </button>
            </>
          }
          testId="adoption"
        >
          <table className="data" data-testid="adoption-table">
            <thead>
              <tr>
                <th>feature</th>
                <th>tenants using it</th>
                <th className="num">end users</th>
                <th>first use</th>
                <th />
              </tr>
            </thead>
            <tbody>
              {a.features.map((f) => (
                <tr key={f.feature} data-testid="adoption-row" data-feature={f.feature} data-tenants={f.tenants}>
                  <td>
                    <code>{f.feature}</code>
                  </td>
                  <td style={{ minWidth: 260 }}>
                    <div className="share-bar">
                      <div className="fill" style={{ width: `${f.tenantShare * 100}%` }} />
                      <span>
                        {f.tenants} / {a.activeTenants} · {formatPercent(f.tenantShare)}
                      </span>
                    </div>
                  </td>
                  <td className="num">
                    {f.users} · {formatPercent(f.userShare)}
                  </td>
                  <td className="muted">{f.firstUse.slice(0, 10)}</td>
                  <td>{f.bucket === 'broad' ? <span className="badge soft">used by ≥ 80 %</span> : f.bucket === 'niche' ? <span className="badge hard">≤ 5 %</span> : null}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </Card>
      ) : null}
      <div className="grid2">
        {curve ? (
          <Card title="Adoption curve" subtitle="tenants that have used each feature by the end of each period">
            <Chart data={curve} kind="line" height={240} timeZone="UTC" testId="adoption-curve" />
          </Card>
        ) : null}
        {latency && pct.data ? (
          <Card title={`Latency percentiles · ${latency.slug}`} subtitle={`last 24 h · ${pct.data.count.toLocaleString('en')} values from raw events`} right={<span className="badge hard" data-testid="percentiles-exactness">{exactness(pct.data)}</span>} testId="percentiles">
            <table className="data">
              <tbody>
                {Object.entries(pct.data.percentiles).map(([k, v]) => (
                  <tr key={k}>
                    <td>{k}</td>
                    <td className="num">{v === null ? '–' : `≈ ${Number(v).toFixed(1)}`}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </Card>
        ) : null}
      </div>
    </div>
  );
}
