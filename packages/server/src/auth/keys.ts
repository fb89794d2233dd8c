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

  constructor(
    private readonly store: UsageStore,
    private readonly clock: Clock,
  ) {}

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

  list(): StoredKey[] {
    return [...this.byId.values()];
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
    if (k.expiresAt != null && this.clock.nowMicros() >= k.expiresAt) throw new TallyError('UNAUTHENTICATED', `the API key expired at ${formatMicros(k.expiresAt)}`);
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
