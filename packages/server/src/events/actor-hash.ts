import { createHmac, randomBytes } from 'node:crypto';

/**
 * Keyed hash of end-user ids (principle 5): raw ids never reach disk, yet the same user
 * hashes the same way so unique counts stay exact. Rotating the secret starts new identities.
 */
export class ActorHasher {
  private readonly key: Buffer;
  /** Recent ids → hash: the same users send most events, and an HMAC costs microseconds. */
  private recent = new Map<string, string>();
  private older = new Map<string, string>();

  private readonly previous: Buffer[];

  /** `previous`: secrets in use before this one (newest first); only erasure hashes with them. */
  constructor(
    secret: string,
    private readonly cacheSize = 50_000,
    previous: readonly string[] = [],
  ) {
    this.key = Buffer.from(secret, 'utf8');
    this.previous = previous.map((p) => Buffer.from(p, 'utf8'));
  }

  /**
   * The id's hash under the current secret and under every previous one (distinct): what an
   * erasure looks for, since events stored before a rotation carry an older secret's hash.
   */
  hashAll(actorId: string): string[] {
    const all = [this.hash(actorId), ...this.previous.map((k) => createHmac('sha256', k).update(actorId, 'utf8').digest('hex'))];
    return [...new Set(all)];
  }

  /** HMAC-SHA256 of the id, hex. */
  hash(actorId: string): string {
    const hit = this.recent.get(actorId) ?? this.older.get(actorId);
    if (hit !== undefined) {
      this.recent.set(actorId, hit);
      return hit;
    }
    const h = createHmac('sha256', this.key).update(actorId, 'utf8').digest('hex');
    // Two generations bound the cache: when `recent` fills up it becomes `older`.
    if (this.recent.size >= this.cacheSize) {
      this.older = this.recent;
      this.recent = new Map();
    }
    this.recent.set(actorId, h);
    return h;
  }

  /** A fresh random secret for a first start. */
  static generateSecret(): string {
    return randomBytes(32).toString('base64url');
  }
}
