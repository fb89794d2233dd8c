import { MICROS_PER_HOUR, MICROS_PER_MINUTE } from '../shared/time.ts';
import type { Alert, Finding } from './alert.ts';
import type { Endpoint } from './endpoint.ts';
import { enqueueFor, type NotificationType } from './notify.ts';
import { derivedId, type AlertRepos } from './repos.ts';
import type { Rule } from './rule.ts';

/** What one rule's evaluation changed. */
export interface Applied {
  fired: number;
  reopened: number;
  resolved: number;
  events: number;
  messages: number;
}

/**
 * Applies a rule's findings to its alerts: a new subject fires (one alert per rule and subject
 * while it fires), a subject no longer found resolves, a subject found again within the cooldown
 * reopens its alert without a new notification (and it resolves again silently), and an unacknowledged alert is notified again
 * every `renotifyMinutes`. A notification is first recorded on the alert (`pending`), then
 * enqueued, then marked done: a run that crashes in between is completed by the next run with
 * the same message ids, so nothing is lost and nothing is sent under a second id.
 */
export async function applyFindings(repos: AlertRepos, rule: Rule, findings: readonly Finding[], endpoints: readonly Endpoint[], now: number, assertHeld: () => Promise<void>): Promise<Applied> {
  const out: Applied = { fired: 0, reopened: 0, resolved: 0, events: 0, messages: 0 };
  const recent = await repos.alerts({ ref: rule.id, from: now - Math.max(rule.cooldownMinutes * MICROS_PER_MINUTE, MICROS_PER_HOUR), limit: 10_000 });
  const firing = new Map((await repos.alerts({ ref: rule.id, status: 'firing', limit: 10_000 })).map((a) => [a.subject, a]));
  const notify = async (a: Alert, type: NotificationType): Promise<Alert> => {
    const silenced = a.silencedUntil !== null && a.silencedUntil > now;
    const pending = { ...a, updatedAt: now, pending: type };
    await assertHeld();
    await repos.saveAlert(pending);
    if (!silenced) out.messages += await enqueueFor(repos, rule, a, type, endpoints, now);
    const done: Alert = { ...a, updatedAt: now, notifications: silenced ? a.notifications : a.notifications + 1, lastNotifiedAt: silenced ? a.lastNotifiedAt : now };
    await repos.saveAlert(done);
    return done;
  };
  // Notifications a crashed run recorded but did not finish.
  for (const a of recent) {
    const p = (a as Alert & { pending?: NotificationType }).pending;
    if (p) {
      const { pending: _, ...clean } = a as Alert & { pending?: NotificationType };
      const done = await notify(clean, p);
      if (done.state === 'firing') firing.set(done.subject, done);
    }
  }
  const seen = new Set<string>();
  for (const f of findings) {
    seen.add(f.subject);
    if (f.oneShot) {
      const id = derivedId('alr', [rule.id, f.subject]);
      if (await repos.alert(id)) continue;
      await notify(fresh(id, rule, f, 'event', now), 'alert.event');
      out.events++;
      continue;
    }
    const open = firing.get(f.subject);
    if (open) {
      const updated = { ...open, summary: f.summary, details: f.details };
      const due = rule.renotifyMinutes > 0 && open.acknowledgedAt === null && open.lastNotifiedAt !== null && now - open.lastNotifiedAt >= rule.renotifyMinutes * MICROS_PER_MINUTE;
      if (due) await notify(updated, 'alert.renotify');
      continue;
    }
    const cooled = recent.find((a) => a.subject === f.subject && a.state === 'resolved' && a.resolvedAt !== null && now - a.resolvedAt < rule.cooldownMinutes * MICROS_PER_MINUTE);
    if (cooled) {
      await assertHeld();
      await repos.saveAlert({ ...cooled, state: 'firing', resolvedAt: null, summary: f.summary, details: f.details, updatedAt: now, reopened: true });
      out.reopened++;
      continue;
    }
    // One id per rule, subject and start: the same episode found again after a crash is the same alert.
    const since = f.since ?? now;
    const id = derivedId('alr', [rule.id, f.subject, String(f.since ?? Math.floor(now / MICROS_PER_MINUTE))]);
    const existing = await repos.alert(id);
    if (existing && existing.state !== 'resolved') continue;
    await notify(fresh(id, rule, f, 'firing', since), 'alert.firing');
    out.fired++;
  }
  for (const [subject, a] of firing) {
    if (seen.has(subject)) continue;
    const resolved: Alert = { ...a, state: 'resolved', resolvedAt: now, updatedAt: now, reopened: false };
    if (a.reopened) {
      await assertHeld();
      await repos.saveAlert(resolved);
    } else await notify(resolved, 'alert.resolved');
    out.resolved++;
  }
  return out;
}

function fresh(id: string, rule: Rule, f: Finding, state: 'firing' | 'event', at: number): Alert {
  return { id, rule: rule.id, kind: rule.kind, subject: f.subject, tenant: f.tenant, state, summary: f.summary, details: f.details, firedAt: at, updatedAt: at, resolvedAt: null, lastNotifiedAt: null, notifications: 0, acknowledgedAt: null, acknowledgedBy: null, silencedUntil: null };
}
