import type { ReactNode } from 'react';
import { ApiError } from '../api.ts';

/** A placeholder of the size of the content it stands for, while it loads. */
export function Loading({ height = 120, label = 'Loading…' }: { height?: number; label?: string }) {
  return (
    <div className="state loading" style={{ minHeight: height }} data-testid="loading" aria-busy="true">
      <span className="spinner" aria-hidden /> {label}
    </div>
  );
}

/** An error, said in words the reader can act on. */
export function ErrorBox({ error }: { error: Error }) {
  const api = error instanceof ApiError ? error : undefined;
  return (
    <div className="state error" role="alert" data-testid="error">
      <strong>{api?.status === 0 ? 'Cannot reach the Tally server' : 'The query failed'}</strong>
      <p>
        {api && api.status !== 0 ? <code>{api.code}</code> : null} {error.message}
      </p>
      {api?.requestId ? <p className="muted small">request id {api.requestId}</p> : null}
    </div>
  );
}

/** "Nothing here yet", with what to run to get something. */
export function Empty({ title = 'No usage yet', children }: { title?: string; children?: ReactNode }) {
  return (
    <div className="state empty" data-testid="empty">
      <strong>{title}</strong>
      {children ?? <DemoHint />}
    </div>
  );
}

/** How to get demo data into a running server. */
export function DemoHint() {
  // The CLI's default server is 127.0.0.1:8787; any other server is named so the command reaches it.
  const origin = window.location.origin;
  const url = origin === 'http://127.0.0.1:8787' ? '' : ` --url ${origin}`;
  return (
    <p data-testid="demo-hint">
      Send demo traffic to this server from another terminal: <code>npm run tally -- demo{url}</code> (24 h of realistic history), or live traffic with{' '}
      <code>npm run tally -- demo --rate 5{url}</code>. Starting the server with <code>npm start</code> seeds demo data by itself.
    </p>
  );
}

/** Card chrome shared by every panel. */
export function Card({ title, subtitle, right, children, className = '', testId }: { title: ReactNode; subtitle?: ReactNode; right?: ReactNode; children: ReactNode; className?: string; testId?: string }) {
  return (
    <section className={`card ${className}`} data-testid={testId}>
      <header className="card-head">
        <div>
          <h2>{title}</h2>
          {subtitle ? <p className="muted small">{subtitle}</p> : null}
        </div>
        {right ? <div className="card-right">{right}</div> : null}
      </header>
      {children}
    </section>
  );
}
