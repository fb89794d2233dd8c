/**
 * Product journeys for the demo (analytics has something to find): users sign up, some create
 * a first project, fewer invite a teammate, fewer still upgrade, each step with its own delay
 * and drop-off; afterwards they come back in sessions, less each week, and use features with
 * a skewed adoption (one feature nearly everyone uses, one almost nobody). Seeded.
 */
import type { DemoEvent } from './generator.ts';

/** Journey shape. */
export interface JourneyOptions {
  /** Tenant ids the users belong to (the demo traffic's tenants). */
  tenants: readonly string[];
  /** Signups spread over this many weeks before `endMs`. */
  weeks: number;
  /** Signups per week in the largest tenant (smaller tenants get fewer, heavy-tailed). */
  signupsPerWeek?: number;
  endMs: number;
  seed: number;
}

/** The journey's steps in order and the chance of reaching each from the previous one. */
export const JOURNEY = [
  { type: 'signup', p: 1, meanDelayH: 0 },
  { type: 'project.created', p: 0.62, meanDelayH: 3 },
  { type: 'member.invited', p: 0.45, meanDelayH: 20 },
  { type: 'plan.upgraded', p: 0.32, meanDelayH: 60 },
] as const;

/** Feature adoption: chance that a tenant's users use it at all (export nearly always, audit almost never). */
const FEATURE_REACH: [feature: string, tenantReach: number][] = [
  ['export_csv', 0.95],
  ['dashboards', 0.85],
  ['ai_summary', 0.5],
  ['webhooks', 0.3],
  ['sso_login', 0.12],
  ['audit_export', 0.04],
];

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

const HOUR = 3_600_000;
const WEEK = 7 * 24 * HOUR;

/** Every journey event up to `endMs`, in time order. */
export function journeyEvents(o: JourneyOptions): DemoEvent[] {
  const r = prng(o.seed);
  const exp = (mean: number) => -Math.log(1 - r()) * mean;
  const run = Math.floor(r() * 1e9).toString(36);
  const start = o.endMs - o.weeks * WEEK;
  const out: DemoEvent[] = [];
  let seq = 0;
  const emit = (tenant: string, actor: string, type: string, t: number, data: Record<string, unknown>) => {
    if (t < o.endMs) out.push({ specversion: '1.0', id: `journey-${run}-${(seq++).toString(36)}`, source: 'tally-demo', type, subject: tenant, time: new Date(Math.floor(t)).toISOString(), actor, data });
  };
  o.tenants.forEach((tenant, ti) => {
    const features = FEATURE_REACH.filter(([, reach]) => r() < reach).map(([f]) => f);
    const perWeek = Math.max(1, Math.round((o.signupsPerWeek ?? 30) / Math.pow(ti + 1, 0.8)));
    const users = Math.round(perWeek * o.weeks);
    for (let u = 0; u < users; u++) {
      const actor = `${tenant}-member-${u}`;
      const signup = start + r() * (o.endMs - start);
      const source = ['organic', 'ads', 'referral'][Math.floor(r() * 3)]!;
      let t = signup;
      for (const [i, step] of JOURNEY.entries()) {
        if (i > 0 && r() >= step.p) break;
        t += i === 0 ? 0 : Math.max(60_000, exp(step.meanDelayH * HOUR));
        emit(tenant, actor, step.type, t, i === 0 ? { source, plan: 'free' } : i === 3 ? { plan: r() < 0.8 ? 'pro' : 'business' } : {});
      }
      // Returning sessions: likelier for users who got further, fading week by week to a plateau.
      const engaged = 0.25 + 0.15 * Math.min(3, Math.round((t - signup) / (20 * HOUR)));
      for (let w = 0; signup + w * WEEK < o.endMs; w++) {
        const p = w === 0 ? 0.9 : engaged * Math.pow(0.78, w) + 0.08;
        if (r() >= p) continue;
        const sessions = 1 + Math.floor(r() * 3);
        for (let s = 0; s < sessions; s++) {
          const at = signup + w * WEEK + r() * WEEK;
          emit(tenant, actor, 'session.started', at, { client: r() < 0.7 ? 'web' : 'mobile' });
          for (const f of features) if (r() < 0.35) emit(tenant, actor, 'feature.used', at + r() * HOUR, { feature: f });
        }
      }
    }
  });
  return out.sort((a, b) => (a.time < b.time ? -1 : a.time > b.time ? 1 : 0));
}
