import { SingleBar, Presets } from 'cli-progress';
import type { Command } from 'commander';
import { sendDemo } from '../demo/send.ts';
import { CliError, resolveClient } from './client.ts';

/** `tally demo`: realistic traffic into a running server. */
export function demoCommand(program: Command): void {
  program
    .command('demo')
    .description('send realistic demo traffic (tenants, routes, errors, features, LLM tokens) to a running server')
    .option('--url <url>', 'server URL (default: $TALLY_URL or http://127.0.0.1:8787)')
    .option('--key <key>', 'ingest or admin key (default: $TALLY_KEY or .tally/admin.key)')
    .option('-n, --events <n>', 'volume mode: send this many events, spread over recent history')
    .option('--history-hours <h>', 'volume mode: how far back the events go', '24')
    .option('-r, --rate <n>', 'live mode: events per second at the current time')
    .option('-d, --duration <s>', 'live mode: stop after this many seconds (default: until Ctrl-C)')
    .option('-t, --tenants <n>', 'number of tenants', '25')
    .option('--batch <n>', 'events per request', '500')
    .option('--concurrency <n>', 'requests in flight', '4')
    .option('--seed <n>', 'PRNG seed', '42')
    .option('--journeys <weeks>', 'volume mode: also send product journeys (signup → project → invite → upgrade, returning users) over this many weeks (the server must accept events that old: ingest.backfillDays)')
    .action(async (o: { url?: string; key?: string; events?: string; historyHours: string; rate?: string; duration?: string; tenants: string; batch: string; concurrency: string; seed: string; journeys?: string }) => {
      const c = resolveClient(o);
      const num = (v: string, name: string) => {
        const n = Number(v);
        if (!Number.isFinite(n) || n <= 0) throw new CliError(`--${name} must be a positive number, got "${v}"`);
        return n;
      };
      const common = { url: c.url, key: c.key, tenants: num(o.tenants, 'tenants'), batchSize: num(o.batch, 'batch'), concurrency: num(o.concurrency, 'concurrency'), seed: num(o.seed, 'seed') };
      const started = Date.now();
      let totals;
      if (o.events !== undefined || o.rate === undefined) {
        const events = num(o.events ?? '10000', 'events');
        const bar = new SingleBar({ format: 'demo |{bar}| {percentage}% {value}/{total} events  {rate} ev/s  accepted {accepted} dup {duplicates} rejected {rejected}' }, Presets.shades_classic);
        bar.start(events, 0, { rate: 0, accepted: 0, duplicates: 0, rejected: 0 });
        totals = await sendDemo({ ...common, events, historyHours: num(o.historyHours, 'history-hours'), ...(o.journeys !== undefined ? { journeyWeeks: num(o.journeys, 'journeys') } : {}), onProgress: (t) => {
          const done = t.accepted + t.duplicates + t.rejected;
          if (done > bar.getTotal()) bar.setTotal(done); // journeys come on top of --events
          bar.update(done, { rate: Math.round(done / ((Date.now() - started) / 1000)), accepted: t.accepted, duplicates: t.duplicates, rejected: t.rejected });
        } });
        bar.stop();
      } else {
        const abort = new AbortController();
        process.once('SIGINT', () => abort.abort());
        if (o.duration) setTimeout(() => abort.abort(), num(o.duration, 'duration') * 1000).unref();
        const timer = setInterval(() => process.stderr.write('.'), 5000);
        totals = await sendDemo({ ...common, rate: num(o.rate, 'rate'), signal: abort.signal });
        clearInterval(timer);
      }
      const secs = (Date.now() - started) / 1000;
      process.stdout.write(`\nsent ${totals.sent} events in ${secs.toFixed(1)} s: accepted ${totals.accepted}, duplicates ${totals.duplicates}, rejected ${totals.rejected}, retries ${totals.retries}\n`);
    });
}
