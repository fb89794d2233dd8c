/** The public HTTP API as the dashboard uses it: same origin, `Authorization: Bearer <key>`. */

/** A meter as `GET /v1/meters` lists it. */
export interface Meter {
  slug: string;
  description?: string;
  eventType: string;
  aggregation: 'COUNT' | 'SUM' | 'UNIQUE_COUNT' | 'MIN' | 'MAX' | 'AVG' | 'LATEST' | 'TIME_WEIGHTED_SUM';
  valueProperty?: string;
  groupBy: Record<string, string>;
  /** Which events of the type count (JSONPath → condition). */
  filter?: Record<string, unknown>;
  /** What one unit is (ms, bytes, tokens; an ISO 4217 code for money). */
  unit?: string;
  /** Fractional digits to display. */
  precision?: number;
}

/** One checked item of a reconciliation rule with its exact values (see docs/audit.md). */
export interface RuleResult {
  rule: string;
  scope: Record<string, string>;
  status: 'ok' | 'discrepancy';
  expected: string;
  actual: string;
  difference: string;
  unit: string;
}

/** A rule's latest result, as `GET /v1/reconciliation` answers. */
export interface RuleLatest {
  rule: string;
  description: string;
  status: 'ok' | 'discrepancy' | 'error';
  checked: number;
  discrepancies: number;
  results: RuleResult[];
  error?: string;
  day: string;
  ranAt: string;
  run: string;
}

/** A raw event as `GET /v1/events` lists it. */
export interface RawEvent {
  tenant: string;
  id: string;
  type: string;
  source: string;
  time: string;
  ingestedAt: string;
  actor: string | null;
  data: Record<string, unknown>;
  contentHash: string;
}

/** One row of a usage answer; `value` is an exact decimal string. */
export interface UsageRow {
  value: string | null;
  windowStart: string;
  windowEnd: string;
  tenant: string | null;
  groupBy: Record<string, string | null>;
}

/** A usage answer of `/v1/meters/{slug}/query`. */
export interface UsageResult {
  meter: string;
  aggregation: string;
  from: string;
  to: string;
  windowSize: WindowSize | null;
  windowTimeZone: string;
  resolution: string;
  data: UsageRow[];
  /** Paging (the API answers at most `limit` rows at a time). */
  truncated?: boolean;
  nextOffset?: number | null;
}

/** Rows per page the dashboard asks for (the API's maximum). */
const PAGE_ROWS = 100_000;

export const WINDOW_SIZES = ['MINUTE', 'HOUR', 'DAY', 'MONTH'] as const;
export type WindowSize = (typeof WINDOW_SIZES)[number];

/** Parameters of a usage query (the GET form of the API). */
export interface UsageQuery {
  meter: string;
  from?: string;
  to?: string;
  windowSize?: WindowSize;
  windowTimeZone?: string;
  tenants?: string[];
  groupBy?: string[];
  filterGroupBy?: Record<string, string[]>;
}

/** A tenant's live standing on one plan entitlement (`GET /v1/tenants/{tenant}/entitlements`). */
export interface Entitlement {
  tenant: string;
  /** The entitlement's id in its plan (default: its meter). */
  id: string;
  meter: string;
  plan: string;
  enforcement: 'hard' | 'soft';
  period: 'hour' | 'day' | 'month';
  timeZone: string;
  periodStart: string;
  resetAt: string;
  hasAccess: boolean;
  usage: string;
  limit: string;
  remaining: string;
  overage: string;
  projected: string;
  overageProjected: boolean;
  /** forecast: usage + the meter's forecast for the rest of the period; linear: the fallback. */
  projectionMethod?: 'forecast' | 'linear';
  projectionBasis?: string;
  /** The plan's limit (or its override) without grants; `limit` adds `grantAllowance`. */
  included?: string;
  grantAllowance?: string;
  grantBalance?: string;
  grants?: Grant[];
}

/** A grant on one of a tenant's entitlements (`GET /v1/tenants/{tenant}/grants`). */
export interface Grant {
  id: string;
  entitlement: string;
  amount: string;
  effectiveAt: string;
  expiresAt: string | null;
  priority: number;
  recurrence: string | null;
  status: 'scheduled' | 'active' | 'expired' | 'voided' | 'dormant';
  remaining: string;
  drawn: string;
  voided: { at: string; by: string; reason: string | null } | null;
}

/** An answer the API refused, carrying its error envelope. */
/** One line of an invoice (amounts are exact decimal strings). */
export interface InvoiceLine {
  id: string;
  kind: 'flat' | 'usage' | 'minimum' | 'adjustment';
  name: string;
  meter: string | null;
  quantity: string;
  amount: string;
  amountExact: string;
  tiers: { from: string; to: string | null; quantity: string; unitPrice: string; flatAmount: string | null; amount: string }[];
  periodStart?: string;
  periodEnd?: string;
}

