import type { Principal } from '../auth/keys.ts';
import { TallyError } from '../errors/registry.ts';
import type { MeterRegistry } from '../meters/registry.ts';
import type { PlanCatalog } from '../quota/catalog.ts';
import { MICROS_PER_MINUTE, type Clock } from '../shared/time.ts';
import type { Alert } from './alert.ts';
import type { Attempt, Message } from './delivery.ts';
import type { Dispatcher } from './dispatcher.ts';
import { newSecret, type Endpoint, endpointInputSchema } from './endpoint.ts';
import { payloadFor } from './notify.ts';
import { randomId, type AlertRepos } from './repos.ts';
import { ruleInputSchema, TENANT_KINDS, type Rule, type RuleInput } from './rule.ts';
import type { z } from 'zod';
import type { RecordFilter } from './store.ts';

/** Filters of the alert history. */
export interface AlertFilter {
  state?: string;
  tenant?: string;
  rule?: string;
  from?: number;
  to?: number;
  limit?: number;
}

/**
 * What the API and the CLI do with alerts: rules, the alert history with acknowledge and
 * silence, webhook endpoints (rotating secrets, test pings), the delivery log and redelivery.
 */
export class AlertService {
  constructor(
    private readonly repos: AlertRepos,
    private readonly meters: MeterRegistry,
    private readonly catalog: PlanCatalog,
    private readonly clock: Clock,
    private readonly dispatcher: Dispatcher,
    /** Whether this node records per-tenant ingest statistics (`alerts.ingestStats.enabled`). */
    private readonly ingestStats = false,
  ) {}

  rules(): Promise<Rule[]> {
    return this.repos.rules();
  }

  async rule(id: string): Promise<Rule> {
    const r = await this.repos.rule(id);
    if (!r) throw new TallyError('NOT_FOUND', `no alert rule "${id}"`);
    return r;
  }

  /** Checks what the schema cannot: the meter, plan and channels exist. */
  async check(input: z.infer<typeof ruleInputSchema>, path = 'body'): Promise<void> {
    const problems: { path: string; message: string }[] = [];
    if (input.meter !== undefined && !this.meters.get(input.meter)) problems.push({ path: `${path}.meter`, message: `unknown meter "${input.meter}"` });
    if (input.scope.plan !== undefined && !this.catalog.plans.some((p) => p.id === input.scope.plan)) problems.push({ path: `${path}.scope.plan`, message: `unknown plan "${input.scope.plan}"` });
    if (input.kind === 'ingest-rejections' && !this.ingestStats) problems.push({ path: `${path}.kind`, message: 'ingest-rejections rules need alerts.ingestStats.enabled: true (per-tenant ingest statistics)' });
    // Config rules may name endpoints created later through the API.
    for (const [i, c] of input.channels.entries()) if (path === 'body' && !(await this.repos.endpoint(c))) problems.push({ path: `${path}.channels.${i}`, message: `unknown endpoint "${c}"` });
    if (problems.length > 0) throw new TallyError('VALIDATION_FAILED', problems.map((p) => `${p.path}: ${p.message}`).join('; '), problems);
  }

  /** Creates a rule, or replaces one with the same id (`replace`), or upserts a config rule. */
  async save(raw: RuleInput, opts: { id?: string; source: Rule['source']; replace?: boolean }): Promise<Rule> {
    const input = ruleInputSchema.parse(raw);
    const id = opts.id ?? input.id ?? randomId('rul');
    const existing = await this.repos.rule(id);
    if (existing && !opts.replace) throw new TallyError('CONFLICT', `an alert rule "${id}" exists; PUT /v1/alerts/rules/${id} replaces it`);
    if (!existing && opts.replace && opts.source === 'api') throw new TallyError('NOT_FOUND', `no alert rule "${id}"`);
    await this.check(input, opts.source === 'config' ? `alerts.rules.${id}` : 'body');
    const now = new Date(this.clock.nowMicros() / 1000).toISOString();
    const rule: Rule = { ...input, id, createdAt: existing?.createdAt ?? now, updatedAt: now, source: opts.source };
    await this.repos.saveRule(rule);
    return rule;
  }

