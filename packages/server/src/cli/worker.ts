import type { Command } from 'commander';
import type { EventRecord } from '../events/event.ts';
import { loadConfig } from '../config/load.ts';
import { MeterService } from '../meters/meter-service.ts';
import { MeterRegistry } from '../meters/registry.ts';
import { openDistributed } from '../pipeline/distributed.ts';
import { PartitionLease } from '../pipeline/lease.ts';
import { PipelineWorker, type WorkerEvent } from '../pipeline/worker.ts';
import { systemClock } from '../shared/time.ts';
import { deriveRollups } from '../usage/derive-rollups.ts';
import { CliError } from './client.ts';
import { configPath } from './serve.ts';

/** The partitions a worker owns: an explicit list, or every `of`-th one starting at `index`. */
export function assignedPartitions(total: number, o: { partitions?: string; index?: string; of?: string }): number[] {
  if (o.partitions) {
    const list = o.partitions.split(',').map((p) => Number(p.trim()));
    if (list.some((p) => !Number.isInteger(p) || p < 0 || p >= total)) throw new CliError(`--partitions: each must be an integer in 0…${total - 1}`);
    return [...new Set(list)];
  }
  const of = Number(o.of ?? 1);
  const index = Number(o.index ?? 0);
  if (!Number.isInteger(of) || of < 1 || !Number.isInteger(index) || index < 0 || index >= of) throw new CliError('--index must be in 0…(--of − 1)');
  return Array.from({ length: total }, (_, p) => p).filter((p) => p % of === index);
}

/** `tally worker`: a pipeline worker of the distributed profile (JetStream → ClickHouse + Redis). */
export function workerCommand(program: Command): void {
  program
    .command('worker')
    .description('run a pipeline worker (distributed profile): consume JetStream partitions into ClickHouse rollups and Redis live counters')
    .option('-c, --config <file>', 'YAML config (default: $TALLY_CONFIG or ./tally.config.yaml)')
    .option('--partitions <list>', 'own exactly these partitions, e.g. 0,1,2')
    .option('--index <i>', 'with --of: own partitions p where p mod of = i', '0')
    .option('--of <n>', 'number of workers sharing the partitions', '1')
    .option('--quiet', 'log only errors')
    .action(async (o: { config?: string; partitions?: string; index: string; of: string; quiet?: boolean }) => {
      const config = loadConfig(configPath(o.config));
      if (config.profile !== 'distributed') throw new CliError('`tally worker` needs `profile: distributed` in the config (or TALLY_PROFILE=distributed)');
      const partitions = assignedPartitions(config.distributed.partitions, o);
      const registry = new MeterRegistry();
      const derive = (events: readonly EventRecord[]) => deriveRollups(events, (t) => registry.forType(t));
      const b = await openDistributed(config, derive, () => systemClock.nowMicros(), `tally-worker-${partitions.join('-')}`, (t) => registry.forType(t));
      const log = (e: object) => process.stderr.write(`${JSON.stringify({ time: new Date().toISOString(), ...e })}\n`);
      await b.exclusive('meters', async () => {
        const meters = new MeterService(b.clickhouse, registry);
        await meters.load();
        for (const def of config.meters) await meters.create(def);
      });
      const worker = new PipelineWorker({
        store: b.clickhouse,
        log: b.log,
        counters: b.counters,
        lease: new PartitionLease(b.redis, `${config.distributed.redisPrefix}:${config.distributed.stream}`, partitions),
        derive,
        batchSize: config.distributed.workerBatch,
        onEvent: (e: WorkerEvent) => {
          if (e.kind === 'committed' && o.quiet) return;
          if (e.kind === 'committed' && e.events < 1000) return;
          log(e);
        },
        onFatal: (err) => {
          log({ kind: 'fatal', error: err.message });
          process.exit(1);
        },
      });
      const abort = new AbortController();
      const stop = async (signal: string) => {
        log({ kind: 'stopping', signal });
        abort.abort();
        await worker.stop();
        await b.close();
        process.exit(0);
      };
      process.once('SIGTERM', () => void stop('SIGTERM'));
      process.once('SIGINT', () => void stop('SIGINT'));
      log({ kind: 'waiting for leases', partitions });
      await worker.start(abort.signal);
      log({ kind: 'started', partitions, stream: config.distributed.stream, database: config.distributed.clickhouseDatabase });
    });
}
