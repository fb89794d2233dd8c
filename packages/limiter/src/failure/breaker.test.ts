import { describe, expect, it } from 'vitest';
import { CircuitBreaker } from './breaker.ts';
import { admitDuringOutage } from './failure-policy.ts';

describe('CircuitBreaker', () => {
  it('opens after the threshold, half-opens after exactly cooldownMs, admits one probe', () => {
    let now = 0;
    const b = new CircuitBreaker(() => now, { failureThreshold: 3, cooldownMs: 200 });
    b.failure();
    b.failure();
    expect(b.tryAcquire()).toBe(true);
    b.failure();
    expect(b.state()).toBe('open');
    expect(b.tryAcquire()).toBe(false);
    now = 199;
    expect(b.tryAcquire()).toBe(false);
    now = 200;
    expect(b.state()).toBe('half-open');
    expect(b.tryAcquire()).toBe(true); // the probe
    expect(b.tryAcquire()).toBe(false); // only one probe at a time
    b.success();
    expect(b.state()).toBe('closed');
    expect(b.tryAcquire()).toBe(true);
  });

  it('a failed probe re-opens for another full cooldown', () => {
    let now = 0;
    const b = new CircuitBreaker(() => now, { failureThreshold: 1, cooldownMs: 100 });
    b.failure();
    now = 100;
    expect(b.tryAcquire()).toBe(true);
    b.failure();
    now = 199;
    expect(b.state()).toBe('open');
    now = 200;
    expect(b.tryAcquire()).toBe(true);
  });
});

describe('admitDuringOutage', () => {
  it('fail-open admits, fail-closed rejects, open-then-closed flips at openForMs', () => {
    expect(admitDuringOutage({ mode: 'fail-open' }, 1e9)).toBe(true);
    expect(admitDuringOutage({ mode: 'fail-closed' }, 0)).toBe(false);
    expect(admitDuringOutage({ mode: 'open-then-closed', openForMs: 1_000 }, 999)).toBe(true);
    expect(admitDuringOutage({ mode: 'open-then-closed', openForMs: 1_000 }, 1_000)).toBe(false);
    expect(admitDuringOutage({ mode: 'open-then-closed' }, 4_999)).toBe(true);
  });
});
