import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { ActorHasher } from './actor-hash.ts';

describe('ActorHasher', () => {
  it('is HMAC-SHA256 with the secret, stable across cache generations', () => {
    const h = new ActorHasher('s'.repeat(32), 10);
    const expected = (id: string) => createHmac('sha256', 's'.repeat(32)).update(id).digest('hex');
    for (let round = 0; round < 3; round++) for (let i = 0; i < 35; i++) expect(h.hash(`user-${i}`)).toBe(expected(`user-${i}`));
    expect(new ActorHasher('other-secret-0123456789').hash('user-1')).not.toBe(expected('user-1'));
  });
});
