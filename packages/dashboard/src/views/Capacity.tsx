import { useMemo, useState } from 'react';
import type { Meter, UsageResult } from '../api.ts';
import { Chart } from '../components/Chart.tsx';
import { Card, ErrorBox, Loading } from '../components/States.tsx';
import { formatCompact } from '../format.ts';
import { useLoad, useSession } from '../hooks.ts';
import type { ChartData } from '../series.ts';

/** `GET /v1/forecast`, as the view reads it. */
interface Forecast {
  meter: string;
  tenant: string | null;
  unit: string | null;
  window: 'hour' | 'day';
  method: string;
  reason: string;
  historyTo: string;
  backtest: { origins: number; seasonHours: number; candidate: Score; baseline: Score };
  interval: { level: number; basis: string };
  data: { windowStart: string; value: number; lower: number | null; upper: number | null }[];
  threshold: { value: number; at: string | null; earliest: string | null; latest: string | null } | null;
}
interface Score {
  method: string;
  mape: number | null;
  smape: number | null;
  windows: number;
}
/** `GET /v1/capacity`. */
interface Plan {
  engine: string;
  measuredBy: string;
  eventsPerDay: number;
  eventsPerDayBasis: string;
  storedEvents: number;
  tiers: { tier: string; tables: string[]; bytesNow: number; bytesPerEvent: number; retentionDays: number | null; projectedBytes: number }[];
  total: { bytesNow: number; bytesPerEvent: number; projectedBytes: number };
}

