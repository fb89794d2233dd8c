import type { RuleKind } from './rule.ts';

/** firing → resolved; `event` is a one-shot notification (an invoice was finalized). */
export const ALERT_STATES = ['firing', 'resolved', 'event'] as const;
export type AlertState = (typeof ALERT_STATES)[number];

/** What a source found for one subject at one evaluation. */
export interface Finding {
  /** What the alert is about, unique within the rule (`acme/calls/2026-12-01T00:00:00Z/80%`). */
  subject: string;
  tenant: string;
  /** One line for people (Slack text, the dashboard). */
  summary: string;
  /** Numbers behind it (exact decimals as strings). */
  details: Record<string, unknown>;
  /** One-shot findings become `event` alerts (no resolve). */
  oneShot?: boolean;
  /** When the condition began, if the source knows (a recorded warning's time). */
  since?: number;
}

/**
 * One alert: a rule and a subject over one episode, deduplicated by (rule, subject): while it
 * fires, the same finding updates it instead of opening another.
 */
export interface Alert {
  id: string;
  rule: string;
  kind: RuleKind;
  subject: string;
  tenant: string;
  state: AlertState;
  summary: string;
  details: Record<string, unknown>;
  firedAt: number;
  updatedAt: number;
  resolvedAt: number | null;
  lastNotifiedAt: number | null;
  notifications: number;
  acknowledgedAt: number | null;
  acknowledgedBy: string | null;
  silencedUntil: number | null;
  /** Reopened within the cooldown: it fired and will resolve without notifications (flapping). */
  reopened?: boolean;
}
