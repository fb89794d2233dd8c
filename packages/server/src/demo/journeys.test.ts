import { describe, expect, it } from 'vitest';
import { JOURNEY, journeyEvents } from './journeys.ts';

describe('demo journeys', () => {
  const end = Date.UTC(2026, 5, 1);
  const events = journeyEvents({ tenants: ['acme', 'globex', 'initech'], weeks: 8, endMs: end, seed: 3 });

  it('walks signup → project → invite → upgrade with a drop-off at every step, in order per user', () => {
    const reached = JOURNEY.map((s) => new Set(events.filter((e) => e.type === s.type).map((e) => e.actor)));
    for (let i = 1; i < reached.length; i++) {
      expect(reached[i]!.size).toBeLessThan(reached[i - 1]!.size);
      expect(reached[i]!.size).toBeGreaterThan(0);
      for (const a of reached[i]!) expect(reached[i - 1]!.has(a)).toBe(true);
    }
    const first = new Map<string, string>();
    for (const e of events) if (!first.has(e.actor)) first.set(e.actor, e.type);
    expect(new Set(first.values())).toEqual(new Set(['signup']));
  });

  it('has returning users weeks after signup, feature use, and nothing in the future; the same seed gives the same journeys', () => {
    const signup = new Map(events.filter((e) => e.type === 'signup').map((e) => [e.actor, Date.parse(e.time)]));
    const late = events.filter((e) => e.type === 'session.started' && Date.parse(e.time) - signup.get(e.actor)! > 21 * 86_400_000);
    expect(new Set(late.map((e) => e.actor)).size).toBeGreaterThan(10);
    expect(new Set(events.filter((e) => e.type === 'feature.used').map((e) => e.data.feature)).size).toBeGreaterThan(2);
    expect(events.every((e) => Date.parse(e.time) < end)).toBe(true);
    const again = journeyEvents({ tenants: ['acme', 'globex', 'initech'], weeks: 8, endMs: end, seed: 3 });
    expect(again.map((e) => [e.type, e.actor, e.time])).toEqual(events.map((e) => [e.type, e.actor, e.time]));
  });
});
