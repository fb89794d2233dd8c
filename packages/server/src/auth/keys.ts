import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { TallyError } from '../errors/registry.ts';
import { formatMicros, type Clock, type EpochMicros } from '../shared/time.ts';
import type { StoredKey, UsageStore } from '../store/port.ts';

/** Key scopes. `admin` implies `read` and `ingest`. */
export const SCOPES = ['ingest', 'read', 'admin'] as const;
export type Scope = (typeof SCOPES)[number];

/** The authenticated caller of a request. */
export interface Principal {
  keyId: string;
  scopes: Scope[];
  /** Set when the key may only read this tenant (customer portal keys). */
  tenant: string | null;
  /** Set when the key may only query these meters (portal tokens); see `requireMeter`. */
  meters?: string[] | null;
}

/** Limits a key can carry beyond its scopes and tenant (OpenMeter portal tokens use both). */
export interface KeyLimits {
  /** After this instant the key is refused (UNAUTHENTICATED), like a revoked one. */
  expiresAt?: EpochMicros | null;
  /** The only meters the key may query; null or absent: every meter. */
  allowedMeters?: string[] | null;
}

const ALPHABET = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
const TOKEN = /^tally_([0-9A-Za-z]{12})_([0-9A-Za-z]{32})$/;

function randomBase62(n: number): string {
  const bytes = randomBytes(n * 2);
  let out = '';
  for (let i = 0; out.length < n && i < bytes.length; i++) if (bytes[i]! < 248) out += ALPHABET[bytes[i]! % 62];
  return out.length === n ? out : randomBase62(n);
}

