import { useMemo, useState } from 'react';
import { WINDOW_SIZES, type Meter, type UsageQuery, type UsageResult, type WindowSize } from '../api.ts';
import { Chart } from '../components/Chart.tsx';
import { Card, Empty, ErrorBox, Loading } from '../components/States.tsx';
import { groupDigits, sumDecimals } from '../decimal.ts';
import { browserTimeZone, formatValue, formatWindow } from '../format.ts';
import { useLoad, useSession } from '../hooks.ts';
import { groupLabel, partialWindows, toChartData, zeroWhenEmpty } from '../series.ts';
import { RANGES, TIME_ZONES, lastMinutes, rangeChange, type RangeId } from '../time.ts';

const TABLE_ROWS = 500;

/** Explorer state, kept in the URL hash so a view can be shared. */
interface ExplorerState {
  meter: string;
  range: RangeId;
  window: WindowSize;
  tz: string;
  groupBy: string[];
  tenants: string[];
}

function readState(params: URLSearchParams, meters: Meter[]): ExplorerState {
  const meter = meters.find((m) => m.slug === params.get('meter')) ?? meters.find((m) => m.slug === 'api_requests') ?? meters[0]!;
  const range = (RANGES.find((r) => r.id === params.get('range'))?.id ?? '24h') as RangeId;
  const w = params.get('window');
  const list = (k: string) => (params.get(k) ?? '').split(',').filter(Boolean);
  const dims = new Set(['tenant', ...Object.keys(meter.groupBy)]);
  return {
    meter: meter.slug,
    range,
    window: (WINDOW_SIZES as readonly string[]).includes(w ?? '') ? (w as WindowSize) : RANGES.find((r) => r.id === range)!.window,
    tz: params.get('tz') || 'UTC',
    groupBy: list('groupBy').filter((g) => dims.has(g)),
    tenants: list('tenant'),
  };
}

function writeState(s: ExplorerState): void {
  const p = new URLSearchParams({ meter: s.meter, range: s.range, window: s.window, tz: s.tz });
  if (s.groupBy.length) p.set('groupBy', s.groupBy.join(','));
  if (s.tenants.length) p.set('tenant', s.tenants.join(','));
  window.location.hash = `#/explorer?${p.toString()}`;
}

/** Pick a meter, tenants, window, zone and group-by; see the chart, the table, download the CSV. */
export function Explorer({ meters, params }: { meters: Meter[]; params: URLSearchParams }) {
  const { api } = useSession();
  const state = readState(params, meters);
  const meter = meters.find((m) => m.slug === state.meter)!;
  const set = (patch: Partial<ExplorerState>) => writeState({ ...state, ...patch });
  const range = RANGES.find((r) => r.id === state.range)!;
  const key = JSON.stringify(state);
  const query = useMemo<UsageQuery>(() => {
    const q: UsageQuery = { meter: state.meter, ...lastMinutes(range.minutes), windowSize: state.window, windowTimeZone: state.tz };
    if (state.groupBy.length) q.groupBy = state.groupBy;
    if (state.tenants.length) q.tenants = state.tenants;
    return q;
    // `key` captures every input; "now" is read when the state changes, not on every render
  }, [key]);
  const result = useLoad((signal) => api.query(query, signal), [api, query]);
  const tenantList = useLoad((signal) => api.query({ meter: state.meter, ...lastMinutes(range.minutes), groupBy: ['tenant'] }, signal), [api, state.meter, state.range]);
  const tenantOptions = useMemo(() => (tenantList.data?.data ?? []).slice().sort((a, b) => Number(b.value) - Number(a.value)).map((r) => r.tenant ?? ''), [tenantList.data]);
  const zones = [...new Set(['UTC', browserTimeZone(), ...TIME_ZONES, state.tz])];

  return (
    <div className="stack" data-testid="explorer">
      <section className="card controls">
        <label className="field">
          <span>Meter</span>
          <select data-testid="meter-select" value={state.meter} onChange={(e) => set({ meter: e.target.value, groupBy: [], tenants: [] })}>
            {meters.map((m) => (
              <option key={m.slug} value={m.slug}>
                {m.slug} · {m.aggregation}
              </option>
            ))}
          </select>
        </label>
        <label className="field">
          <span>Range</span>
          <select data-testid="range-select" value={state.range} onChange={(e) => set(rangeChange(state.window, e.target.value))}>
            {RANGES.map((r) => (
              <option key={r.id} value={r.id}>
                {r.label}
              </option>
            ))}
          </select>
        </label>
        <div className="field">
          <span>Window</span>
          <div className="segmented" role="group">
            {WINDOW_SIZES.map((w) => (
              <button key={w} className={w === state.window ? 'on' : ''} data-testid={`window-${w}`} onClick={() => set({ window: w })} disabled={w === 'MINUTE' && range.minutes > 1440}>
                {w.toLowerCase()}
              </button>
            ))}
          </div>
        </div>
        <label className="field">
          <span>Time zone</span>
          <select data-testid="tz-select" value={state.tz} onChange={(e) => set({ tz: e.target.value })}>
            {zones.map((z) => (
              <option key={z} value={z}>
                {z}
              </option>
            ))}
          </select>
        </label>
        <div className="field grow">
          <span>Group by</span>
          <div className="chips">
            {['tenant', ...Object.keys(meter.groupBy)].map((d) => (
              <button key={d} className={`chip ${state.groupBy.includes(d) ? 'on' : ''}`} data-testid={`group-${d}`} onClick={() => set({ groupBy: state.groupBy.includes(d) ? state.groupBy.filter((g) => g !== d) : [...state.groupBy, d] })}>
                {d}
              </button>
            ))}
          </div>
        </div>
        <TenantPicker options={tenantOptions} selected={state.tenants} onChange={(tenants) => set({ tenants })} />
        <div className="field">
          <span>&nbsp;</span>
          <a href="#/meters/new" data-testid="new-meter-link">+ New meter</a>
        </div>
      </section>
      {result.error ? <ErrorBox error={result.error} /> : !result.data ? <Loading height={360} label="Querying…" /> : <Results meter={meter} result={result.data} query={query} groupBy={state.groupBy} />}
    </div>
  );
}

