import { useMemo } from 'react';
import type { Entitlement, UsageResult, WindowSize } from '../api.ts';
import { Chart } from '../components/Chart.tsx';
import { Card, ErrorBox, Loading } from '../components/States.tsx';
import { groupDigits, sumDecimals } from '../decimal.ts';
import { formatPercent } from '../format.ts';
import { useLoad, useSession } from '../hooks.ts';
import type { ChartData } from '../series.ts';

/** A figure rounded to 2 decimals for reading (the exact one is in the tooltip and the data). */
function round2(v: string): string {
  return v.includes('.') ? Number(v).toFixed(2).replace(/\.?0+$/, '') : v;
}

/** Window size of the usage history drawn for a period. */
const HISTORY_WINDOW: Record<Entitlement['period'], WindowSize> = { hour: 'MINUTE', day: 'HOUR', month: 'DAY' };

/**
 * A tenant's quotas from the quota API: usage against the limit and the end-of-period projection,
 * drawn over the period's cumulative usage. Renders nothing on a server without the quota API.
 */
export function Quotas({ tenant }: { tenant: string }) {
  const { api } = useSession();
  const ents = useLoad((signal) => api.entitlements(tenant, signal), [api, tenant], 15_000);
  if (ents.error) return <ErrorBox error={ents.error} />;
  if (ents.loading && !ents.data) return <Loading height={120} label="Loading quotas…" />;
  if (!ents.data) return null;
  if (ents.data.data.length === 0) {
    return (
      <p className="muted small" data-testid="no-quotas">
        {ents.data.plan ? `Plan ${ents.data.plan} has no entitlements.` : `${tenant} has no plan, so no quotas apply (assign one under tenants: in tally.config.yaml).`}
      </p>
    );
  }
  return (
    <div className="quota-grid" data-testid="quotas">
      {ents.data.data.map((e) => (
        <Quota key={`${e.meter}|${e.period}`} e={e} />
      ))}
    </div>
  );
}

/** Cumulative usage over the period (from the query API), then the projection and the limit. */
function quotaChart(e: Entitlement, history: UsageResult, now: number): ChartData {
  const start = Date.parse(e.periodStart) / 1000;
  const end = Date.parse(e.resetAt) / 1000;
  const at = Math.min(now / 1000, end);
  const ends = history.data.map((r) => [Date.parse(r.windowEnd) / 1000, r.value ?? '0'] as const).sort((a, b) => a[0] - b[0]);
  const xs = [start, ...ends.map((x) => Math.min(x[0], at)), at, end].filter((x, i, all) => i === 0 || x > all[i - 1]!);
  // Running totals stay exact decimal strings (money meters); numbers are only for drawing.
  let acc = '0';
  const cum = new Map<number, string>([[start, '0']]);
  for (const [x, v] of ends) cum.set(Math.min(x, at), (acc = sumDecimals([acc, v])));
  let last = '0';
  const usageRaw = xs.map((x) => (x > at ? null : (last = cum.get(x) ?? last)));
  const usage = usageRaw.map((v) => (v === null ? null : Number(v)));
  const usageNow = Number(e.usage);
  const projection = xs.map((x) => (x < at ? null : x === at ? usageNow : Number(e.projected)));
  const limit = xs.map(() => Number(e.limit));
  return {
    x: xs,
    series: [
      { label: 'usage', values: usage, raw: usageRaw },
      { label: 'projected', values: projection, raw: projection.map((v, i) => (v === null ? null : xs[i] === at ? e.usage : e.projected)) },
      { label: 'limit', values: limit, raw: limit.map(() => e.limit) },
    ],
  };
}

