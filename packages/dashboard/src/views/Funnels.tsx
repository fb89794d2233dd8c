import { useState } from 'react';
import { analytics, daysAgo, downloadCsv, exactness } from '../analytics/client.ts';
import { Card, ErrorBox, Loading } from '../components/States.tsx';
import { formatPercent } from '../format.ts';
import { useLoad, useSession } from '../hooks.ts';

interface Step {
  eventType: string;
  count: number;
  conversion: number;
  conversionFromPrevious: number;
  medianSecondsFromPrevious: number | null;
}
interface FunnelAnswer {
  steps: Step[];
  approximate: boolean;
}

const DEFAULT_STEPS = 'signup, project.created, member.invited, plan.upgraded';

function duration(s: number | null): string {
  if (s === null) return '';
  if (s < 120) return `${s.toFixed(0)} s`;
  if (s < 7200) return `${(s / 60).toFixed(0)} min`;
  if (s < 172_800) return `${(s / 3600).toFixed(1)} h`;
  return `${(s / 86_400).toFixed(1)} d`;
}

/** Funnels: subjects reaching each step in order within the window of their first step 1 (exact), with CSV export. */
export function Funnels() {
  const { api } = useSession();
  const [form, setForm] = useState({ steps: DEFAULT_STEPS, windowDays: '7', days: '84', by: 'actor' });
  const [asked, setAsked] = useState(form);
  const body = { steps: asked.steps.split(',').map((s) => ({ eventType: s.trim() })).filter((s) => s.eventType), windowSeconds: Math.round(Number(asked.windowDays) * 86_400), from: daysAgo(Number(asked.days)), to: daysAgo(0), by: asked.by };
  const answer = useLoad((signal) => analytics<FunnelAnswer>(api, '/v1/analytics/funnel', body, signal), [api, asked]);
  const top = answer.data?.steps[0]?.count ?? 0;
  return (
    <div className="stack" data-testid="funnels-view">
      <section className="controls card">
        <label className="field grow">
          <span>steps (event types, in order)</span>
          <input data-testid="funnel-steps" value={form.steps} onChange={(e) => setForm({ ...form, steps: e.target.value })} />
        </label>
        <label className="field">
          <span>window (days from step 1)</span>
          <input value={form.windowDays} size={5} onChange={(e) => setForm({ ...form, windowDays: e.target.value })} />
        </label>
        <label className="field">
          <span>range (days)</span>
          <input value={form.days} size={5} onChange={(e) => setForm({ ...form, days: e.target.value })} />
        </label>
        <label className="field">
          <span>count</span>
          <select value={form.by} onChange={(e) => setForm({ ...form, by: e.target.value })}>
            <option value="actor">end users</option>
            <option value="tenant">tenants</option>
          </select>
        </label>
        <div className="field">
          <span>&nbsp;</span>
          <button className="primary" data-testid="funnel-run" onClick={() => setAsked(form)}>
            Run
          </button>
        </div>
      </section>
      {answer.error ? <ErrorBox error={answer.error} /> : !answer.data ? <Loading height={240} label="Computing the funnel…" /> : null}
      {answer.data ? (
        <Card
          title="Funnel"
          subtitle={`${asked.by === 'actor' ? 'end users' : 'tenants'} reaching each step in order within ${asked.windowDays} d of their first step 1 · last ${asked.days} days`}
          right={
            <>
              <span className="badge" data-testid="funnel-exactness">{exactness(answer.data)}</span>
              <button className="ghost" data-testid="funnel-csv" onClick={() => void downloadCsv(api, '/v1/analytics/funnel', body, 'funnel.csv')}>
                CSV
              </button>
            </>
          }
          testId="funnel"
        >
          <div className="funnel">
            {answer.data.steps.map((s, i) => (
              <div key={i} className="funnel-step" data-testid="funnel-step" data-count={s.count}>
                <div className="funnel-label">
                  <b>{i + 1}.</b> <code>{s.eventType}</code>
                </div>
                <div className="funnel-bar">
                  <div className="fill" style={{ width: `${top ? (100 * s.count) / top : 0}%` }} />
                  <span>
                    {s.count.toLocaleString('en')} · {formatPercent(s.conversion)}
                  </span>
                </div>
                <div className="funnel-meta muted small">{i === 0 ? 'started' : `${formatPercent(s.conversionFromPrevious)} of step ${i} · median ${duration(s.medianSecondsFromPrevious)} after it`}</div>
              </div>
            ))}
          </div>
        </Card>
      ) : null}
    </div>
  );
}