  async deleteRule(id: string): Promise<void> {
    await this.repos.deleteRule(await this.rule(id));
  }

  alerts(f: AlertFilter): Promise<Alert[]> {
    const rf: RecordFilter = { limit: f.limit ?? 200 };
    if (f.state) rf.status = f.state;
    if (f.tenant) rf.tenant = f.tenant;
    if (f.rule) rf.ref = f.rule;
    if (f.from !== undefined) rf.from = f.from;
    if (f.to !== undefined) rf.to = f.to;
    return this.repos.alerts(rf);
  }

  async alert(id: string, principal: Principal | null): Promise<Alert> {
    const a = await this.repos.alert(id);
    if (!a || (principal?.tenant && principal.tenant !== a.tenant)) throw new TallyError('NOT_FOUND', `no alert "${id}"`);
    return a;
  }

  /** Acknowledges: no re-notification while it keeps firing. */
  async acknowledge(id: string, principal: Principal | null): Promise<Alert> {
    const a = await this.alert(id, principal);
    const next = { ...a, acknowledgedAt: this.clock.nowMicros(), acknowledgedBy: principal?.keyId ?? null, updatedAt: this.clock.nowMicros() };
    await this.repos.saveAlert(next);
    return next;
  }

  /** Silences notifications of the alert until `until` (it still fires and resolves). */
  async silence(id: string, until: number, principal: Principal | null): Promise<Alert> {
    const a = await this.alert(id, principal);
    if (until <= this.clock.nowMicros()) throw new TallyError('VALIDATION_FAILED', 'body.until: must be in the future', [{ path: 'body.until', message: 'must be in the future' }]);
    const next = { ...a, silencedUntil: until, updatedAt: this.clock.nowMicros() };
    await this.repos.saveAlert(next);
    return next;
  }

  /** Endpoints a caller may see: all for an unbound key, its own tenant's for a tenant-bound one. */
  endpoints(principal: Principal | null): Promise<Endpoint[]> {
    return this.repos.endpoints(principal?.tenant ? { tenant: principal.tenant } : {});
  }

  async endpoint(id: string, principal: Principal | null): Promise<Endpoint> {
    const e = await this.repos.endpoint(id);
    if (!e || (principal?.tenant && principal.tenant !== e.tenant)) throw new TallyError('NOT_FOUND', `no webhook endpoint "${id}"`);
    return e;
  }

  /**
   * Creates an endpoint with a fresh secret. A tenant-bound key creates endpoints of its own
   * tenant only, for its quota, invoice and credit alerts; other keys need the admin scope.
   */
  async createEndpoint(raw: z.input<typeof endpointInputSchema>, principal: Principal | null): Promise<Endpoint> {
    const input = endpointInputSchema.parse(raw);
    requireEndpointAccess(principal, input.tenant, input.kinds);
    const tenant = principal?.tenant ?? input.tenant ?? null;
    const now = this.clock.nowMicros();
    const e: Endpoint = { id: randomId('ep'), url: input.url, type: input.type, description: input.description ?? null, tenant, kinds: tenant === null ? [] : (input.kinds ?? ['quota']), enabled: input.enabled, secrets: [{ secret: newSecret(), createdAt: now, expiresAt: null }], createdAt: now };
    await this.repos.saveEndpoint(e);
    return e;
  }

  async deleteEndpoint(id: string, principal: Principal | null): Promise<void> {
    const e = await this.endpoint(id, principal);
    await this.repos.saveEndpoint(e, true);
  }

