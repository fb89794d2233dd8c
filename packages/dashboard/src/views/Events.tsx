import { useState } from 'react';
import type { Meter, RawEvent } from '../api.ts';
import { Card, ErrorBox, Loading } from '../components/States.tsx';
import { useLoad, useSession } from '../hooks.ts';

const WINDOW_MS = 15 * 60_000;

/** Reads a `$.a.b` path of a meter out of an event's data (display only; ingest is the authority). */
function readPath(data: unknown, path: string): unknown {
  let v = data;
  for (const part of path.replace(/^\$\.?/, '').split('.').filter(Boolean)) v = v !== null && typeof v === 'object' ? (v as Record<string, unknown>)[part] : undefined;
  return v;
}

/**
 * The event debugger: the latest raw events as stored (the last 15 minutes, newest first),
 * filtered by tenant, type or id, and one event inspected with the meters it feeds.
 */
export function Events({ meters }: { meters: Meter[] }) {
  const { api } = useSession();
  const [filter, setFilter] = useState({ tenant: '', type: '', id: '' });
  const [picked, setPicked] = useState<RawEvent | null>(null);
  const list = useLoad(
    (signal) => api.events({ ...filter, ...(filter.id ? {} : { from: new Date(Date.now() - WINDOW_MS).toISOString() }), limit: 1000 }, signal),
    [api, filter.tenant, filter.type, filter.id],
    5_000,
  );
  const rows = [...(list.data?.data ?? [])].reverse().slice(0, 200);
  return (
    <div data-testid="events-view">
      <section className="controls card">
        {(['tenant', 'type', 'id'] as const).map((k) => (
          <label key={k} className="field">
            <span>{k}</span>
            <input data-testid={`events-${k}`} value={filter[k]} placeholder={k === 'type' ? 'api.request' : k === 'id' ? 'exact event id' : 'all tenants'} onChange={(e) => setFilter({ ...filter, [k]: e.target.value.trim() })} />
          </label>
        ))}
        <div className="field grow">
          <span>&nbsp;</span>
          <p className="muted small">Raw events as stored, newest first ({filter.id ? 'any time' : 'last 15 minutes'}, at most 200 shown). The API: <code>GET /v1/events</code> (JSON pages, NDJSON or CSV).</p>
        </div>
      </section>
      {list.error ? <ErrorBox error={list.error} /> : !list.data ? <Loading height={200} label="Loading events…" /> : null}
      {picked ? <Inspect event={picked} meters={meters} onClose={() => setPicked(null)} /> : null}
      {list.data ? (
        <Card title="Latest events" subtitle={`${rows.length} shown`} testId="events-list">
          {rows.length === 0 ? (
            <p className="muted" data-testid="events-empty">
              No events match in this window.
            </p>
          ) : (
            <table className="data">
              <thead>
                <tr>
                  <th>Time</th>
                  <th>Tenant</th>
                  <th>Type</th>
                  <th>Id</th>
                  <th>Source</th>
                </tr>
              </thead>
              <tbody>
                {rows.map((e) => (
                  <tr key={`${e.tenant}|${e.id}`} data-testid="event-row" onClick={() => setPicked(e)} style={{ cursor: 'pointer' }}>
                    <td>{e.time.replace('T', ' ').replace('Z', '')}</td>
                    <td>{e.tenant}</td>
                    <td>{e.type}</td>
                    <td>{e.id}</td>
                    <td className="muted">{e.source}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
        </Card>
      ) : null}
    </div>
  );
}

function Inspect({ event: e, meters, onClose }: { event: RawEvent; meters: Meter[]; onClose: () => void }) {
  const fed = meters.filter((m) => m.eventType === e.type);
  return (
    <Card title={`Event ${e.id}`} subtitle={`${e.tenant} · ${e.type} · time ${e.time} · ingested ${e.ingestedAt}`} right={<button className="ghost" onClick={onClose}>Close</button>} testId="event-inspect">
      <pre className="json">{JSON.stringify({ source: e.source, actor: e.actor, data: e.data, contentHash: e.contentHash }, null, 2)}</pre>
      <h3 className="small">Meters it feeds ({fed.length})</h3>
      {fed.length === 0 ? (
        <p className="muted small">No meter reads events of type {e.type}.</p>
      ) : (
        <table className="data" data-testid="event-meters">
          <tbody>
            {fed.map((m) => (
              <tr key={m.slug}>
                <td>
                  <code>{m.slug}</code>
                </td>
                <td className="muted">{m.aggregation}{m.valueProperty ? ` of ${m.valueProperty}` : ''}</td>
                <td>{m.valueProperty && m.valueProperty !== '$actor' ? String(readPath(e.data, m.valueProperty) ?? '—') : ''}</td>
                <td className="muted">{Object.entries(m.groupBy).map(([d, p]) => `${d}=${String(readPath(e.data, p) ?? '∅')}`).join(', ')}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </Card>
  );
}
