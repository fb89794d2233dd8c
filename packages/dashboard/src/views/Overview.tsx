import { useRef } from 'react';
import type { Meter, UsageResult } from '../api.ts';
import { Chart } from '../components/Chart.tsx';
import { Card, Empty, ErrorBox, Loading } from '../components/States.tsx';
import { groupDigits } from '../decimal.ts';
import { formatAgo, formatCompact, formatPercent } from '../format.ts';
import { useLoad, useSession, useTick } from '../hooks.ts';
import { parseIngestOutcomes, type IngestOutcomes } from '../prom.ts';
import { headCount, rank, requestMeter, toChartData, type Ranked } from '../series.ts';
import { lastMinutes } from '../time.ts';

const LIVE_MS = 5_000;
const TOP_MS = 30_000;
const STATUS_COLORS: Record<string, string> = { '1xx': '#94a3b8', '2xx': '#2fd4a7', '3xx': '#5b8cff', '4xx': '#f7b955', '5xx': '#ff6b8b' };

/** The first screen: live events per minute, ingest outcomes, top tenants and top endpoints. */
export function Overview({ meters }: { meters: Meter[] }) {
  const meter = requestMeter(meters);
  if (!meter) {
    return (
      <Empty title="No COUNT meter to chart">
        <p>The overview counts events with a COUNT meter (e.g. <code>api_requests</code>). Declare one, or use the meter explorer.</p>
      </Empty>
    );
  }
  return <OverviewOf meter={meter} />;
}

function OverviewOf({ meter }: { meter: Meter }) {
  const { api } = useSession();
  const byStatus = 'status_class' in meter.groupBy ? ['status_class'] : [];
  const endpointDims = ['method', 'route'].filter((d) => d in meter.groupBy);
  const live = useLoad((signal) => api.query({ meter: meter.slug, windowSize: 'MINUTE', ...lastMinutes(60), groupBy: byStatus }, signal), [api, meter.slug], LIVE_MS);
  const tenants = useLoad((signal) => api.query({ meter: meter.slug, ...lastMinutes(1440), groupBy: ['tenant'] }, signal), [api, meter.slug], TOP_MS);
  const endpoints = useLoad(
    (signal) => (endpointDims.length ? api.query({ meter: meter.slug, ...lastMinutes(1440), groupBy: endpointDims }, signal) : Promise.resolve(undefined)),
    [api, meter.slug],
    TOP_MS,
  );
  const outcomes = useOutcomes();
  const now = useTick(1000);

  if (live.error) return <ErrorBox error={live.error} />;
  if (!live.data || !tenants.data) return <Loading height={420} label="Loading live usage…" />;
  const totalDay = rank(tenants.data.data, (r) => r.tenant ?? '(none)');
  if (live.data.data.length === 0 && totalDay.items.length === 0) {
    return (
      <div className="stack">
        <Empty title={`No ${meter.slug} events in the last 24 hours`} />
        <OutcomeTiles o={outcomes} />
      </div>
    );
  }
  const chart = toChartData(live.data, byStatus, 10);
  chart.series.sort((a, b) => a.label.localeCompare(b.label));
  const colors = chart.series.map((s, i) => STATUS_COLORS[s.label] ?? ['#5b8cff', '#a78bfa'][i % 2]!);
  const totalsPerMinute = chart.x.map((_, i) => chart.series.reduce((a, s) => a + (s.values[i] ?? 0), 0));
  const lastFull = totalsPerMinute.at(-2) ?? 0;
  const current = totalsPerMinute.at(-1) ?? 0;
  const hour = totalsPerMinute.reduce((a, b) => a + b, 0);

  return (
    <div className="stack" data-testid="overview">
      <div className="tiles">
        {lastFull === 0 && current > 0 ? (
          <Tile label="Events / min" value={formatCompact(current)} note="this minute so far (the last full minute had none)" accent="#5b8cff" testId="tile-epm" />
        ) : (
          <Tile label="Events / min" value={formatCompact(lastFull)} note={`last full minute · ${current} so far this minute`} accent="#5b8cff" testId="tile-epm" />
        )}
        <Tile label="Last 60 min" value={formatCompact(hour)} note={`${meter.slug} events`} accent="#2fd4a7" />
        <Tile label="Last 24 h" value={formatCompact(Number(totalDay.total))} note={`${groupDigits(totalDay.total)} events · ${totalDay.items.length} tenants`} accent="#a78bfa" testId="tile-day" />
        <OutcomeTiles o={outcomes} />
      </div>
      <Card
        title="Events per minute"
        subtitle={
          <>
            <code>{meter.slug}</code> ({meter.aggregation} of <code>{meter.eventType}</code>) per minute{byStatus.length ? ', by status class' : ''}, last 60 minutes
          </>
        }
        right={<LiveBadge updatedAt={live.updatedAt} now={now} />}
        testId="live-card"
      >
        <Chart data={chart} kind="stacked" colors={colors} height={280} testId="live-chart" range={live.data} />
      </Card>
      <div className="grid2">
        <Card title="Top tenants" subtitle={`${meter.slug}, last 24 hours`} testId="top-tenants">
          <RankList items={totalDay.items.slice(0, 10)} total={totalDay.total} range={tenants.data} href={(r) => `#/tenants/${encodeURIComponent(r.key)}`} testId="tenant-row" />
        </Card>
        <Card title="Top endpoints" subtitle={`by route template, last 24 hours`} testId="top-endpoints">
          {endpoints.error ? <ErrorBox error={endpoints.error} /> : !endpoints.data ? endpointDims.length ? <Loading /> : <p className="muted">This meter has no route dimension.</p> : <Endpoints result={endpoints.data} />}
        </Card>
      </div>
    </div>
  );
}

