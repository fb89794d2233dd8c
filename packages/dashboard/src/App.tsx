import { useCallback, useMemo, useState } from 'react';
import { TallyApi, type ApiError, type Meter } from './api.ts';
import { KeyScreen, Logo, type KeyProblem } from './components/KeyScreen.tsx';
import { ErrorBox, Loading } from './components/States.tsx';
import { SessionContext, useHashRoute, useLoad, useSession, type Session } from './hooks.ts';
import { Billing } from './views/Billing.tsx';
import { Events } from './views/Events.tsx';
import { Explorer } from './views/Explorer.tsx';
import { Health } from './views/Health.tsx';
import { Overview } from './views/Overview.tsx';
import { TenantView } from './views/Tenant.tsx';

const KEY_STORAGE = 'tally.dashboard.key';

function readKey(): string | null {
  try {
    return localStorage.getItem(KEY_STORAGE);
  } catch {
    return null;
  }
}

/** The app: the key screen until a key works, then the views. */
export function App() {
  const [key, setKey] = useState<string | null>(readKey);
  const [problem, setProblem] = useState<KeyProblem>({ kind: 'none' });
  const signOut = useCallback((why: KeyProblem = { kind: 'none' }) => {
    localStorage.removeItem(KEY_STORAGE);
    setProblem(why);
    setKey(null);
  }, []);
  const session = useMemo<Session | null>(
    () => (key ? { api: new TallyApi(key), onAuthError: (error: ApiError) => signOut({ kind: 'rejected', error }) } : null),
    [key, signOut],
  );
  if (!session) {
    return (
      <KeyScreen
        problem={problem}
        onKey={(k) => {
          localStorage.setItem(KEY_STORAGE, k);
          setProblem({ kind: 'none' });
          setKey(k);
        }}
      />
    );
  }
  return (
    <SessionContext.Provider value={session}>
      <Shell onSignOut={() => signOut()} />
    </SessionContext.Provider>
  );
}

const NAV = [
  { id: 'overview', label: 'Overview' },
  { id: 'explorer', label: 'Meter explorer' },
  { id: 'tenants', label: 'Tenants' },
  { id: 'billing', label: 'Billing' },
  { id: 'events', label: 'Events' },
  { id: 'health', label: 'Data health' },
] as const;

function Shell({ onSignOut }: { onSignOut: () => void }) {
  const { api } = useSession();
  const route = useHashRoute();
  const view = route.path[0] ?? 'overview';
  const meters = useLoad((signal) => api.meters(signal), [api]);
  return (
    <div className="shell">
      <header className="topbar">
        <a className="brand" href="#/overview">
          <Logo /> Tally
        </a>
        <nav>
          {NAV.map((n) => (
            <a key={n.id} href={`#/${n.id}`} className={view === n.id ? 'active' : ''} data-testid={`nav-${n.id}`}>
              {n.label}
            </a>
          ))}
        </nav>
        <div className="spacer" />
        <span className="muted small key-hint" title="the key is kept in this browser's localStorage">
          key …{api.key.slice(-4)}
        </span>
        <button className="ghost" onClick={onSignOut} data-testid="sign-out">
          Change key
        </button>
      </header>
      <main className="content">
        {meters.error ? <ErrorBox error={meters.error} /> : !meters.data ? <Loading height={300} label="Loading meters…" /> : <Routed view={view} path={route.path} params={route.params} meters={meters.data} />}
      </main>
    </div>
  );
}

function Routed({ view, path, params, meters }: { view: string; path: string[]; params: URLSearchParams; meters: Meter[] }) {
  if (meters.length === 0) {
    return (
      <div className="state empty" data-testid="empty">
        <strong>No meters yet</strong>
        <p>
          Meters say what to count. Declare them under <code>meters:</code> in <code>tally.config.yaml</code> and restart, or <code>POST /v1/meters</code>.
        </p>
      </div>
    );
  }
  if (view === 'explorer') return <Explorer meters={meters} params={params} />;
  if (view === 'tenants') return <TenantView meters={meters} tenant={path[1]} />;
  if (view === 'billing') return <Billing id={path[1]} />;
  if (view === 'events') return <Events meters={meters} />;
  if (view === 'health') return <Health />;
  return <Overview meters={meters} />;
}
