import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import { IDENTIFIER_LIMITS, identifierSchema } from '../events/identifiers.ts';
import { RULE_KINDS, type RuleKind } from './rule.ts';

/** webhook: Standard Webhooks signed JSON; slack: a Slack-compatible `{ text, blocks }` body. */
export const ENDPOINT_TYPES = ['webhook', 'slack'] as const;

/** An endpoint as sent to `POST /v1/alerts/endpoints`. */
export const endpointInputSchema = z
  .object({
    url: z.url({ protocol: /^https?$/ }).max(2048),
    type: z.enum(ENDPOINT_TYPES).default('webhook'),
    description: z.string().max(500).optional(),
    tenant: identifierSchema(IDENTIFIER_LIMITS.tenant).optional().describe('bound to one tenant: receives that tenant\'s alerts of `kinds`; a tenant-bound key can only create these'),
    kinds: z.array(z.enum(RULE_KINDS)).optional().describe('tenant-bound endpoints: which kinds of their tenant\'s alerts (default quota)'),
    enabled: z.boolean().default(true),
  })
  .strict();

/** A signing secret; the newest signs first, older ones until they expire (rotation). */
export interface EndpointSecret {
  secret: string;
  createdAt: number;
  expiresAt: number | null;
}

/** A stored endpoint. */
export interface Endpoint {
  id: string;
  url: string;
  type: (typeof ENDPOINT_TYPES)[number];
  description: string | null;
  tenant: string | null;
  kinds: RuleKind[];
  enabled: boolean;
  secrets: EndpointSecret[];
  createdAt: number;
}

/** A Standard Webhooks secret: `whsec_` and 32 random bytes in base64. */
export function newSecret(): string {
  return `whsec_${randomBytes(32).toString('base64')}`;
}

/** The secrets that still sign at `now`, newest first. */
export function activeSecrets(e: Endpoint, now: number): string[] {
  return e.secrets.filter((s) => s.expiresAt === null || s.expiresAt > now).sort((a, b) => b.createdAt - a.createdAt).map((s) => s.secret);
}