function TenantPicker({ options, selected, onChange }: { options: string[]; selected: string[]; onChange: (t: string[]) => void }) {
  const [adding, setAdding] = useState('');
  return (
    <div className="field grow">
      <span>Tenants</span>
      <div className="chips">
        {selected.length === 0 ? <span className="muted small">all tenants</span> : null}
        {selected.map((t) => (
          <button key={t} className="chip on" onClick={() => onChange(selected.filter((x) => x !== t))} title="remove" data-testid="tenant-chip">
            {t} ×
          </button>
        ))}
        <select
          data-testid="tenant-add"
          className="small-select"
          value={adding}
          onChange={(e) => {
            setAdding('');
            if (e.target.value) onChange([...selected, e.target.value]);
          }}
        >
          <option value="">+ tenant</option>
          {options.filter((o) => !selected.includes(o)).map((o) => (
            <option key={o} value={o}>
              {o}
            </option>
          ))}
        </select>
      </div>
    </div>
  );
}

function Results({ meter, result, query, groupBy }: { meter: Meter; result: UsageResult; query: UsageQuery; groupBy: string[] }) {
  const { api } = useSession();
  const chart = useMemo(() => toChartData(result, groupBy, 10, meter.slug), [result, groupBy, meter.slug]);
  const partial = partialWindows(result, Date.now());
  const [downloading, setDownloading] = useState<string | undefined>();
  if (result.data.length === 0) {
    return <Empty title={`No ${meter.slug} usage in this range`} />;
  }
  const additive = zeroWhenEmpty(result.aggregation) && result.aggregation !== 'UNIQUE_COUNT';
  const download = async () => {
    setDownloading('Preparing CSV…');
    try {
      // The exact range of the answer on screen, so the file holds the same rows as the table.
      const csv = await api.queryCsv({ ...query, from: result.from, to: result.to });
      const url = URL.createObjectURL(new Blob([csv], { type: 'text/csv' }));
      const a = document.createElement('a');
      a.href = url;
      a.download = `${result.meter}_${result.windowSize ?? 'total'}_${result.from.slice(0, 16).replace(/[:T]/g, '-')}.csv`;
      document.body.append(a);
      a.click();
      a.remove();
      setTimeout(() => URL.revokeObjectURL(url), 10_000);
      setDownloading(undefined);
    } catch (err) {
      setDownloading(`CSV failed: ${(err as Error).message}`);
    }
  };
  return (
    <>
      <Card
        title={
          <>
            <code>{result.meter}</code> <span className="badge">{result.aggregation}</span>
          </>
        }
        subtitle={`${meter.description ?? meter.eventType} · ${result.windowSize?.toLowerCase()} windows in ${result.windowTimeZone} · served from ${result.resolution}${chart.hidden ? ` · chart shows the top ${chart.series.length} of ${chart.series.length + chart.hidden} groups (the table has all)` : ''}`}
        right={additive ? <span className="total-badge" title="the sum of every window and group in the range" data-testid="range-total">{formatValue(sumDecimals(result.data.map((r) => r.value)), meter)} in range</span> : null}
        testId="explorer-chart-card"
      >
        <Chart data={chart} kind={chart.series.length === 1 ? 'area' : 'line'} timeZone={result.windowTimeZone} windowSize={result.windowSize} format={meter} height={320} testId="explorer-chart" range={result} />
        {partial.size > 0 ? <p className="muted small" data-testid="partial-note">Windows marked “partial” are cut by the range or still open: their value covers only part of the window.</p> : null}
      </Card>
      <Card
        title="Rows"
        subtitle={`${groupDigits(String(result.data.length))} rows${result.data.length > TABLE_ROWS ? `, first ${TABLE_ROWS} shown (the CSV has all)` : ''}`}
        right={
          <>
            {downloading ? <span className="muted small">{downloading}</span> : null}
            <button className="primary" onClick={() => void download()} data-testid="csv-download">
              Download CSV
            </button>
          </>
        }
      >
        <div className="table-wrap">
          <table data-testid="explorer-table">
            <thead>
              <tr>
                <th>Window start ({result.windowTimeZone})</th>
                {groupBy.map((g) => (
                  <th key={g}>{g}</th>
                ))}
                <th className="num">value{meter.unit ? ` (${meter.unit})` : ''}</th>
              </tr>
            </thead>
            <tbody>
              {result.data.slice(0, TABLE_ROWS).map((r) => (
                <tr key={`${r.windowStart}|${groupLabel(r, groupBy)}`} data-window={r.windowStart} data-group={groupLabel(r, groupBy)}>
                  <td>
                    {formatWindow(r.windowStart, result.windowSize, result.windowTimeZone)}
                    {partial.has(r.windowStart) ? <span className="badge partial" data-testid="partial-window">partial</span> : null}
                  </td>
                  {groupBy.map((g) => (
                    <td key={g}>{(g === 'tenant' ? r.tenant : r.groupBy[g]) ?? <span className="muted">(none)</span>}</td>
                  ))}
                  <td className="num" data-testid="cell-value" data-value={r.value ?? ''}>
                    {formatValue(r.value, meter, false)}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      </Card>
    </>
  );
}
