import { z } from 'zod';
import { requireMeter } from '../../auth/keys.ts';
import type { ForecastService } from '../../capacity/forecast-service.ts';
import { TallyError } from '../../errors/registry.ts';
import type { Router } from '../route.ts';

/** `48h`, `14d` → hours. */
const horizonSchema = z
  .string()
  .regex(/^[1-9][0-9]{0,3}[hd]$/, 'hours or days, e.g. 48h or 14d')
  .transform((s) => Number(s.slice(0, -1)) * (s.endsWith('d') ? 24 : 1))
  .refine((h) => h <= 24 * 90, 'at most 90 days');

const score = z.object({ method: z.string(), mape: z.number().nullable().describe('%, windows with a non-zero actual'), smape: z.number().nullable().describe('% (0–200)'), windows: z.number() });
const forecastAnswer = z.object({
  meter: z.string(),
  tenant: z.string().nullable(),
  unit: z.string().nullable(),
  aggregation: z.string(),
  approximate: z.literal(true).describe('forecasts are estimates (floating point); billing numbers never are'),
  historyFrom: z.string(),
  historyTo: z.string(),
  window: z.enum(['hour', 'day']),
  method: z.string().describe('what made the forecast: the candidate only where it beat the seasonal-naive baseline in the backtest'),
  reason: z.string(),
  backtest: z.object({ origins: z.number(), seasonHours: z.number(), candidate: score, baseline: score }),
  interval: z.object({ level: z.number(), basis: z.string() }),
  data: z.array(z.object({ windowStart: z.string(), windowEnd: z.string(), value: z.number(), lower: z.number().nullable(), upper: z.number().nullable() })),
  threshold: z.object({ value: z.number(), at: z.string().nullable(), earliest: z.string().nullable(), latest: z.string().nullable(), basis: z.string() }).nullable(),
});

/** Forecasts: `GET /v1/forecast`. */
export function forecastRoutes(router: Router, forecasts: ForecastService): void {
  router.add(
    {
      method: 'GET',
      url: '/v1/forecast',
      summary: "A meter's usage forecast (per tenant or in total) with prediction intervals, its backtest against the seasonal-naive baseline, and when it will exceed a threshold",
      tag: 'capacity',
      scope: 'read',
      query: z.object({
        meter: z.string().min(1),
        tenant: z.string().min(1).optional().describe('one tenant; default: all tenants together'),
        horizon: horizonSchema.optional().describe('how far ahead: 48h, 14d (default 7d, at most 90d)'),
        window: z.enum(['hour', 'day']).optional().describe('forecast windows (default: day; hour for horizons up to 48h)'),
        history: z.coerce.number().int().min(3).max(90).optional().describe('days of history to learn from (default 28)'),
        level: z.coerce.number().min(0.5).max(0.98).optional().describe('interval coverage (default 0.8)'),
        threshold: z.string().regex(/^[0-9]+(\.[0-9]+)?$/, 'a non-negative decimal').optional().describe("when will a window exceed this (the meter's unit per window)?"),
      }),
      responses: { 200: { description: 'The forecast', schema: forecastAnswer } },
    },
    async ({ query, principal }) => {
      requireMeter(principal, query.meter);
      if (principal?.tenant && query.tenant !== principal.tenant) {
        if (query.tenant !== undefined) throw new TallyError('FORBIDDEN', `this key may only read tenant "${principal.tenant}"`);
      }
      const tenant = principal?.tenant ?? query.tenant;
      const horizonHours = query.horizon ?? 24 * 7;
      return forecasts.forecast({
        meter: query.meter,
        ...(tenant ? { tenant } : {}),
        horizonHours,
        window: query.window ?? (horizonHours <= 48 ? 'hour' : 'day'),
        historyDays: query.history ?? 28,
        level: query.level ?? 0.8,
        ...(query.threshold !== undefined ? { threshold: Number(query.threshold) } : {}),
      });
    },
  );
}