/** Bytes in binary units, the unit named. */
export function formatBytes(v: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v.toFixed(i === 0 ? 0 : 1)} ${units[i]}`;
}
const pct = (v: number | null) => (v === null ? '—' : `${v.toFixed(1)} %`);
const DAY_MS = 86_400_000;

/** The Capacity view: a meter's forecast with its interval and backtest, time to a threshold, and the storage plan. */
export function Capacity({ meters }: { meters: Meter[] }) {
  const additive = meters.filter((m) => m.aggregation === 'COUNT' || m.aggregation === 'SUM' || m.aggregation === 'TIME_WEIGHTED_SUM');
  const [meter, setMeter] = useState(additive[0]?.slug ?? meters[0]!.slug);
  const [tenant, setTenant] = useState('');
  const [horizon, setHorizon] = useState('14d');
  const [threshold, setThreshold] = useState('');
  const [rawDays, setRawDays] = useState('');
  return (
    <div className="capacity" data-testid="capacity">
      <section className="controls card">
        <label className="field">
          Meter{' '}
          <select value={meter} onChange={(e) => setMeter(e.target.value)} data-testid="cap-meter">
            {additive.map((m) => (
              <option key={m.slug} value={m.slug}>
                {m.slug}
              </option>
            ))}
          </select>
        </label>
        <label className="field">
          Tenant <input value={tenant} placeholder="all tenants" onChange={(e) => setTenant(e.target.value.trim())} data-testid="cap-tenant" />
        </label>
        <label className="field">
          Horizon{' '}
          <select value={horizon} onChange={(e) => setHorizon(e.target.value)}>
            {['7d', '14d', '30d', '60d'].map((h) => (
              <option key={h}>{h}</option>
            ))}
          </select>
        </label>
        <label className="field">
          Exceeds per day <input value={threshold} placeholder="threshold" inputMode="decimal" onChange={(e) => setThreshold(e.target.value.trim())} data-testid="cap-threshold" />
        </label>
      </section>
      <ForecastCard meter={meter} tenant={tenant} horizon={horizon} threshold={threshold} />
      <StorageCard rawDays={rawDays} setRawDays={setRawDays} />
    </div>
  );
}

function ForecastCard({ meter, tenant, horizon, threshold }: { meter: string; tenant: string; horizon: string; threshold: string }) {
  const { api } = useSession();
  const qs = new URLSearchParams({ meter, horizon, window: 'day', ...(tenant ? { tenant } : {}), ...(/^\d+(\.\d+)?$/.test(threshold) ? { threshold } : {}) });
  const f = useLoad((signal) => api.json<Forecast>(`/v1/forecast?${qs}`, signal), [api, qs.toString()]);
  const history = useLoad(
    (signal) => {
      const to = new Date(Math.floor(Date.now() / DAY_MS) * DAY_MS);
      const from = new Date(to.getTime() - 21 * DAY_MS);
      return api.json<UsageResult>(`/v1/meters/${encodeURIComponent(meter)}/query?windowSize=DAY&from=${from.toISOString()}&to=${to.toISOString()}${tenant ? `&tenant=${encodeURIComponent(tenant)}` : ''}`, signal);
    },
    [api, meter, tenant],
  );
  const chart = useMemo((): ChartData | undefined => {
    if (!f.data || !history.data) return undefined;
    const hist = history.data.data;
    const x = [...hist.map((r) => Date.parse(r.windowStart) / 1000), ...f.data.data.map((p) => Date.parse(p.windowStart) / 1000)];
    const pad = <T,>(n: number) => new Array<T | null>(n).fill(null);
    const h = hist.length;
    const n = f.data.data.length;
    const fc = f.data.data;
    // The forecast starts at the last actual day so the two lines join.
    const lastActual = hist.at(-1)?.value ?? null;
    return {
      x,
      series: [
        { label: 'actual', values: [...hist.map((r) => Number(r.value ?? 0)), ...pad<number>(n)], raw: [...hist.map((r) => r.value), ...pad<string>(n)] },
        { label: 'forecast', values: [...pad<number>(h - 1), lastActual === null ? null : Number(lastActual), ...fc.map((p) => p.value)], raw: [...pad<string>(h - 1), lastActual, ...fc.map((p) => p.value.toFixed(0))] },
        { label: `lower (${Math.round(f.data.interval.level * 100)} %)`, values: [...pad<number>(h), ...fc.map((p) => p.lower)], raw: [...pad<string>(h), ...fc.map((p) => (p.lower === null ? null : p.lower.toFixed(0)))] },
        { label: `upper (${Math.round(f.data.interval.level * 100)} %)`, values: [...pad<number>(h), ...fc.map((p) => p.upper)], raw: [...pad<string>(h), ...fc.map((p) => (p.upper === null ? null : p.upper.toFixed(0)))] },
      ],
    };
  }, [f.data, history.data]);
  if (f.error) return <ErrorBox error={f.error} />;
  if (!f.data || !chart) return <Loading height={300} label="Fitting the forecast…" />;
  const r = f.data;
  const b = r.backtest;
  const unit = r.unit ? ` ${r.unit}` : '';
  const wins = r.method !== 'seasonal-naive';
  return (
    <>
      <Card title={`Forecast · ${r.meter}${r.tenant ? ` · ${r.tenant}` : ' · all tenants'}`} subtitle={`per UTC day${unit ? `, in${unit}` : ''} · approximate · method: ${r.method}`} testId="forecast-card">
        <Chart data={chart} kind="line" windowSize="DAY" seriesStyle={[{}, { dash: [6, 4] }, { dash: [2, 4], width: 1 }, { dash: [2, 4], width: 1 }]} colors={['#5b8cff', '#2fd4a7', '#94a3b8', '#94a3b8']} testId="forecast-chart" />
        <p className="muted" data-testid="forecast-reason">
          {r.reason}. {r.interval.basis}.
        </p>
        {r.threshold && (
          <p data-testid="threshold">
            {r.threshold.at ? (
              <>
                Exceeds <strong>{formatCompact(r.threshold.value)}{unit}</strong> a day on <strong>{r.threshold.at.slice(0, 10)}</strong> (interval: {r.threshold.earliest?.slice(0, 10) ?? '—'} to {r.threshold.latest?.slice(0, 10) ?? 'beyond the horizon'})
              </>
            ) : (
              <>
                Does not exceed {formatCompact(r.threshold.value)}
                {unit} a day within the horizon{r.threshold.earliest ? ` (possible from ${r.threshold.earliest.slice(0, 10)} at the interval's upper bound)` : ''}.
              </>
            )}
          </p>
        )}
      </Card>
      <Card title="Backtest" subtitle={`rolling origin · ${b.origins} origins · daily windows · season ${b.seasonHours} h`} testId="backtest">
        <table className="data">
          <thead>
            <tr>
              <th>Method</th>
              <th className="num">sMAPE</th>
              <th className="num">MAPE</th>
              <th className="num">Windows</th>
              <th>Ships</th>
            </tr>
          </thead>
          <tbody>
            {[b.candidate, b.baseline].map((s) => (
              <tr key={s.method}>
                <td>{s.method}</td>
                <td className="num">{pct(s.smape)}</td>
                <td className="num">{pct(s.mape)}</td>
                <td className="num">{s.windows}</td>
                <td>{(s.method === 'seasonal-naive') !== wins ? <span className="pill">ships</span> : ''}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </Card>
    </>
  );
}

function StorageCard({ rawDays, setRawDays }: { rawDays: string; setRawDays: (v: string) => void }) {
  const { api } = useSession();
  const [perDay, setPerDay] = useState('');
  const qs = new URLSearchParams({ ...(/^\d+$/.test(rawDays) ? { rawDays } : {}), ...(/^\d+$/.test(perDay) ? { eventsPerDay: perDay } : {}) });
  const p = useLoad((signal) => api.json<Plan>(`/v1/capacity?${qs}`, signal), [api, qs.toString()]);
  return (
    <Card
      title="Storage plan"
      subtitle={p.data ? `${p.data.engine} · ${formatCompact(p.data.eventsPerDay)} events/day · measured bytes per event × events/day × retention` : 'measured from the store'}
      right={
        <span className="controls">
          <input value={perDay} placeholder="what-if events/day" onChange={(e) => setPerDay(e.target.value.trim())} data-testid="cap-perday" />
          <input value={rawDays} placeholder="what-if raw days" onChange={(e) => setRawDays(e.target.value.trim())} data-testid="cap-rawdays" />
        </span>
      }
      testId="storage-plan"
    >
      {p.error ? (
        <ErrorBox error={p.error} />
      ) : !p.data ? (
        <Loading height={160} label="Measuring the store…" />
      ) : (
        <>
          <table className="data">
            <thead>
              <tr>
                <th>Tier</th>
                <th className="num">Now</th>
                <th className="num">Bytes / event</th>
                <th className="num">Retention</th>
                <th className="num">Projected</th>
              </tr>
            </thead>
            <tbody>
              {p.data.tiers.map((t) => (
                <tr key={t.tier} data-testid="tier-row">
                  <td title={t.tables.join(', ')}>{t.tier}</td>
                  <td className="num">{formatBytes(t.bytesNow)}</td>
                  <td className="num">{t.bytesPerEvent.toFixed(1)} B</td>
                  <td className="num">{t.retentionDays === null ? 'as is' : `${t.retentionDays} d`}</td>
                  <td className="num">{formatBytes(t.projectedBytes)}</td>
                </tr>
              ))}
              <tr className="total">
                <td>
                  <strong>Total</strong>
                </td>
                <td className="num">{formatBytes(p.data.total.bytesNow)}</td>
                <td className="num">{p.data.total.bytesPerEvent.toFixed(1)} B</td>
                <td />
                <td className="num" data-testid="projected-total">
                  <strong>{formatBytes(p.data.total.projectedBytes)}</strong>
                </td>
              </tr>
            </tbody>
          </table>
          <p className="muted">
            {formatCompact(p.data.storedEvents)} events stored. Events/day: {p.data.eventsPerDayBasis}. Measured: {p.data.measuredBy}.
          </p>
        </>
      )}
    </Card>
  );
}
