/**
 * Realistic demo traffic: tenants with heavy-tailed sizes, Zipf-distributed endpoints with
 * route templates, 4xx/5xx responses, a few features used by a subset of users, LLM token
 * usage, several users per tenant. Seeded, so a run can be reproduced.
 */

import { tenantTrend, trendFactor, type TenantTrend } from './shape.ts';

/** A CloudEvent as the demo sends it. */
export interface DemoEvent {
  specversion: '1.0';
  id: string;
  source: string;
  type: string;
  subject: string;
  time: string;
  actor: string;
  data: Record<string, unknown>;
}

/** Demo shape. */
export interface DemoOptions {
  tenants: number;
  seed: number;
  /**
   * The end of the seeded history (the demo's start). When set, tenants follow their trends
   * (a few grow, one churns: demo/shape.ts); without it every tenant keeps its weight.
   */
  trendEndMs?: number;
}

const ROUTES: [method: string, route: string, errorRate: number][] = [
  ['GET', '/v1/users/:id', 0.01],
  ['GET', '/v1/projects', 0.005],
  ['POST', '/v1/events', 0.02],
  ['GET', '/v1/projects/:projectId/tasks', 0.01],
  ['PATCH', '/v1/tasks/:id', 0.03],
  ['GET', '/v1/search', 0.04],
  ['POST', '/v1/projects', 0.02],
  ['GET', '/v1/invoices/:id', 0.01],
  ['DELETE', '/v1/tasks/:id', 0.02],
  ['POST', '/v1/files', 0.06],
  ['GET', '/v1/files/:id/download', 0.02],
  ['POST', '/v1/webhooks', 0.05],
  ['GET', '/v1/reports/:reportId', 0.08],
  ['POST', '/v1/ai/summarize', 0.07],
  ['GET', '/v1/health', 0.0],
  ['PUT', '/v1/settings', 0.03],
  ['GET', '/v1/audit-log', 0.02],
  ['POST', '/v1/exports', 0.1],
];
const FEATURES = ['export_csv', 'ai_summary', 'sso_login', 'webhooks', 'dark_mode', 'bulk_edit'];
const MODELS = ['small-1', 'medium-2', 'large-3'];
const NAMES = ['acme', 'globex', 'initech', 'umbrella', 'hooli', 'stark', 'wayne', 'wonka', 'tyrell', 'cyberdyne', 'soylent', 'aperture', 'oscorp', 'vandelay', 'dunder', 'pied-piper', 'massive', 'gringotts', 'monarch', 'nakatomi'];

const HOUR_MS = 3_600_000;

/** mulberry32: a tiny seeded PRNG. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Cumulative weights (normalised to 1) for sampling index i with weight w[i]. */
export function cumulative(weights: number[]): number[] {
  const out: number[] = [];
  let acc = 0;
  for (const w of weights) out.push((acc += w));
  return out.map((v) => v / acc);
}

/** The index whose cumulative weight first reaches r ∈ [0, 1) (binary search). */
export function pick(cdf: number[], r: number): number {
  let lo = 0;
  let hi = cdf.length - 1;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (cdf[mid]! < r) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Generates demo events one at a time; call `next(timeMs)` for each event. */
export class DemoTraffic {
  private readonly rand: () => number;
  readonly tenants: { id: string; users: number; features: Set<string>; trend: TenantTrend }[];
  private readonly tenantCdf: number[];
  private readonly trendEndMs: number | undefined;
  /** The tenant distribution of the hour last asked for (trends change it hour by hour). */
  private trendCdf: { hour: number; cdf: number[] } | undefined;
  private readonly routeCdf: number[];
  private readonly run = Math.floor(Math.random() * 1e9).toString(36);
  private seq = 0;

  constructor(opts: DemoOptions) {
    this.rand = prng(opts.seed);
    this.tenants = Array.from({ length: opts.tenants }, (_, i) => {
      const name = NAMES[i % NAMES.length]! + (i >= NAMES.length ? `-${Math.floor(i / NAMES.length) + 1}` : '');
      const size = 1 / Math.pow(i + 1, 1.1);
      return { id: name, users: Math.max(2, Math.round(60 * size + this.rand() * 4)), features: new Set(FEATURES.filter(() => this.rand() < 0.5)), trend: tenantTrend(i) };
    });
    this.trendEndMs = opts.trendEndMs;
    this.tenantCdf = cumulative(this.tenants.map((_, i) => 1 / Math.pow(i + 1, 1.1)));
    this.routeCdf = cumulative(ROUTES.map((_, i) => 1 / Math.pow(i + 1, 1.2)));
  }

  /** The tenant distribution at `timeMs`: sizes times trends, recomputed once per hour. */
  private cdfAt(timeMs: number): number[] {
    const end = this.trendEndMs;
    if (end === undefined) return this.tenantCdf;
    const hour = Math.floor(timeMs / HOUR_MS);
    if (this.trendCdf?.hour !== hour) {
      const weights = this.tenants.map((t, i) => trendFactor(t.trend, hour * HOUR_MS, end) / Math.pow(i + 1, 1.1));
      this.trendCdf = { hour, cdf: cumulative(weights) };
    }
    return this.trendCdf.cdf;
  }

  /** One event at `timeMs`: mostly API requests, some feature usage and LLM completions. */
  next(timeMs: number): DemoEvent {
    const r = this.rand;
    const tenant = this.tenants[pick(this.cdfAt(timeMs), r())]!;
    const actor = `${tenant.id}-user-${Math.floor(Math.pow(r(), 2) * tenant.users)}`;
    const base = { specversion: '1.0' as const, id: `demo-${this.run}-${(this.seq++).toString(36)}`, source: 'tally-demo', subject: tenant.id, time: new Date(timeMs).toISOString(), actor };
    const kind = r();
    if (kind < 0.08 && tenant.features.size > 0) {
      const feats = [...tenant.features];
      return { ...base, type: 'feature.used', data: { feature: feats[Math.floor(r() * feats.length)]! } };
    }
    if (kind < 0.14) {
      const model = MODELS[pick(cumulative([6, 3, 1]), r())]!;
      return { ...base, type: 'llm.completion', data: { model, tokens: Math.round(200 + -Math.log(1 - r()) * 800), costUsd: '0.000' + Math.floor(r() * 900 + 100) } };
    }
    const [method, route, errorRate] = ROUTES[pick(this.routeCdf, r())]!;
    const x = r();
    const status = x < errorRate * 0.3 ? [500, 502, 503][Math.floor(r() * 3)]! : x < errorRate ? [400, 401, 403, 404, 409, 429][Math.floor(r() * 6)]! : method === 'POST' ? 201 : 200;
    const durationMs = Math.round(Math.exp(3 + r() * 1.5 + (route.includes('ai') || route.includes('export') ? 2 : 0)) * 10) / 10;
    return { ...base, type: 'api.request', data: { method, route, status, statusClass: `${Math.floor(status / 100)}xx`, durationMs, responseBytes: Math.round(200 + r() * 20_000) } };
  }
}