  /** A new signing secret; the previous ones keep signing for `graceMinutes` so receivers can switch. */
  async rotateSecret(id: string, graceMinutes: number, principal: Principal | null): Promise<Endpoint> {
    const e = await this.endpoint(id, principal);
    const now = this.clock.nowMicros();
    const until = now + graceMinutes * MICROS_PER_MINUTE;
    const secrets = e.secrets.filter((s) => s.expiresAt === null || s.expiresAt > now).map((s) => ({ ...s, expiresAt: s.expiresAt === null ? until : Math.min(s.expiresAt, until) }));
    const next = { ...e, secrets: [{ secret: newSecret(), createdAt: now + 1, expiresAt: null }, ...secrets] };
    await this.repos.saveEndpoint(next);
    return next;
  }

  /** Enqueues a `ping` to the endpoint and dispatches it now; the result shows in its delivery log. */
  async ping(id: string, principal: Principal | null): Promise<Message> {
    const e = await this.endpoint(id, principal);
    const now = this.clock.nowMicros();
    const m: Message = { id: randomId('msg'), endpoint: e.id, tenant: e.tenant ?? '', type: 'ping', alert: null, payload: payloadFor(e, 'ping', now, { endpoint: e.id, message: 'test ping from Tally' }, `test ping for ${e.url}`), state: 'pending', attempts: 0, createdAt: now, nextAttemptAt: now, deliveredAt: null, lastError: null };
    await this.repos.saveMessage(m);
    this.dispatcher.kick();
    return m;
  }

  /** The outbox: messages by state (`dead` is the dead-letter list), endpoint or tenant. */
  deliveries(f: { state?: string; endpoint?: string; tenant?: string; limit?: number }): Promise<Message[]> {
    return this.repos.messages({ limit: f.limit ?? 200, ...(f.state ? { status: f.state } : {}), ...(f.endpoint ? { ref: f.endpoint } : {}), ...(f.tenant !== undefined ? { tenant: f.tenant } : {}) });
  }

  async delivery(id: string, principal: Principal | null): Promise<{ message: Message; attempts: Attempt[] }> {
    const m = await this.repos.message(id);
    if (!m || (principal?.tenant && principal.tenant !== m.tenant)) throw new TallyError('NOT_FOUND', `no delivery "${id}"`);
    return { message: m, attempts: await this.repos.attempts({ ref: id, limit: 1000 }) };
  }

  /** The delivery log: attempts, newest first. */
  attempts(f: { endpoint?: string; limit?: number }): Promise<Attempt[]> {
    return this.repos.attempts({ limit: f.limit ?? 200 }).then((a) => (f.endpoint ? a.filter((x) => x.endpoint === f.endpoint) : a));
  }

  /** Sends a message again (delivered or dead-lettered) under the same `webhook-id`, with a fresh budget. */
  async redeliver(id: string, principal: Principal | null): Promise<Message> {
    const { message } = await this.delivery(id, principal);
    const next: Message = { ...message, state: 'pending', budgetFrom: message.attempts, nextAttemptAt: this.clock.nowMicros(), lastError: null };
    await this.repos.saveMessage(next);
    this.dispatcher.kick();
    return next;
  }
}

/** Tenant-bound keys manage their own tenant's endpoints for tenant kinds; unbound keys need admin. */
export function requireEndpointAccess(p: Principal | null, tenant: string | undefined, kinds: readonly string[] | undefined): void {
  if (p === null || p.scopes.includes('admin')) return;
  if (p.tenant === null) throw new TallyError('FORBIDDEN', 'managing webhook endpoints needs the admin scope or a key bound to a tenant');
  if (tenant !== undefined && tenant !== p.tenant) throw new TallyError('FORBIDDEN', `this key may only manage endpoints of tenant "${p.tenant}"`);
  const bad = (kinds ?? []).filter((k) => !TENANT_KINDS.includes(k as never));
  if (bad.length > 0) throw new TallyError('FORBIDDEN', `a tenant's endpoint may receive ${TENANT_KINDS.join(', ')} alerts, not ${bad.join(', ')}`);
}
