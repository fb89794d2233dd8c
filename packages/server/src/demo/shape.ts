/**
 * The demo's traffic shape over time, shared by the seeded history and the live traffic so the
 * two join without a cliff: a working-day curve (quiet nights, a peak in the early afternoon),
 * quieter weekends, and per-tenant trends (a few tenants growing, one churning). All in UTC so
 * a seeded history looks the same wherever it is generated.
 */

const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;

/** Share of the peak rate at night (the curve's floor). */
export const NIGHT_FLOOR = 0.12;
/** Share of the weekday rate on Saturdays and Sundays. */
export const WEEKEND_FACTOR = 0.35;
/** Hour of day (UTC) of the daily peak. */
const PEAK_HOUR = 14;
/** Width of the daily peak in hours (a Gaussian's standard deviation). */
const PEAK_WIDTH_HOURS = 4.5;

/** The traffic at `timeMs` as a share of the peak rate (0 < shape ≤ 1). */
export function trafficShape(timeMs: number): number {
  const date = new Date(timeMs);
  const hour = date.getUTCHours() + date.getUTCMinutes() / 60;
  // Distance to the peak on the circle of 24 hours, so 23:00 and 01:00 are both night.
  const d = Math.min(Math.abs(hour - PEAK_HOUR), 24 - Math.abs(hour - PEAK_HOUR));
  const daily = NIGHT_FLOOR + (1 - NIGHT_FLOOR) * Math.exp(-0.5 * (d / PEAK_WIDTH_HOURS) ** 2);
  const day = date.getUTCDay();
  return daily * (day === 0 || day === 6 ? WEEKEND_FACTOR : 1);
}

/** How a tenant's traffic evolves over the demo's history. */
export type TenantTrend = 'steady' | 'growing' | 'churning';

/** Daily growth of a growing tenant (+6 % a day). */
const GROWTH_PER_DAY = 1.06;
/** A churning tenant's traffic fades to nothing over its last days… */
const CHURN_FADE_DAYS = 4;
/** …and stops this long before the end of the history (a silence to alert on). */
const CHURN_SILENT_HOURS = 12;

/** The trend of the tenant at `index` (of the size-ordered list): two grow, one churns. */
export function tenantTrend(index: number): TenantTrend {
  if (index === 2 || index === 6) return 'growing';
  if (index === 4) return 'churning';
  return 'steady';
}

/**
 * A tenant's weight multiplier at `timeMs` for a history that ends at `endMs` (the demo's
 * start). Growing tenants compound daily up to the end; a churning tenant fades out and is
 * silent for the last {@link CHURN_SILENT_HOURS} hours and from then on.
 */
export function trendFactor(trend: TenantTrend, timeMs: number, endMs: number): number {
  const daysBeforeEnd = (endMs - timeMs) / DAY_MS;
  if (trend === 'growing') return Math.pow(GROWTH_PER_DAY, -Math.max(0, daysBeforeEnd));
  if (trend === 'churning') {
    const silentFrom = CHURN_SILENT_HOURS / 24;
    if (daysBeforeEnd <= silentFrom) return 0;
    return Math.min(1, (daysBeforeEnd - silentFrom) / CHURN_FADE_DAYS);
  }
  return 1;
}

/** Events to send in [fromMs, fromMs + spanMs) at `peakPerSecond`, carrying the fraction. */
export class ShapedRate {
  private carry = 0;
  constructor(private readonly peakPerSecond: number) {}

  /** Whole events due in the span; the fractional remainder moves to the next call. */
  due(fromMs: number, spanMs: number): number {
    this.carry += this.peakPerSecond * trafficShape(fromMs + spanMs / 2) * (spanMs / 1000);
    const n = Math.floor(this.carry);
    this.carry -= n;
    return n;
  }
}

/** The events a shaped history of `days` days at `peakPerSecond` holds (for progress bars). */
export function historyEvents(peakPerSecond: number, days: number, endMs: number, stepMs = 60_000): number {
  const rate = new ShapedRate(peakPerSecond);
  let total = 0;
  for (let t = endMs - days * DAY_MS; t < endMs; t += stepMs) total += rate.due(t, stepMs);
  return total;
}
