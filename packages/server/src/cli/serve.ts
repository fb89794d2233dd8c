import { existsSync, writeFileSync } from 'node:fs';
import type { Command } from 'commander';
import { startTally, VERSION } from '../app.ts';
import { loadConfig } from '../config/load.ts';
import { sendDemo } from '../demo/send.ts';
import { historyEvents } from '../demo/shape.ts';

/** The config file a command uses: --config, TALLY_CONFIG, or ./tally.config.yaml when present. */
export function configPath(flag: string | undefined): string | undefined {
  const p = flag ?? process.env.TALLY_CONFIG;
  if (p) return p;
  return existsSync('tally.config.yaml') ? 'tally.config.yaml' : undefined;
}

/** The demo's weekday-peak rate (events/s); history is seeded at the same shaped rate. */
const DEMO_PEAK_RATE = 3;

/** `tally serve`: the embedded server, optionally with live demo traffic. */
export function serveCommand(program: Command): void {
  program
    .command('serve')
    .description('run the Tally server (embedded profile: one process on a DuckDB file)')
    .option('-c, --config <file>', 'YAML config (default: $TALLY_CONFIG or ./tally.config.yaml)')
    .option('-p, --port <port>', 'listen port (overrides config and TALLY_PORT)')
    .option('--host <host>', 'listen address')
    .option('--data-dir <dir>', 'where tally.duckdb and admin.key live')
    .option('--demo [rate]', `also send live demo traffic (events/s at the weekday peak, default ${DEMO_PEAK_RATE}); seeds history into an empty store`)
    .option('--demo-tenants <n>', 'tenants in the demo traffic', '25')
    .option('--demo-days <n>', 'days of demo history seeded into an empty store (0: none)', '14')
    .action(async (o: { config?: string; port?: string; host?: string; dataDir?: string; demo?: string | boolean; demoTenants: string; demoDays: string }) => {
      const env = { ...process.env };
      if (o.port) env.TALLY_PORT = o.port;
      if (o.host) env.TALLY_HOST = o.host;
      if (o.dataDir) env.TALLY_DATA_DIR = o.dataDir;
      const config = loadConfig(configPath(o.config), env);
      const t = await startTally(config);
      const key = t.adminToken;
      const out = process.stdout;
      const where =
        config.profile === 'distributed'
          ? `distributed profile: JetStream ${config.distributed.natsUrl}, ClickHouse ${config.distributed.clickhouseUrl}, Redis ${config.distributed.redisUrl}`
          : `embedded profile, DuckDB at ${t.dataDir}/tally.duckdb`;
      out.write(`\nTally ${VERSION} — ${where}\n`);
      out.write(`  Dashboard  ${t.url}/   (paste the admin key once)\n`);
      out.write(`  API        ${t.url}   (OpenAPI: ${t.url}/openapi.json, metrics: ${t.url}/metrics)\n`);
      if (key) out.write(`  Admin key  ${key}${t.createdDevKey ? '   (new; kept in ' + t.dataDir + '/admin.key)' : ''}\n`);
      else out.write('  Admin key  (not printed: keys exist and no dev key file; use TALLY_ADMIN_KEY or `tally keys create`)\n');
      const meter = config.meters[0]?.slug;
      if (key && meter) out.write(`  Try        curl -H "Authorization: Bearer ${key}" "${t.url}/v1/meters/${meter}/query?groupBy=tenant"\n`);
      out.write('\n');

      const abort = new AbortController();
      let demo: Promise<unknown> | undefined;
      if (o.demo !== undefined && o.demo !== false && key) {
        const rate = o.demo === true ? DEMO_PEAK_RATE : Number(o.demo);
        const tenants = Number(o.demoTenants);
        const days = Number(o.demoDays);
        const endMs = Date.now();
        const shaped = { endMs };
        demo = (async () => {
          const empty = (await t.store.countEvents()) === 0n;
          const live = sendDemo({ url: t.url, key, tenants, rate, shaped, concurrency: 1, signal: abort.signal, seed: Date.now() % 1e9 });
          out.write(`  Demo       sending live traffic shaped like a working week: ${rate} events/s at the weekday peak (14:00 UTC), quieter nights and weekends (Ctrl-C stops)\n`);
          if (empty && days > 0) {
            const total = historyEvents(rate, days, endMs);
            out.write(`  Demo       seeding ${days} days of history at the same rate (${total.toLocaleString('en-US')} events, newest first)…\n`);
            let shown = 0;
            const seeded = await sendDemo({ url: t.url, key, tenants, rate, shaped: { ...shaped, historyDays: days }, journeyWeeks: Math.ceil(days / 7), batchSize: 2000, concurrency: 2, signal: abort.signal, seed: 7, onProgress: (p) => {
              const pct = Math.floor(((p.accepted + p.duplicates + p.rejected) / Math.max(1, total)) * 4) * 25;
              if (pct > shown && pct < 100) out.write(`  Demo       history ${(shown = pct)} %\n`);
            } });
            out.write(`  Demo       seeded ${seeded.accepted.toLocaleString('en-US')} events of history\n`);
          }
          await live;
        })().catch((err: Error) => {
          if (!abort.signal.aborted) process.stderr.write(`demo traffic stopped: ${err.message}\n`);
        });
      }
      const stop = async (signal: string) => {
        process.stderr.write(`\n${signal}: finishing in-flight requests and closing the store…\n`);
        abort.abort();
        await demo;
        await t.close();
        // Benchmarks read the whole process's CPU time, including the deferred rollup work done at close.
        if (process.env.TALLY_CPU_REPORT) writeFileSync(process.env.TALLY_CPU_REPORT, JSON.stringify(process.cpuUsage()));
        process.exit(0);
      };
      process.once('SIGTERM', () => void stop('SIGTERM'));
      process.once('SIGINT', () => void stop('SIGINT'));
    });
}
