/** pending (due at `nextAttemptAt`), delivered, or dead (the retry budget is spent). */
export const MESSAGE_STATES = ['pending', 'delivered', 'dead'] as const;
export type MessageState = (typeof MESSAGE_STATES)[number];

/**
 * One message of the outbox for one endpoint. Its id is the `webhook-id` of every attempt and
 * its payload is fixed when it is enqueued, so a retry sends the same bytes under the same id.
 */
export interface Message {
  id: string;
  endpoint: string;
  tenant: string;
  /** `alert.firing`, `alert.resolved`, `alert.renotify`, `alert.event`, `ping`. */
  type: string;
  alert: string | null;
  payload: string;
  state: MessageState;
  attempts: number;
  createdAt: number;
  nextAttemptAt: number;
  deliveredAt: number | null;
  lastError: string | null;
  /** Attempts made before the last manual redelivery (the retry budget counts from there). */
  budgetFrom?: number;
}

/** One attempt to deliver a message: the delivery log. */
export interface Attempt {
  id: string;
  message: string;
  endpoint: string;
  attempt: number;
  at: number;
  /** HTTP status, or null when no answer came (refused, timeout). */
  status: number | null;
  latencyMs: number;
  ok: boolean;
  error: string | null;
}
