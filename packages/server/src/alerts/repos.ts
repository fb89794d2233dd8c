import { createHash, randomBytes } from 'node:crypto';
import type { Alert } from './alert.ts';
import type { Attempt, Message } from './delivery.ts';
import type { Endpoint } from './endpoint.ts';
import type { Rule } from './rule.ts';
import type { AlertStore, RecordFilter } from './store.ts';

/** A random id with a prefix (`ep_…`, `att_…`). */
export function randomId(prefix: string): string {
  return `${prefix}_${randomBytes(12).toString('hex')}`;
}

/** The same id for the same parts on every node and after restarts (dedupe by id). */
export function derivedId(prefix: string, parts: readonly string[]): string {
  return `${prefix}_${createHash('sha256').update(parts.join('\u0000')).digest('hex').slice(0, 32)}`;
}

/** Typed access to the records of the alerts domain over one AlertStore. */
export class AlertRepos {
  constructor(readonly store: AlertStore) {}

  async rules(): Promise<Rule[]> {
    return (await this.store.list('rule', { limit: 10_000, order: 'asc' })).map((r) => JSON.parse(r.body) as Rule);
  }
  async rule(id: string): Promise<Rule | undefined> {
    const r = await this.store.get('rule', id);
    return r && (JSON.parse(r.body) as Rule);
  }
  saveRule(rule: Rule): Promise<void> {
    return this.store.put({ kind: 'rule', id: rule.id, tenant: rule.scope.tenant ?? '', status: 'active', at: Date.parse(rule.createdAt) * 1000, ref: rule.source, body: JSON.stringify(rule) });
  }
  deleteRule(rule: Rule): Promise<void> {
    return this.store.put({ kind: 'rule', id: rule.id, tenant: rule.scope.tenant ?? '', status: 'deleted', at: Date.parse(rule.createdAt) * 1000, ref: rule.source, body: JSON.stringify(rule) });
  }

  async alerts(f: RecordFilter): Promise<Alert[]> {
    return (await this.store.list('alert', f)).map((r) => JSON.parse(r.body) as Alert);
  }
  async alert(id: string): Promise<Alert | undefined> {
    const r = await this.store.get('alert', id);
    return r && (JSON.parse(r.body) as Alert);
  }
  saveAlert(a: Alert): Promise<void> {
    return this.store.put({ kind: 'alert', id: a.id, tenant: a.tenant, status: a.state, at: a.updatedAt, ref: a.rule, body: JSON.stringify(a) });
  }

  async endpoints(f: RecordFilter = {}): Promise<Endpoint[]> {
    return (await this.store.list('endpoint', { limit: 10_000, order: 'asc', ...f })).map((r) => JSON.parse(r.body) as Endpoint);
  }
  async endpoint(id: string): Promise<Endpoint | undefined> {
    const r = await this.store.get('endpoint', id);
    return r && (JSON.parse(r.body) as Endpoint);
  }
  saveEndpoint(e: Endpoint, deleted = false): Promise<void> {
    return this.store.put({ kind: 'endpoint', id: e.id, tenant: e.tenant ?? '', status: deleted ? 'deleted' : 'active', at: e.createdAt, ref: '', body: JSON.stringify(e) });
  }

  async messages(f: RecordFilter): Promise<Message[]> {
    return (await this.store.list('message', f)).map((r) => JSON.parse(r.body) as Message);
  }
  async message(id: string): Promise<Message | undefined> {
    const r = await this.store.get('message', id);
    return r && (JSON.parse(r.body) as Message);
  }
  /** Stores a message; `onlyNew` enqueues it unless a message with its id exists (idempotent). */
  saveMessage(m: Message, onlyNew = false): Promise<boolean | void> {
    // Pending messages sort by when they are due; finished ones by when they were created.
    const r = { kind: 'message' as const, id: m.id, tenant: m.tenant, status: m.state, at: m.state === 'pending' ? m.nextAttemptAt : m.createdAt, ref: m.endpoint, body: JSON.stringify(m) };
    return onlyNew ? this.store.putNew(r) : this.store.put(r);
  }

  async attempts(f: RecordFilter): Promise<Attempt[]> {
    return (await this.store.list('attempt', f)).map((r) => JSON.parse(r.body) as Attempt);
  }
  saveAttempt(a: Attempt): Promise<void> {
    return this.store.put({ kind: 'attempt', id: a.id, tenant: '', status: a.ok ? 'ok' : 'failed', at: a.at, ref: a.message, body: JSON.stringify(a) });
  }
}
