import { createContext, useContext, useEffect, useRef, useState } from 'react';
import { ApiError, type TallyApi } from './api.ts';

/** What the views share: the API client and a way to report a rejected key. */
export interface Session {
  api: TallyApi;
  onAuthError: (err: ApiError) => void;
}

export const SessionContext = createContext<Session | null>(null);

/** The signed-in session (views only render inside one). */
export function useSession(): Session {
  const s = useContext(SessionContext);
  if (!s) throw new Error('useSession outside a session');
  return s;
}

/** State of a loaded value: the last good data is kept while refreshing. */
export interface Loaded<T> {
  data: T | undefined;
  error: Error | undefined;
  loading: boolean;
  updatedAt: number | undefined;
}

/**
 * Loads `fn` whenever `deps` change, and again every `pollMs` when given. Stale answers are
 * aborted; a 401/403 is handed to the session so the key screen can say what is wrong.
 */
export function useLoad<T>(fn: (signal: AbortSignal) => Promise<T>, deps: readonly unknown[], pollMs?: number): Loaded<T> {
  const { onAuthError } = useSession();
  const [state, setState] = useState<Loaded<T>>({ data: undefined, error: undefined, loading: true, updatedAt: undefined });
  const fnRef = useRef(fn);
  fnRef.current = fn;
  useEffect(() => {
    let stopped = false;
    let ctrl = new AbortController();
    let timer: ReturnType<typeof setTimeout> | undefined;
    setState((s) => ({ ...s, data: undefined, error: undefined, loading: true }));
    const run = async () => {
      ctrl = new AbortController();
      try {
        const data = await fnRef.current(ctrl.signal);
        if (!stopped) setState({ data, error: undefined, loading: false, updatedAt: Date.now() });
      } catch (err) {
        if (stopped || (err as Error).name === 'AbortError') return;
        if (err instanceof ApiError && (err.status === 401 || err.status === 403)) onAuthError(err);
        setState((s) => ({ ...s, error: err as Error, loading: false }));
      }
      if (!stopped && pollMs) timer = setTimeout(() => void run(), pollMs);
    };
    void run();
    return () => {
      stopped = true;
      ctrl.abort();
      if (timer) clearTimeout(timer);
    };
  }, [...deps, pollMs]);
  return state;
}

/** The current hash route: path segments and query parameters. */
export function useHashRoute(): { path: string[]; params: URLSearchParams } {
  const read = () => {
    const h = window.location.hash.replace(/^#\/?/, '');
    const [p = '', q = ''] = h.split('?');
    return { path: p.split('/').filter(Boolean).map(decodeURIComponent), params: new URLSearchParams(q) };
  };
  const [route, setRoute] = useState(read);
  useEffect(() => {
    const on = () => setRoute(read());
    window.addEventListener('hashchange', on);
    return () => window.removeEventListener('hashchange', on);
  }, []);
  return route;
}

/** Re-renders every `ms` (for "updated 3 s ago"). */
export function useTick(ms: number): number {
  const [now, setNow] = useState(Date.now());
  useEffect(() => {
    const t = setInterval(() => setNow(Date.now()), ms);
    return () => clearInterval(t);
  }, [ms]);
  return now;
}
