import { ApiError, type TallyApi } from '../api.ts';

/** Calls `/v1/analytics/*` with the session's key (GET, or POST with a JSON body). */
export async function analytics<T>(api: TallyApi, path: string, body?: unknown, signal?: AbortSignal): Promise<T> {
  return (await call(api, path, body, 'application/json', signal)).json() as Promise<T>;
}

/** Saves an analytics answer as CSV (the API's own CSV, with the `approximate` column). */
export async function downloadCsv(api: TallyApi, path: string, body: unknown, file: string): Promise<void> {
  const url = URL.createObjectURL(await (await call(api, `${path}${path.includes('?') ? '&' : '?'}format=csv`, body, 'text/csv')).blob());
  const a = document.createElement('a');
  a.href = url;
  a.download = file;
  a.click();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

async function call(api: TallyApi, path: string, body: unknown, accept: string, signal?: AbortSignal): Promise<Response> {
  let res: Response;
  try {
    res = await fetch(path, { method: body === undefined ? 'GET' : 'POST', headers: { authorization: `Bearer ${api.key}`, accept, ...(body === undefined ? {} : { 'content-type': 'application/json' }) }, body: body === undefined ? null : JSON.stringify(body), signal: signal ?? null });
  } catch (err) {
    if ((err as Error).name === 'AbortError') throw err;
    throw new ApiError(0, 'NETWORK', 'the Tally server does not answer — is `tally serve` running?');
  }
  if (!res.ok) {
    const e = ((await res.json().catch(() => ({}))) as { error?: { code: string; message: string; requestId?: string } }).error;
    throw new ApiError(res.status, e?.code ?? `HTTP_${res.status}`, e?.message ?? res.statusText, e?.requestId);
  }
  return res;
}

/** ISO time `days` before now, to the minute. */
export function daysAgo(days: number): string {
  return new Date(Math.floor((Date.now() - days * 86_400_000) / 60_000) * 60_000).toISOString();
}

/** The exact/approximate label every analytics card shows. */
export function exactness(a: { approximate: boolean; errorBound?: unknown }): string {
  return a.approximate ? `approximate · ${JSON.stringify(a.errorBound)}` : 'exact';
}
