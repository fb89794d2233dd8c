import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { TallyConfig } from '../../config/schema.ts';
import type { DuckDbStore } from '../../store/duckdb/duckdb-store.ts';
import { ClickHouseAccessLogRepo } from './clickhouse-repo.ts';
import { DuckDbAccessLogRepo } from './duckdb-repo.ts';
import { AccessRecorder } from './recorder.ts';
import type { AccessLogRepo } from './repo.ts';

/** The access log of a running server. */
export interface AccessLog {
  repo: AccessLogRepo;
  recorder: AccessRecorder;
  close(): Promise<void>;
}

/**
 * Opens the access log of the profile. The embedded server writes one chain ("embedded") that
 * continues across restarts; each distributed API node start writes a chain of its own (its
 * host and a random suffix), since nodes append concurrently and a chain has one writer.
 */
export async function openAccessLog(config: TallyConfig, embedded: DuckDbStore | undefined): Promise<AccessLog> {
  const repo: AccessLogRepo = embedded ? await DuckDbAccessLogRepo.open(await embedded.connect()) : await ClickHouseAccessLogRepo.open({ url: config.distributed.clickhouseUrl, database: config.distributed.clickhouseDatabase });
  const chain = embedded ? 'embedded' : `api-${hostname()}-${randomBytes(4).toString('hex')}`;
  const recorder = await AccessRecorder.open(repo, chain);
  return {
    repo,
    recorder,
    close: async () => {
      await recorder.flush();
      await repo.close();
    },
  };
}
