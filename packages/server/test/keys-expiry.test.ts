import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { formatMicros, MICROS_PER_HOUR, MICROS_PER_MINUTE, type Clock } from '../src/shared/time.ts';
import { startTestServer, type TestServer } from '../src/testing.ts';

/** #18 secrets: API keys with an optional expiry (refused with KEY_EXPIRED) and a last-used time. */
const T0 = Date.UTC(2026, 11, 1, 12) * 1000;
let now = T0;
const clock: Clock = { nowMicros: () => now };
const dir = mkdtempSync(join(tmpdir(), 'tally-keys-'));
const servers: TestServer[] = [];
afterAll(async () => {
  for (const s of servers) await s.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('API key expiry and last use', () => {
  it('refuses an expired key with KEY_EXPIRED, shows expiry and last use in the API, keeps last use across a restart', async () => {
    const s = await startTestServer({ clock, dataDir: dir });
    servers.push(s);
    const expiresAt = formatMicros(T0 + MICROS_PER_HOUR);
    const created = await s.request('POST', '/v1/keys', { name: 'reader', scopes: ['read'], expiresAt });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ expiresAt, lastUsedAt: null, expired: false });
    const reader = created.body.token as string;

    now = T0 + 5 * MICROS_PER_MINUTE;
    expect((await s.request('GET', '/v1/meters', undefined, { token: reader })).status).toBe(200);
    now = T0 + 7 * MICROS_PER_MINUTE;
    const list = await s.request('GET', '/v1/keys');
    const mine = list.body.data.find((k: { id: string }) => k.id === created.body.id);
    expect(mine).toMatchObject({ lastUsedAt: formatMicros(T0 + 5 * MICROS_PER_MINUTE), expired: false, expiresAt });

    now = T0 + MICROS_PER_HOUR;
    const refused = await s.request('GET', '/v1/meters', undefined, { token: reader });
    expect(refused.status).toBe(401);
    expect(refused.body.error.code).toBe('KEY_EXPIRED');
    expect(refused.body.error.message).toContain(expiresAt);
    const after = (await s.request('GET', '/v1/keys')).body.data.find((k: { id: string }) => k.id === created.body.id);
    // A refused request is no use: the last use stays the one before expiry.
    expect(after).toMatchObject({ expired: true, lastUsedAt: formatMicros(T0 + 5 * MICROS_PER_MINUTE) });

    // Creating a key that has already expired is refused.
    expect((await s.request('POST', '/v1/keys', { name: 'old', scopes: ['read'], expiresAt: formatMicros(T0) })).status).toBe(400);

    // The admin's own use was written on close and is read back after a restart.
    now = T0 + 2 * MICROS_PER_HOUR;
    await s.request('GET', '/v1/meters');
    await s.close();
    servers.pop();
    const again = await startTestServer({ clock, dataDir: dir });
    servers.push(again);
    now = T0 + 3 * MICROS_PER_HOUR;
    const keys = (await again.request('GET', '/v1/keys')).body.data as { id: string; lastUsedAt: string | null; name: string }[];
    expect(keys.find((k) => k.id === created.body.id)?.lastUsedAt).toBe(formatMicros(T0 + 5 * MICROS_PER_MINUTE));
    // The admin key's last use is this very request (verified before the list is read).
    expect(keys.find((k) => k.name.startsWith('dev admin'))?.lastUsedAt).toBe(formatMicros(T0 + 3 * MICROS_PER_HOUR));
  });
});
