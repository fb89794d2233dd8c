import { formatMicros } from '../shared/time.ts';
import type { Alert } from './alert.ts';
import type { Message } from './delivery.ts';
import type { Endpoint } from './endpoint.ts';
import { derivedId, type AlertRepos } from './repos.ts';
import type { Rule } from './rule.ts';

/** The notification types a message carries. */
export type NotificationType = 'alert.firing' | 'alert.resolved' | 'alert.renotify' | 'alert.event' | 'ping';

/** The public view of an alert (API, webhook payloads). */
export function alertView(a: Alert): Record<string, unknown> {
  return { ...a, firedAt: formatMicros(a.firedAt), updatedAt: formatMicros(a.updatedAt), resolvedAt: a.resolvedAt === null ? null : formatMicros(a.resolvedAt), lastNotifiedAt: a.lastNotifiedAt === null ? null : formatMicros(a.lastNotifiedAt), acknowledgedAt: a.acknowledgedAt === null ? null : formatMicros(a.acknowledgedAt), silencedUntil: a.silencedUntil === null ? null : formatMicros(a.silencedUntil) };
}

const EMOJI: Record<NotificationType, string> = { 'alert.firing': ':rotating_light:', 'alert.renotify': ':rotating_light:', 'alert.resolved': ':white_check_mark:', 'alert.event': ':receipt:', ping: ':wave:' };

/**
 * The body an endpoint gets: Standard Webhooks' `{ type, timestamp, data }` for webhooks, or a
 * Slack-compatible `{ text, blocks }` (incoming webhooks) for Slack endpoints.
 */
export function payloadFor(e: Endpoint, type: NotificationType, at: number, data: Record<string, unknown>, text: string): string {
  if (e.type === 'slack') {
    const line = `${EMOJI[type]} *${type}* ${text}`;
    return JSON.stringify({ text: line, blocks: [{ type: 'section', text: { type: 'mrkdwn', text: line } }, { type: 'context', elements: [{ type: 'mrkdwn', text: `Tally · ${formatMicros(at)}` }] }] });
  }
  return JSON.stringify({ type, timestamp: formatMicros(at), data });
}

/** Endpoints an alert goes to: the rule's channels, and endpoints bound to the alert's tenant for its kind. */
export function targets(rule: Rule, alert: Alert, endpoints: readonly Endpoint[]): Endpoint[] {
  return endpoints.filter((e) => e.enabled && (e.tenant === null ? rule.channels.includes(e.id) : e.tenant === alert.tenant && e.kinds.includes(rule.kind)));
}

/**
 * Enqueues one message per target. Ids derive from the alert, the endpoint, the type and the
 * alert's notification count, and `putNew` keeps the first: a crashed evaluation run that
 * enqueues again adds nothing, and every retry of a message keeps its `webhook-id`.
 */
export async function enqueueFor(repos: AlertRepos, rule: Rule, alert: Alert, type: NotificationType, endpoints: readonly Endpoint[], now: number): Promise<number> {
  let n = 0;
  const data = { alert: alertView(alert), rule: { id: rule.id, name: rule.name ?? rule.id, kind: rule.kind } };
  for (const e of targets(rule, alert, endpoints)) {
    const id = derivedId('msg', [alert.id, e.id, type, String(alert.notifications)]);
    const m: Message = { id, endpoint: e.id, tenant: alert.tenant, type, alert: alert.id, payload: payloadFor(e, type, now, data, alert.summary), state: 'pending', attempts: 0, createdAt: now, nextAttemptAt: now, deliveredAt: null, lastError: null };
    if (await repos.saveMessage(m, true)) n++;
  }
  return n;
}
