import { useState } from 'react';
import type { Meter } from '../api.ts';
import { Card } from '../components/States.tsx';
import { useSession } from '../hooks.ts';

const AGGREGATIONS: Meter['aggregation'][] = ['COUNT', 'SUM', 'UNIQUE_COUNT', 'MIN', 'MAX', 'AVG', 'LATEST', 'TIME_WEIGHTED_SUM'];

/** `name=$.path` lines → groupBy. */
function parseGroupBy(text: string): Record<string, string> | string {
  const out: Record<string, string> = {};
  for (const line of text.split('\n').map((l) => l.trim()).filter(Boolean)) {
    const i = line.indexOf('=');
    if (i <= 0) return `group by: "${line}" is not name=$.path`;
    out[line.slice(0, i).trim()] = line.slice(i + 1).trim();
  }
  return out;
}

/** The meter definition the form describes, or what is wrong with it. */
export function meterFromForm(f: { slug: string; description: string; eventType: string; aggregation: string; valueProperty: string; groupBy: string; filter: string; unit: string; precision: string }): Partial<Meter> & { slug: string } | string {
  const groupBy = parseGroupBy(f.groupBy);
  if (typeof groupBy === 'string') return groupBy;
  let filter: Record<string, unknown> | undefined;
  if (f.filter.trim()) {
    try {
      filter = JSON.parse(f.filter) as Record<string, unknown>;
    } catch {
      return 'filter: not JSON — e.g. {"$.statusClass": "5xx"} or {"$.status": {"gte": 500}}';
    }
  }
  return {
    slug: f.slug.trim(),
    eventType: f.eventType.trim(),
    aggregation: f.aggregation as Meter['aggregation'],
    groupBy,
    ...(f.description.trim() ? { description: f.description.trim() } : {}),
    ...(f.aggregation !== 'COUNT' && f.valueProperty.trim() ? { valueProperty: f.valueProperty.trim() } : {}),
    ...(filter ? { filter } : {}),
    ...(f.unit.trim() ? { unit: f.unit.trim() } : {}),
    ...(f.precision.trim() ? { precision: Number(f.precision) } : {}),
  };
}

/**
 * Creates a meter through `POST /v1/meters` (an admin key): the server backfills it from the
 * raw events already stored. Meters are immutable, so the form says so before it is sent.
 */
export function NewMeter({ meters, onCreated }: { meters: Meter[]; onCreated: () => void }) {
  const { api } = useSession();
  const [f, setF] = useState({ slug: '', description: '', eventType: meters[0]?.eventType ?? '', aggregation: 'COUNT', valueProperty: '', groupBy: '', filter: '', unit: '', precision: '' });
  const [state, setState] = useState<{ kind: 'idle' } | { kind: 'sending' } | { kind: 'error'; message: string } | { kind: 'done'; slug: string; backfilled: number; created: boolean }>({ kind: 'idle' });
  const field = (k: keyof typeof f) => ({ value: f[k], onChange: (e: { target: { value: string } }) => setF({ ...f, [k]: e.target.value }), 'data-testid': `meter-${k}` });
  const types = [...new Set(meters.map((m) => m.eventType))].sort();
  const submit = async () => {
    const def = meterFromForm(f);
    if (typeof def === 'string') return setState({ kind: 'error', message: def });
    setState({ kind: 'sending' });
    try {
      const r = await api.createMeter(def);
      setState({ kind: 'done', slug: def.slug, backfilled: r.backfilled, created: r.created });
    } catch (err) {
      setState({ kind: 'error', message: `${(err as { code?: string }).code ?? 'ERROR'}: ${(err as Error).message}` });
    }
  };
  return (
    <div className="stack" data-testid="new-meter">
      <Card title="New meter" subtitle="Counted from the events already stored (backfilled) and from every new one. A meter cannot be changed once created: to count differently, create another slug.">
        <div className="form-grid">
          <label className="field"><span>Slug</span><input placeholder="errors_5xx" {...field('slug')} /></label>
          <label className="field"><span>Event type</span><input list="event-types" placeholder="api.request" {...field('eventType')} /></label>
          <datalist id="event-types">{types.map((t) => <option key={t} value={t} />)}</datalist>
          <label className="field"><span>Aggregation</span>
            <select {...field('aggregation')}>{AGGREGATIONS.map((a) => <option key={a} value={a}>{a}</option>)}</select>
          </label>
          <label className="field"><span>Value (JSONPath)</span><input placeholder={f.aggregation === 'COUNT' ? 'none for COUNT' : '$.tokens, or $actor for UNIQUE_COUNT'} disabled={f.aggregation === 'COUNT'} {...field('valueProperty')} /></label>
          <label className="field"><span>Unit</span><input placeholder="requests, ms, tokens, USD" {...field('unit')} /></label>
          <label className="field"><span>Precision</span><input type="number" min={0} max={12} placeholder="digits shown" {...field('precision')} /></label>
          <label className="field grow"><span>Description</span><input placeholder="what it measures" {...field('description')} /></label>
          <label className="field grow"><span>Group by (one name=$.path per line)</span><textarea rows={3} placeholder={'route=$.route\nstatus_class=$.statusClass'} {...field('groupBy')} /></label>
          <label className="field grow"><span>Filter (JSON: only matching events count)</span><textarea rows={3} placeholder={'{"$.statusClass": "5xx"}'} {...field('filter')} /></label>
        </div>
        <div className="form-actions">
          <button className="primary" disabled={state.kind === 'sending' || !f.slug.trim() || !f.eventType.trim()} onClick={() => void submit()} data-testid="meter-create">
            {state.kind === 'sending' ? 'Creating and backfilling…' : 'Create meter'}
          </button>
          {state.kind === 'error' ? <span className="bad-text" data-testid="meter-error">{state.message}</span> : null}
          {state.kind === 'done' ? (
            <span data-testid="meter-created">
              {state.created ? `Created ${state.slug}: backfilled ${state.backfilled.toLocaleString('en-US')} stored events. ` : `${state.slug} already exists with this definition. `}
              {/* The meter list reloads as the explorer opens (reloading here would reset this form). */}
              <a href={`#/explorer?meter=${encodeURIComponent(state.slug)}`} onClick={onCreated}>
                Open it in the explorer →
              </a>
            </span>
          ) : null}
        </div>
      </Card>
    </div>
  );
}
