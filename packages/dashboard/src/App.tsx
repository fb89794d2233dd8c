import { useCallback, useMemo, useState } from 'react';
import { TallyApi, type ApiError, type Meter } from './api.ts';
import { KeyScreen, Logo, type KeyProblem } from './components/KeyScreen.tsx';
import { ErrorBox, Loading } from './components/States.tsx';
import { SessionContext, useHashRoute, useLoad, useSession, type Session } from './hooks.ts';
import { Adoption } from './views/Adoption.tsx';
import { Alerts } from './views/Alerts.tsx';
import { Billing } from './views/Billing.tsx';
import { Capacity } from './views/Capacity.tsx';
import { Costs } from './views/Costs.tsx';
import { Events } from './views/Events.tsx';
import { Explorer } from './views/Explorer.tsx';
import { Funnels } from './views/Funnels.tsx';
import { NewMeter } from './views/NewMeter.tsx';
import { Health } from './views/Health.tsx';
import { Overview } from './views/Overview.tsx';
import { Retention } from './views/Retention.tsx';
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
  { id: 'adoption', label: 'Adoption' },
  { id: 'funnels', label: 'Funnels' },
  { id: 'retention', label: 'Retention' },
  { id: 'alerts', label: 'Alerts' },
  { id: 'capacity', label: 'Capacity' },
  { id: 'costs', label: 'Costs' },
  { id: 'health', label: 'Data health' },
] as const;

function Shell({ onSignOut }: { onSignOut: () => void }) {
  const { api } = useSession();
  const route = useHashRoute();
  const view = route.path[0] ?? 'overview';
  // Bumped when a meter is created here, so every view sees it without a page reload.
  const [metersVersion, setMetersVersion] = useState(0);
  const meters = useLoad((signal) => api.meters(signal), [api, metersVersion]);
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
        {meters.error ? <ErrorBox error={meters.error} /> : !meters.data ? <Loading height={300} label="Loading meters…" /> : view === 'meters' && route.path[1] === 'new' ? <NewMeter meters={meters.data} onCreated={() => setMetersVersion((v) => v + 1)} /> : <Routed view={view} path={route.path} params={route.params} meters={meters.data} />}
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
          Meters say what to count. Declare them under <code>meters:</code> in <code>tally.config.yaml</code> and restart, <a href="#/meters/new">create one here</a>, with <code>tally meters create</code>, or <code>POST /v1/meters</code>.
        </p>
      </div>
    );
  }
  if (view === 'explorer') return <Explorer meters={meters} params={params} />;
  if (view === 'tenants') return <TenantView meters={meters} tenant={path[1]} />;
  if (view === 'billing') return <Billing id={path[1]} />;
  if (view === 'events') return <Events meters={meters} />;
  if (view === 'adoption') return <Adoption meters={meters} />;
  if (view === 'funnels') return <Funnels />;
  if (view === 'retention') return <Retention />;
  if (view === 'alerts') return <Alerts />;
  if (view === 'capacity') return <Capacity meters={meters} />;
  if (view === 'costs') return <Costs />;
  if (view === 'health') return <Health />;
  return <Overview meters={meters} />;
}
