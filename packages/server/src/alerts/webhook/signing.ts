import { Webhook } from 'standardwebhooks';

/**
 * Standard Webhooks headers for one attempt: the message id (the same on every retry), the
 * attempt's time, and one `v1,` signature per active secret (space separated), so a receiver
 * still holding the previous secret verifies during a rotation.
 */
export function signatureHeaders(messageId: string, payload: string, secrets: readonly string[], at: Date): Record<string, string> {
  return {
    'webhook-id': messageId,
    'webhook-timestamp': String(Math.floor(at.getTime() / 1000)),
    'webhook-signature': secrets.map((s) => new Webhook(s).sign(messageId, at, payload)).join(' '),
  };
}