/** An invoice, a credit note, or (status `upcoming`) the live draft of the open period. */
export interface Invoice {
  id: string;
  number: string | null;
  tenant: string;
  plan: string;
  currency: string;
  periodStart: string;
  periodEnd: string;
  status: 'draft' | 'finalized' | 'void' | 'upcoming';
  lines: InvoiceLine[];
  subtotal: string;
  total: string;
  reconciled?: boolean;
  discrepancies?: { meter: string; raw: string; rollups: string }[];
  creditNoteFor?: string | null;
  asOf?: string;
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly requestId?: string,
  ) {
    super(message);
  }
}

/** The query string of a usage query, exactly as the dashboard sends it (also used for CSV). */
export function queryString(q: UsageQuery): string {
  const p = new URLSearchParams();
  if (q.from) p.set('from', q.from);
  if (q.to) p.set('to', q.to);
  if (q.windowSize) p.set('windowSize', q.windowSize);
  if (q.windowTimeZone) p.set('windowTimeZone', q.windowTimeZone);
  for (const t of q.tenants ?? []) p.append('tenant', t);
  for (const g of q.groupBy ?? []) p.append('groupBy', g);
  for (const [dim, values] of Object.entries(q.filterGroupBy ?? {})) for (const v of values) p.append(`filterGroupBy[${dim}]`, v);
  return p.toString();
}

/** A thin client of the public API bound to one key. */
export class TallyApi {
  constructor(
    readonly key: string,
    private readonly base = '',
  ) {}

  private get(path: string, accept = 'application/json', signal?: AbortSignal): Promise<Response> {
    return this.send('GET', path, undefined, accept, signal);
  }

  /** Any JSON call of the public API (admin views: PUT /v1/tenants/{t}, grants); refusals throw {@link ApiError}. */
  async call<T>(method: 'GET' | 'POST' | 'PUT', path: string, body?: unknown): Promise<T> {
    return (await (await this.send(method, path, body)).json()) as T;
  }

  private async send(method: 'GET' | 'POST' | 'PUT', path: string, body: unknown, accept = 'application/json', signal?: AbortSignal): Promise<Response> {
    let res: Response;
    try {
      const headers: Record<string, string> = { authorization: `Bearer ${this.key}`, accept, ...(body === undefined ? {} : { 'content-type': 'application/json' }) };
      res = await fetch(this.base + path, { method, headers, body: body === undefined ? null : JSON.stringify(body), signal: signal ?? null });
    } catch (err) {
      if ((err as Error).name === 'AbortError') throw err;
      throw new ApiError(0, 'NETWORK', 'the Tally server does not answer — is `tally serve` running?');
    }
    if (!res.ok) {
      let code = `HTTP_${res.status}`;
      let message = res.statusText;
      let requestId: string | undefined;
      try {
        const body = (await res.json()) as { error?: { code: string; message: string; requestId?: string } };
        if (body.error) ({ code, message, requestId } = body.error);
      } catch {
        // not an error envelope (e.g. a proxy's page): keep the status line
      }
      throw new ApiError(res.status, code, message, requestId);
    }
    return res;
  }

  /** `POST /v1/meters`: creates a meter (backfilled from stored events); `created` false when an identical one exists. */
  async createMeter(def: Partial<Meter> & { slug: string }): Promise<{ meter: Meter; backfilled: number; skipped: number; created: boolean }> {
    const res = await this.send('POST', '/v1/meters', def);
    return { ...((await res.json()) as { meter: Meter; backfilled: number; skipped: number }), created: res.status === 201 };
  }

  /** `GET /v1/meters`. */
  async meters(signal?: AbortSignal): Promise<Meter[]> {
    const body = (await (await this.get('/v1/meters', undefined, signal)).json()) as { data: Meter[] };
    return body.data;
  }

  /** `GET /v1/meters/{slug}/query` as JSON, every page of it. */
  async query(q: UsageQuery, signal?: AbortSignal): Promise<UsageResult> {
    const page = (offset: number) => `${this.queryPath(q)}${queryString(q) ? '&' : '?'}limit=${PAGE_ROWS}${offset ? `&offset=${offset}` : ''}`;
    const first = (await (await this.get(page(0), undefined, signal)).json()) as UsageResult;
    for (let r = first; r.truncated && r.nextOffset != null; ) {
      r = (await (await this.get(page(r.nextOffset), undefined, signal)).json()) as UsageResult;
      first.data.push(...r.data);
    }
    return first;
  }