/** How the projection was made, and how far to trust it this early in the period. */
export function projectionBasis(e: Pick<Entitlement, 'periodStart' | 'resetAt'> & Partial<Pick<Entitlement, 'projectionMethod' | 'projectionBasis'>>, now: number): string {
  // The server's words when it projected from the meter's forecast.
  if (e.projectionMethod === 'forecast' && e.projectionBasis) return e.projectionBasis;
  const start = Date.parse(e.periodStart);
  const span = Date.parse(e.resetAt) - start;
  const elapsed = Math.min(1, Math.max(0, (now - start) / span));
  const base = `Linear: the usage so far at the same pace for the rest of the period (${formatPercent(elapsed)} of it has passed).`;
  return elapsed < 0.1 ? `${base} Early in a period this is rough: a busy first hours or a quiet weekend moves it a lot.` : base;
}

function Quota({ e }: { e: Entitlement }) {
  const { api } = useSession();
  const history = useLoad(
    (signal) => api.query({ meter: e.meter, from: e.periodStart, to: new Date(Math.min(Date.now() + 60_000 - (Date.now() % 60_000), Date.parse(e.resetAt))).toISOString(), windowSize: HISTORY_WINDOW[e.period], windowTimeZone: e.timeZone, tenants: [e.tenant] }, signal),
    [api, e.meter, e.tenant, e.periodStart, e.usage],
  );
  const share = Number(e.usage) / Number(e.limit);
  const projectedShare = Number(e.projected) / Number(e.limit);
  const tone = share >= 1 ? 'bad' : e.overageProjected || share >= 0.8 ? 'warn' : 'ok';
  const chart = useMemo(() => (history.data ? quotaChart(e, history.data, Date.now()) : undefined), [e, history.data]);
  const style = useMemo(() => [{}, { dash: [6, 5], fill: undefined, width: 2 }, { dash: [2, 4], fill: undefined, width: 1.5, points: { show: false } }], []);
  return (
    <Card
      title={
        <>
          <code>{e.meter}</code> <span className={`badge ${e.enforcement}`}>{e.enforcement}</span>
        </>
      }
      subtitle={`${e.plan} plan · per ${e.period} (${e.timeZone}) · resets ${new Date(e.resetAt).toLocaleString('en-GB', { timeZone: e.timeZone, day: '2-digit', month: 'short', hour: '2-digit', minute: '2-digit' })}`}
      className={`quota ${tone}`}
      testId={`quota-${e.meter}`}
    >
      <div className="quota-nums" data-usage={e.usage} data-limit={e.limit} data-projected={e.projected}>
        <span className="big-num">{groupDigits(e.usage)}</span>
        <span className="muted"> / {groupDigits(e.limit)}</span>
        <span className={`pct ${tone}`}>{formatPercent(share)}</span>
      </div>
      <div className="meter-bar" title={`projected ${e.projected}`}>
        <div className="proj" style={{ width: `${Math.min(100, projectedShare * 100)}%` }} />
        <div className={`fill ${tone}`} style={{ width: `${Math.min(100, share * 100)}%` }} />
      </div>
      <p className="small muted quota-proj">
        Projected by period end:{' '}
        <b className={e.overageProjected ? 'bad-text' : ''} title={e.projected}>
          {groupDigits(round2(e.projected))}
        </b> ({formatPercent(projectedShare)} of the limit)
        {e.overageProjected ? ' — on track to exceed it' : ''}
        {!e.hasAccess ? ' — hard limit reached: calls are denied' : ''}
      </p>
      <p className="small muted" data-testid="projection-basis">{projectionBasis(e, Date.now())}</p>
      <p className="quota-key small muted">
        <i className="k usage" /> usage this period <i className="k proj" /> projection <i className="k limit" /> limit
      </p>
      {history.error ? <ErrorBox error={history.error} /> : !chart ? <Loading height={150} /> : <Chart data={chart} kind="line" colors={['#5b8cff', '#f7b955', '#ff6b8b']} height={150} timeZone={e.timeZone} seriesStyle={style} legend={false} testId={`quota-chart-${e.meter}`} range={{ from: history.data!.from, to: history.data!.to }} />}
    </Card>
  );
}
