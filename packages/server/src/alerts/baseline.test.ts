import { describe, expect, it } from 'vitest';
import { judge, median, robustBaseline } from './baseline.ts';

const p = { sensitivity: 4, minChange: 0.5, minBaseline: 10 };

describe('seasonal baseline (median/MAD)', () => {
  it('median and MAD resist one outlier week', () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 3, 2])).toBe(2.5);
    expect(robustBaseline([100, 102, 98, 1000])).toEqual({ median: 101, mad: 2 });
  });

  it('drop, spike and silence fire only past both the MAD bound and the relative change', () => {
    const h = [100, 104, 96, 101];
    expect(judge('traffic-drop', 15, h, p)).toMatchObject({ fires: true, watched: true, median: 100.5 });
    expect(judge('traffic-drop', 30, h, p).fires).toBe(false); // within √m + 10 % noise × k
    expect(judge('traffic-spike', 300, h, p).fires).toBe(true);
    expect(judge('traffic-spike', 140, h, p).fires).toBe(false);
    expect(judge('traffic-silence', 0, h, p).fires).toBe(true);
    expect(judge('traffic-silence', 1, h, p).fires).toBe(false);
  });

  it('a tenant that is not normally active is not watched', () => {
    expect(judge('traffic-silence', 0, [2, 3, 1], p)).toMatchObject({ fires: false, watched: false });
    expect(judge('traffic-drop', 0, [100, 100], p)).toMatchObject({ fires: false, watched: false }); // fewer than 3 weeks
  });

  it('a noisy history widens the band: the same drop is no outlier', () => {
    expect(judge('traffic-drop', 15, [100, 100, 100, 100], p).fires).toBe(true);
    expect(judge('traffic-drop', 15, [100, 160, 60, 140, 40], p).fires).toBe(false);
  });
});