  /** The same query as the API's CSV, byte for byte (up to 100,000 rows: the API's largest page). */
  async queryCsv(q: UsageQuery, signal?: AbortSignal): Promise<string> {
    return (await this.get(`${this.queryPath(q)}${queryString(q) ? '&' : '?'}limit=${PAGE_ROWS}`, 'text/csv', signal)).text();
  }

  /**
   * `GET /v1/tenants/{tenant}/entitlements`, or `undefined` when this server has no quota API
   * (its router answers NOT_FOUND for the route itself).
   */
  async entitlements(tenant: string, signal?: AbortSignal): Promise<{ plan: string | null; data: Entitlement[] } | undefined> {
    try {
      return (await (await this.get(`/v1/tenants/${encodeURIComponent(tenant)}/entitlements`, undefined, signal)).json()) as { plan: string | null; data: Entitlement[] };
    } catch (err) {
      if (err instanceof ApiError && err.status === 404 && /^no route /.test(err.message)) return undefined;
      throw err;
    }
  }

  /** `GET /v1/invoices` (a portal key sees its tenant's only); `undefined` on a server without billing. */
  async invoices(tenant?: string, signal?: AbortSignal): Promise<Invoice[] | undefined> {
    try {
      const qs = tenant ? `?tenant=${encodeURIComponent(tenant)}` : '';
      return ((await (await this.get(`/v1/invoices${qs}`, undefined, signal)).json()) as { data: Invoice[] }).data;
    } catch (err) {
      if (err instanceof ApiError && err.status === 404 && /^no route /.test(err.message)) return undefined;
      throw err;
    }
  }

  /** `GET /v1/invoices/{id}`. */
  async invoice(id: string, signal?: AbortSignal): Promise<Invoice> {
    return (await (await this.get(`/v1/invoices/${encodeURIComponent(id)}`, undefined, signal)).json()) as Invoice;
  }

  /** The upcoming invoice of a tenant, or `undefined` when its plan has no prices (404). */
  async upcoming(tenant: string, signal?: AbortSignal): Promise<Invoice | undefined> {
    try {
      return (await (await this.get(`/v1/tenants/${encodeURIComponent(tenant)}/invoices/upcoming`, undefined, signal)).json()) as Invoice;
    } catch (err) {
      if (err instanceof ApiError && err.status === 404) return undefined;
      throw err;
    }
  }

  /** Any authenticated GET answered with JSON (capacity and costs views). */
  async json<T>(path: string, signal?: AbortSignal): Promise<T> {
    return (await (await this.get(path, undefined, signal)).json()) as T;
  }

  /** Any authenticated GET as a Blob (PDF, CSV, NDJSON downloads need the key in a header). */
  async blob(path: string, accept: string): Promise<Blob> {
    return (await this.get(path, accept)).blob();
  }

  /** `GET /v1/events`: one page of raw events in time order. */
  async events(f: { tenant?: string; type?: string; id?: string; from?: string; limit?: number }, signal?: AbortSignal): Promise<{ data: RawEvent[]; nextCursor: string | null }> {
    const p = new URLSearchParams();
    for (const [k, v] of Object.entries(f)) if (v !== undefined && v !== '') p.set(k, String(v));
    return (await (await this.get(`/v1/events?${p}`, undefined, signal)).json()) as { data: RawEvent[]; nextCursor: string | null };
  }

  /** `GET /v1/reconciliation`: the latest result of every rule; `undefined` on a server without it. */
  async reconciliation(signal?: AbortSignal): Promise<RuleLatest[] | undefined> {
    try {
      return ((await (await this.get('/v1/reconciliation', undefined, signal)).json()) as { rules: RuleLatest[] }).rules;
    } catch (err) {
      if (err instanceof ApiError && err.status === 404 && /^no route /.test(err.message)) return undefined;
      throw err;
    }
  }

  /** `GET /v1/whoami`: the key's scopes and the tenant it is bound to. */
  async whoami(signal?: AbortSignal): Promise<{ keyId: string; scopes: string[]; tenant: string | null }> {
    return (await (await this.get('/v1/whoami', undefined, signal)).json()) as { keyId: string; scopes: string[]; tenant: string | null };
  }

  /** `GET /metrics` (Prometheus text; unauthenticated, the key is sent anyway). */
  async metrics(signal?: AbortSignal): Promise<string> {
    return (await this.get('/metrics', 'text/plain', signal)).text();
  }

  queryPath(q: UsageQuery): string {
    const qs = queryString(q);
    return `/v1/meters/${encodeURIComponent(q.meter)}/query${qs ? `?${qs}` : ''}`;
  }
}