function hashToken(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

/** What `create` returns: the only moment the secret token is visible. */
export interface CreatedKey {
  key: StoredKey;
  token: string;
}

/**
 * API keys: `tally_<id>_<secret>`. Only a SHA-256 of the token is stored; verification looks
 * the id up in an in-memory copy and compares hashes in constant time.
 */
export class KeyService {
  private byId = new Map<string, StoredKey>();
  /** Uses not yet written to the store: key id → latest use (one write per key per flush, not per request). */
  private uses = new Map<string, EpochMicros>();
  private flushTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly store: UsageStore,
    private readonly clock: Clock,
  ) {}

  /** Writes recorded uses every `everyMs` (default a minute) until `close`: last-used times are at most that stale in the store. */
  startUsageFlush(everyMs = 60_000): void {
    this.flushTimer ??= setInterval(() => void this.flushUsage().catch(() => undefined), everyMs);
    this.flushTimer.unref();
  }

  /** Writes the uses recorded since the last flush to the store. */
  async flushUsage(): Promise<void> {
    if (this.uses.size === 0) return;
    const batch = [...this.uses].map(([id, at]) => ({ id, at }));
    this.uses = new Map();
    try {
      await this.store.touchKeys(batch);
    } catch (err) {
      for (const u of batch) if ((this.uses.get(u.id) ?? 0) < u.at) this.uses.set(u.id, u.at);
      throw err;
    }
  }

  /** The service clock's now (views say whether a key has expired). */
  nowMicros(): EpochMicros {
    return this.clock.nowMicros();
  }

  /** Stops the flush timer and writes what is left. */
  async close(): Promise<void> {
    clearInterval(this.flushTimer);
    this.flushTimer = undefined;
    await this.flushUsage();
  }

  /** Loads keys from the store (call once at start). */
  async load(): Promise<void> {
    this.byId = new Map((await this.store.listKeys()).map((k) => [k.id, k]));
  }

  async create(name: string, scopes: Scope[], tenant: string | null = null, token?: string, limits: KeyLimits = {}): Promise<CreatedKey> {
    if (scopes.length === 0) throw new TallyError('VALIDATION_FAILED', 'a key needs at least one scope', [{ path: 'scopes', message: 'empty' }]);
    if (tenant !== null && scopes.some((s) => s !== 'read')) {
      throw new TallyError('VALIDATION_FAILED', 'only read keys can be bound to a tenant', [{ path: 'tenant', message: 'requires scopes ["read"]' }]);
    }
    const t = token ?? `tally_${randomBase62(12)}_${randomBase62(32)}`;
    const m = TOKEN.exec(t);
    if (!m) throw new TallyError('VALIDATION_FAILED', 'a key must look like tally_<12 letters/digits>_<32 letters/digits>');
    const createdAt = this.clock.nowMicros();
    if (limits.expiresAt != null && limits.expiresAt <= createdAt) throw new TallyError('VALIDATION_FAILED', 'a key cannot expire in the past', [{ path: 'expiresAt', message: 'must be in the future' }]);
    const key: StoredKey = { id: `key_${m[1]!}`, name, hash: hashToken(t), scopes: [...new Set(scopes)], tenant, createdAt, revokedAt: null, expiresAt: limits.expiresAt ?? null, allowedMeters: limits.allowedMeters ?? null };
    if (this.byId.has(key.id)) throw new TallyError('CONFLICT', `key ${key.id} exists`);
    await this.store.putKey(key);
    this.byId.set(key.id, key);
    return { key, token: t };
  }

  /** The keys this node knows, with the last use it saw (see `listStored` for every node's uses). */
  list(): StoredKey[] {
    return [...this.byId.values()];
  }

  /**
   * The keys as stored, after writing this node's pending uses: last-used times seen by every
   * node (distributed: each API node flushes its own), never older than this node's.
   */
  async listStored(): Promise<StoredKey[]> {
    await this.flushUsage();
    const stored = await this.store.listKeys();
    for (const k of stored) {
      const mine = this.byId.get(k.id)?.lastUsedAt ?? null;
      if (mine !== null && (k.lastUsedAt ?? 0) < mine) k.lastUsedAt = mine;
      const known = this.byId.get(k.id);
      if (known) known.lastUsedAt = k.lastUsedAt ?? null;
    }
    return stored;
  }

  async revoke(id: string): Promise<void> {
    const at = this.clock.nowMicros();
    if (!(await this.store.revokeKey(id, at))) throw new TallyError('NOT_FOUND', `no active key ${id}`);
    const k = this.byId.get(id);
    if (k) this.byId.set(id, { ...k, revokedAt: at });
  }

  /** Checks a bearer token; throws UNAUTHENTICATED when it is not a live key (unknown, revoked or expired). */
  verify(token: string | undefined): Principal {
    if (!token) throw new TallyError('UNAUTHENTICATED', 'send `Authorization: Bearer <key>` (the dev key is printed when `tally serve` starts)');
    const m = TOKEN.exec(token);
    const k = m ? this.byId.get(`key_${m[1]!}`) : undefined;
    const a = Buffer.from(hashToken(token), 'hex');
    const b = Buffer.from(k?.hash ?? '0'.repeat(64), 'hex');
    if (!k || !timingSafeEqual(a, b) || k.revokedAt !== null) throw new TallyError('UNAUTHENTICATED', 'the API key is unknown or revoked');
    const now = this.clock.nowMicros();
    if (k.expiresAt != null && now >= k.expiresAt) throw new TallyError('KEY_EXPIRED', `the API key expired at ${formatMicros(k.expiresAt)}`);
    if ((k.lastUsedAt ?? 0) < now) {
      k.lastUsedAt = now;
      this.uses.set(k.id, now);
    }
    return { keyId: k.id, scopes: k.scopes as Scope[], tenant: k.tenant, meters: k.allowedMeters ?? null };
  }
}

/** Throws FORBIDDEN when the principal's key is limited to meters that do not include `slug`. */
export function requireMeter(p: Principal | null, slug: string): void {
  if (p?.meters && !p.meters.includes(slug)) throw new TallyError('FORBIDDEN', `this key may not query meter "${slug}" (it may query ${p.meters.map((m) => `"${m}"`).join(', ') || 'no meter'})`);
}

/** Throws FORBIDDEN unless the principal holds `scope` (admin holds every scope). */
export function requireScope(p: Principal, scope: Scope): void {
  if (!p.scopes.includes(scope) && !p.scopes.includes('admin')) throw new TallyError('FORBIDDEN', `this key lacks the "${scope}" scope`);
}