function Endpoints({ result }: { result: UsageResult }) {
  const { items, total } = rank(result.data, (r) => [r.groupBy.method, r.groupBy.route].filter((x) => x != null).join(' '));
  const head = headCount(items);
  return (
    <>
      <p className="pareto" data-testid="pareto">
        <strong>{head}</strong> of {items.length} endpoints ({formatPercent(items.length ? head / items.length : 0)}) serve <strong>80%</strong> of {groupDigits(total)} calls
      </p>
      <RankList items={items.slice(0, 12)} total={total} head={head} range={result} testId="endpoint-row" endpoint />
    </>
  );
}

function RankList({ items, total, href, head, testId, endpoint, range }: { items: Ranked[]; total: string; href?: (r: Ranked) => string; head?: number; testId: string; endpoint?: boolean; range: { from: string; to: string } }) {
  if (items.length === 0) return <p className="muted">Nothing in this range.</p>;
  const max = Number(items[0]!.value) || 1;
  return (
    <ol className="rank" data-from={range.from} data-to={range.to} data-total={total}>
      {items.map((r, i) => {
        const label = endpoint ? (
          <span className="endpoint">
            {r.row.groupBy.method ? <span className={`method m-${r.row.groupBy.method.toLowerCase()}`}>{r.row.groupBy.method}</span> : null}
            <span className="route">{r.row.groupBy.route ?? '(none)'}</span>
          </span>
        ) : (
          <span className="name">{r.key}</span>
        );
        return (
          <li key={r.key} className={head !== undefined && i < head ? 'head' : ''} data-testid={testId} data-key={r.key} data-value={r.value} data-share={r.share.toFixed(6)}>
            <div className="bar" style={{ width: `${(Number(r.value) / max) * 100}%` }} />
            {href ? <a href={href(r)}>{label}</a> : label}
            <span className="num">{groupDigits(r.value)}</span>
            <span className="share">{formatPercent(r.share)}</span>
            {endpoint ? <span className="cum muted" title="cumulative share">{formatPercent(r.cumulative)}</span> : null}
          </li>
        );
      })}
      <li className="total muted">
        <span className="name">total</span>
        <span className="num">{groupDigits(total)}</span>
      </li>
    </ol>
  );
}

function Tile({ label, value, note, accent, testId }: { label: string; value: string; note?: string; accent: string; testId?: string }) {
  return (
    <div className="tile" style={{ borderTopColor: accent }} data-testid={testId}>
      <span className="tile-label">{label}</span>
      <span className="tile-value">{value}</span>
      {note ? <span className="tile-note muted">{note}</span> : null}
    </div>
  );
}

interface OutcomeState {
  /** The key is bound to this tenant: no server-wide figures. */
  boundTo?: string;
  now?: IngestOutcomes;
  perSecond?: number;
  error?: Error;
}

/** Polls `/metrics` and derives the ingest rate from successive counter readings. */
function useOutcomes(): OutcomeState {
  const { api } = useSession();
  const readings = useRef<{ before?: { at: number; total: number }; last?: { at: number; total: number } }>({});
  // Server-wide figures (every tenant's ingest) are not for a key bound to one tenant.
  const m = useLoad(async (signal) => {
    const me = await api.whoami(signal);
    return me.tenant ? { boundTo: me.tenant } : parseIngestOutcomes(await api.metrics(signal));
  }, [api], LIVE_MS);
  if (m.data && 'boundTo' in m.data) return { boundTo: m.data.boundTo };
  if (!m.data) return m.error ? { error: m.error } : {};
  const total = m.data.accepted + m.data.duplicate + m.data.rejected;
  const at = m.updatedAt ?? 0;
  const r = readings.current;
  if (r.last?.at !== at) readings.current = { ...(r.last ? { before: r.last } : {}), last: { at, total } };
  const { before, last } = readings.current;
  let perSecond: number | undefined;
  if (before && last && last.at > before.at) perSecond = ((last.total - before.total) * 1000) / (last.at - before.at);
  return { now: m.data, ...(perSecond !== undefined ? { perSecond } : {}) };
}

function OutcomeTiles({ o }: { o: OutcomeState }) {
  if (o.error) return <div className="tile muted">/metrics unavailable: {o.error.message}</div>;
  if (o.boundTo !== undefined) return <div className="tile muted" data-testid="outcomes-hidden">Server-wide ingest figures are not shown to a key bound to tenant {o.boundTo}.</div>;
  const n = o.now;
  return (
    <div className="tile outcomes" style={{ borderTopColor: '#f7b955' }} data-testid="outcomes" data-accepted={n?.accepted} data-duplicate={n?.duplicate} data-rejected={n?.rejected}>
      <span className="tile-label">Ingested since server start{o.perSecond !== undefined ? ` · ${formatCompact(o.perSecond)}/s` : ''}</span>
      <div className="outcome-row">
        <span className="pill ok">
          <b>{n ? formatCompact(n.accepted) : '…'}</b> accepted
        </span>
        <span className="pill dup">
          <b>{n ? formatCompact(n.duplicate) : '…'}</b> duplicate
        </span>
        <span className="pill bad" title={n?.rejectedByCode.map(([c, v]) => `${c}: ${v}`).join('\n')}>
          <b>{n ? formatCompact(n.rejected) : '…'}</b> rejected
        </span>
      </div>
      {n && n.rejectedByCode.length ? <span className="tile-note muted">top rejection: {n.rejectedByCode[0]![0]}</span> : <span className="tile-note muted">from /metrics</span>}
    </div>
  );
}

function LiveBadge({ updatedAt, now }: { updatedAt: number | undefined; now: number }) {
  return (
    <span className="live" data-testid="live-badge">
      <span className="dot" /> live · updated {updatedAt ? formatAgo(now - updatedAt) : '…'}
    </span>
  );
}
