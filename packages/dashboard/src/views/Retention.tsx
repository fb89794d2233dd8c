import { useState } from 'react';
import { analytics, daysAgo, downloadCsv, exactness } from '../analytics/client.ts';
import { Card, ErrorBox, Loading } from '../components/States.tsx';
import { browserTimeZone, formatPercent } from '../format.ts';
import { useLoad, useSession } from '../hooks.ts';

interface Cohort {
  cohort: string;
  size: number;
  returning: number[];
  observed: number;
}
interface RetentionAnswer {
  period: string;
  timeZone: string;
  periods: number;
  cohorts: Cohort[];
  approximate: boolean;
}

/** Retention cohorts as a heatmap: who comes back in each period after their first start event (exact), with CSV export. */
export function Retention() {
  const { api } = useSession();
  const [form, setForm] = useState({ startEvent: 'signup', returnEvent: 'session.started', period: 'WEEK', periods: '12', timeZone: browserTimeZone() });
  const [asked, setAsked] = useState(form);
  const span = { DAY: 1, WEEK: 7, MONTH: 31 }[asked.period as 'DAY' | 'WEEK' | 'MONTH'] * (Number(asked.periods) + 1);
  const body = { startEvent: asked.startEvent, returnEvent: asked.returnEvent, period: asked.period, periods: Number(asked.periods), timeZone: asked.timeZone, from: daysAgo(span), to: daysAgo(0) };
  const answer = useLoad((signal) => analytics<RetentionAnswer>(api, '/v1/analytics/retention', body, signal), [api, asked]);
  const unit = asked.period.toLowerCase();
  return (
    <div className="stack" data-testid="retention-view">
      <section className="controls card">
        {(['startEvent', 'returnEvent'] as const).map((k) => (
          <label key={k} className="field">
            <span>{k === 'startEvent' ? 'start event' : 'return event'}</span>
            <input value={form[k]} onChange={(e) => setForm({ ...form, [k]: e.target.value.trim() })} />
          </label>
        ))}
        <label className="field">
          <span>period</span>
          <select value={form.period} onChange={(e) => setForm({ ...form, period: e.target.value })}>
            {['DAY', 'WEEK', 'MONTH'].map((p) => (
              <option key={p}>{p}</option>
            ))}
          </select>
        </label>
        <label className="field">
          <span>periods</span>
          <input value={form.periods} size={4} onChange={(e) => setForm({ ...form, periods: e.target.value })} />
        </label>
        <label className="field">
          <span>time zone</span>
          <input value={form.timeZone} onChange={(e) => setForm({ ...form, timeZone: e.target.value.trim() })} />
        </label>
        <div className="field">
          <span>&nbsp;</span>
          <button className="primary" onClick={() => setAsked(form)}>
            Run
          </button>
        </div>
      </section>
      {answer.error ? <ErrorBox error={answer.error} /> : !answer.data ? <Loading height={300} label="Computing cohorts…" /> : null}
      {answer.data ? (
        <Card
          title="Retention cohorts"
          subtitle={`end users by the ${unit} of their first ${asked.startEvent} (${answer.data.timeZone}), returning with ${asked.returnEvent} in each following ${unit}`}
          right={
            <>
              <span className="badge" data-testid="retention-exactness">{exactness(answer.data)}</span>
              <button className="ghost" data-testid="retention-csv" onClick={() => void downloadCsv(api, '/v1/analytics/retention', body, 'retention.csv')}>
                CSV
              </button>
            </>
          }
          testId="retention"
        >
          <div className="table-wrap">
            <table className="data heatmap" data-testid="retention-table">
              <thead>
                <tr>
                  <th>cohort</th>
                  <th className="num">users</th>
                  {Array.from({ length: answer.data.periods + 1 }, (_, i) => (
                    <th key={i} className="num">
                      {unit} {i}
                    </th>
                  ))}
                </tr>
              </thead>
              <tbody>
                {answer.data.cohorts.map((c) => (
                  <tr key={c.cohort} data-testid="cohort-row">
                    <td>{c.cohort}</td>
                    <td className="num">{c.size}</td>
                    {c.returning.map((n, i) => {
                      const share = c.size ? n / c.size : 0;
                      return i < c.observed ? (
                        <td key={i} className="num cell" title={`${n} of ${c.size}`} style={{ background: `rgba(91, 140, 255, ${(0.08 + share * 0.85).toFixed(2)})` }}>
                          {formatPercent(share)}
                        </td>
                      ) : (
                        <td key={i} className="num muted">
                          ·
                        </td>
                      );
                    })}
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        </Card>
      ) : null}
    </div>
  );
}
