import type { Command } from 'commander';
import type { CapacityAnswer } from '../capacity/capacity-service.ts';
import type { ForecastAnswer } from '../capacity/forecast-service.ts';
import type { CostReport } from '../costs/cost-service.ts';
import type { MarginReport } from '../costs/margin.ts';
import { api, CliError, resolveClient } from './client.ts';
import { renderTable } from './table.ts';

type Conn = { url?: string; key?: string };
const num = (v: number | null, digits = 1) => (v === null ? null : v.toFixed(digits));
/** Bytes in binary units ("1.5 GiB"), the unit named. */
export function bytes(v: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v.toFixed(i === 0 ? 0 : 1)} ${units[i]}`;
}
const csvLine = (cells: (string | number | null)[]) => cells.map((c) => (c === null ? '' : /[",\n]/.test(String(c)) ? `"${String(c).replace(/"/g, '""')}"` : String(c))).join(',');
const qs = (o: Record<string, string | undefined>) => new URLSearchParams(Object.entries(o).filter((e): e is [string, string] => e[1] !== undefined)).toString();

/** `tally forecast`, `tally capacity` and `tally costs`. */
export function capacityCommands(program: Command): void {
  program
    .command('forecast')
    .description("forecast a meter's usage (per tenant or in total) with intervals and its backtest against the seasonal-naive baseline")
    .argument('<meter>', 'meter slug')
    .option('--tenant <id>', 'one tenant (default: all together)')
    .option('--horizon <h>', 'how far ahead: 48h, 14d', '7d')
    .option('--window <w>', 'hour | day (default: day, hour up to 48h)')
    .option('--threshold <n>', 'when will a window exceed this?')
    .option('--json', 'print the JSON answer')
    .option('--csv', 'print CSV')
    .option('--url <url>', 'server URL')
    .option('--key <key>', 'read or admin key')
    .action(async (meter: string, o: Conn & { tenant?: string; horizon: string; window?: string; threshold?: string; json?: boolean; csv?: boolean }) => {
      if (o.json && o.csv) throw new CliError('choose one of --json and --csv');
      const r = (await api(resolveClient(o), 'GET', `/v1/forecast?${qs({ meter, tenant: o.tenant, horizon: o.horizon, window: o.window, threshold: o.threshold })}`)).json as ForecastAnswer;
      if (o.json) return void process.stdout.write(JSON.stringify(r, null, 2) + '\n');
      const unit = r.unit ? ` (${r.unit})` : '';
      if (o.csv) {
        process.stdout.write(['windowStart,windowEnd,value,lower,upper', ...r.data.map((p) => csvLine([p.windowStart, p.windowEnd, p.value, p.lower, p.upper]))].join('\n') + '\n');
        return;
      }
      process.stdout.write(renderTable(['window start', 'window end', `forecast${unit}`, `lower${unit}`, `upper${unit}`], r.data.map((p) => [p.windowStart, p.windowEnd, num(p.value), num(p.lower), num(p.upper)])) + '\n');
      const b = r.backtest;
      process.stdout.write(`method: ${r.method} — ${r.reason}\n`);
      process.stdout.write(`backtest (${b.origins} origins): ${b.candidate.method} sMAPE ${num(b.candidate.smape)} % MAPE ${num(b.candidate.mape)} % · ${b.baseline.method} sMAPE ${num(b.baseline.smape)} % MAPE ${num(b.baseline.mape)} %\n`);
      process.stdout.write(`interval: ${r.interval.basis}\n`);
      if (r.threshold) process.stdout.write(r.threshold.at ? `exceeds ${r.threshold.value}${unit} per ${r.window}: ${r.threshold.at} (earliest ${r.threshold.earliest ?? '—'}, latest ${r.threshold.latest ?? 'beyond the horizon'})\n` : `does not exceed ${r.threshold.value}${unit} within the horizon (earliest by the interval: ${r.threshold.earliest ?? 'never'})\n`);
      process.stdout.write('approximate: forecasts are estimates\n');
    });

  program
    .command('capacity')
    .description('storage plan per tier from measured bytes per event × forecast events/day × retention (what-if options replace inputs)')
    .option('--events-per-day <n>', 'what-if events per day (default: the forecast)')
    .option('--meter <slug>', 'COUNT meter whose forecast gives events per day')
    .option('--raw-days <n>', 'what-if raw retention (days)')
    .option('--minute-days <n>', 'what-if minute rollup retention')
    .option('--hour-days <n>', 'what-if hour rollup retention')
    .option('--day-days <n>', 'what-if day rollup retention')
    .option('--json', 'print the JSON answer')
    .option('--csv', 'print CSV')
    .option('--url <url>', 'server URL')
    .option('--key <key>', 'read or admin key')
    .action(async (o: Conn & { eventsPerDay?: string; meter?: string; rawDays?: string; minuteDays?: string; hourDays?: string; dayDays?: string; json?: boolean; csv?: boolean }) => {
      if (o.json && o.csv) throw new CliError('choose one of --json and --csv');
      const r = (await api(resolveClient(o), 'GET', `/v1/capacity?${qs({ eventsPerDay: o.eventsPerDay, meter: o.meter, rawDays: o.rawDays, minuteDays: o.minuteDays, hourDays: o.hourDays, dayDays: o.dayDays })}`)).json as CapacityAnswer;
      if (o.json) return void process.stdout.write(JSON.stringify(r, null, 2) + '\n');
      if (o.csv) {
        process.stdout.write(['tier,tables,bytesNow,rowsNow,bytesPerEvent,retentionDays,projectedBytes', ...r.tiers.map((t) => csvLine([t.tier, t.tables.join(' '), t.bytesNow, t.rowsNow, t.bytesPerEvent, t.retentionDays, t.projectedBytes])), csvLine(['total', '', r.total.bytesNow, '', r.total.bytesPerEvent, '', r.total.projectedBytes])].join('\n') + '\n');
        return;
      }
      const rows = r.tiers.map((t) => [t.tier, bytes(t.bytesNow), t.bytesPerEvent.toFixed(1), t.retentionDays === null ? 'as is' : String(t.retentionDays), bytes(t.projectedBytes)]);
      rows.push(['total', bytes(r.total.bytesNow), r.total.bytesPerEvent.toFixed(1), '', bytes(r.total.projectedBytes)]);
      process.stdout.write(renderTable(['tier', 'now', 'bytes/event', 'retention (days)', 'projected'], rows) + '\n');
      process.stdout.write(`${r.storedEvents} events stored · ${r.eventsPerDay} events/day: ${r.eventsPerDayBasis}\nmeasured: ${r.measuredBy}\n`);
    });

  program
    .command('costs')
    .description('shared costs attributed to tenants for a month, or with --margin revenue minus cost per tenant and plan')
    .option('--period <month>', 'a UTC month such as 2026-11 (default: this month)')
    .option('--margin', 'unit economics: revenue (invoices) minus attributed cost')
    .option('--currency <code>', 'with --margin: every tenant in this currency (configured exchange rates)')
    .option('--json', 'print the JSON answer')
    .option('--url <url>', 'server URL')
    .option('--key <key>', 'admin key')
    .action(async (o: Conn & { period?: string; margin?: boolean; currency?: string; json?: boolean }) => {
      const c = resolveClient(o);
      const q = qs({ period: o.period });
      if (o.margin) {
        const r = (await api(c, 'GET', `/v1/costs/margin?${qs({ period: o.period, currency: o.currency })}`)).json as MarginReport;
        if (o.json) return void process.stdout.write(JSON.stringify(r, null, 2) + '\n');
        process.stdout.write(renderTable(['tenant', 'plan', 'currency', 'revenue', 'source', 'cost', 'margin', ''], r.tenants.map((t) => [t.tenant, t.plan, t.currency, t.revenue, t.revenueSource, t.cost, t.margin, t.flagged ? 'COST > REVENUE' : (t.note ?? '')])) + '\n');
        process.stdout.write(`${r.period}: revenue = ${r.revenueBasis}\n`);
        const used = new Map(r.tenants.flatMap((t) => t.conversions).map((x) => [`${x.from}>${x.to}`, x]));
        if (used.size > 0) process.stdout.write(`converted: ${[...used.values()].map((x) => `1 ${x.inverse ? x.to : x.from} = ${x.rate} ${x.inverse ? x.from : x.to} (effective ${x.effective})`).join(' · ')}; ${r.exchangeRateBasis}\n`);
        return;
      }
      const r = (await api(c, 'GET', `/v1/costs?${q}`)).json as CostReport;
      if (o.json) return void process.stdout.write(JSON.stringify(r, null, 2) + '\n');
      const rows = r.costs.flatMap((k) => [...k.parts.map((p) => [k.name, p.tenant, p.basis, p.usage, k.currency, p.amount]), ...(k.unallocated !== '0' && !/^0\.?0*$/.test(k.unallocated) ? [[k.name, '(unallocated)', '', '', k.currency, k.unallocated]] : [])]);
      process.stdout.write(renderTable(['cost', 'tenant', 'basis', 'usage', 'currency', 'amount'], rows) + '\n');
      process.stdout.write(`${r.period}: ${r.costs.map((k) => `${k.name} ${k.total} ${k.currency} by ${k.allocateBy}`).join(' · ')}\n`);
    });
}
