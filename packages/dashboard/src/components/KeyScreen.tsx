import { useState, type FormEvent, type ReactNode } from 'react';
import { ApiError, TallyApi } from '../api.ts';

/** Why the key screen is showing. */
export type KeyProblem = { kind: 'none' } | { kind: 'rejected'; error: ApiError } | { kind: 'network'; message: string };

/** What a rejected key means, in the reader's terms. */
export function explainKeyError(err: ApiError): { title: string; body: ReactNode } {
  const said = (
    <>
      The server says <code>{err.code}</code>: {err.message}.
    </>
  );
  if (err.status === 401) {
    return { title: 'That key was not accepted', body: <>{said} Check that you copied the whole key printed by <code>tally serve</code> (it starts with <code>tally_</code>).</> };
  }
  if (err.status === 403) {
    return { title: 'That key may not read usage', body: <>{said} The dashboard needs a key with the <code>read</code> or <code>admin</code> scope, e.g. the admin key.</> };
  }
  return { title: 'The server refused the key check', body: said };
}

/** The first screen without a (valid) key: where to find it, and a field to paste it into. */
export function KeyScreen({ problem, onKey }: { problem: KeyProblem; onKey: (key: string) => void }) {
  const [value, setValue] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<KeyProblem>(problem);
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    const key = value.trim();
    if (!key) return;
    setBusy(true);
    try {
      await new TallyApi(key).meters();
      onKey(key);
    } catch (err) {
      setError(err instanceof ApiError && err.status !== 0 ? { kind: 'rejected', error: err } : { kind: 'network', message: (err as Error).message });
    } finally {
      setBusy(false);
    }
  };
  const explained = error.kind === 'rejected' ? explainKeyError(error.error) : undefined;
  return (
    <div className="key-screen">
      <form className="key-card" onSubmit={(e) => void submit(e)}>
        <div className="brand big">
          <Logo /> Tally
        </div>
        <h1>Usage, exactly.</h1>
        <p className="muted">Paste an API key to see what is used, how much, and by whom. It is kept in this browser only.</p>
        {explained ? (
          <div className="state error" role="alert" data-testid="key-error">
            <strong>{explained.title}</strong>
            <p>{explained.body}</p>
          </div>
        ) : null}
        {error.kind === 'network' ? (
          <div className="state error" role="alert" data-testid="key-error">
            <strong>Cannot reach the Tally server</strong>
            <p>{error.message}</p>
          </div>
        ) : null}
        <label className="field">
          <span>API key</span>
          <input data-testid="key-input" type="password" autoFocus autoComplete="off" spellCheck={false} placeholder="tally_…" value={value} onChange={(e) => setValue(e.target.value)} />
        </label>
        <button className="primary" type="submit" disabled={busy || !value.trim()} data-testid="key-submit">
          {busy ? 'Checking…' : 'Open dashboard'}
        </button>
        <div className="hint">
          <strong>Where is my key?</strong>
          <p>
            <code>tally serve</code> (and <code>npm start</code>) prints it at start, on the line <code>Admin key  tally_…</code>. It is also kept in the
            data directory: <code>cat .tally/admin.key</code>. Other keys: <code>npm run tally -- keys create</code>.
          </p>
        </div>
      </form>
    </div>
  );
}

/** The Tally mark: three ascending bars. */
export function Logo() {
  return (
    <svg className="logo" width="22" height="22" viewBox="0 0 22 22" aria-hidden>
      <rect x="2" y="12" width="4" height="8" rx="1.5" fill="#5b8cff" />
      <rect x="9" y="7" width="4" height="13" rx="1.5" fill="#2fd4a7" />
      <rect x="16" y="2" width="4" height="18" rx="1.5" fill="#f7b955" />
    </svg>
  );
}
