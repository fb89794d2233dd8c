import { createHmac, randomBytes } from 'node:crypto';

/**
 * Keyed hash of end-user ids (principle 5): raw ids never reach disk, yet the same user
 * hashes the same way so unique counts stay exact. Rotating the secret starts new identities.
 */
export class ActorHasher {
  private readonly key: Buffer;
  constructor(secret: string) {
    this.key = Buffer.from(secret, 'utf8');
  }

  /** HMAC-SHA256 of the id, hex. */
  hash(actorId: string): string {
    return createHmac('sha256', this.key).update(actorId, 'utf8').digest('hex');
  }

  /** A fresh random secret for a first start. */
  static generateSecret(): string {
    return randomBytes(32).toString('base64url');
  }
}
