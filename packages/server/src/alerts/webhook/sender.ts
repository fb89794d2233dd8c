/** What one HTTP attempt gave. */
export interface SendResult {
  status: number | null;
  ok: boolean;
  latencyMs: number;
  error: string | null;
}

/** Sends one webhook: any 2xx is delivered; anything else (or no answer in time) is a failure to retry. */
export async function postWebhook(url: string, headers: Record<string, string>, body: string, timeoutMs: number): Promise<SendResult> {
  const started = performance.now();
  try {
    const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', 'user-agent': 'Tally-Webhooks/1', ...headers }, body, signal: AbortSignal.timeout(timeoutMs), redirect: 'manual' });
    // The body is read (and bounded by the timeout) so the connection is released.
    const text = await res.text().catch(() => '');
    const latencyMs = Math.round(performance.now() - started);
    const ok = res.status >= 200 && res.status < 300;
    return { status: res.status, ok, latencyMs, error: ok ? null : `HTTP ${res.status}${text ? `: ${text.slice(0, 200)}` : ''}` };
  } catch (err) {
    const e = err as Error & { cause?: { code?: string; message?: string } };
    return { status: null, ok: false, latencyMs: Math.round(performance.now() - started), error: e.name === 'TimeoutError' ? `no answer within ${timeoutMs} ms` : (e.cause?.code ?? e.cause?.message ?? e.message) };
  }
}
