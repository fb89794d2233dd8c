import { randomBytes } from 'node:crypto';
import { serviceAvailable } from '@tally/testkit';
import { Redis } from 'ioredis';
import { afterAll, describe } from 'vitest';
import { RedisLeaseStore } from '../jobs/redis/redis-lease-store.ts';
import { createDatabase, dropDatabase } from '../store/clickhouse/testing.ts';
import { ClickHouseInvoiceRepo } from './clickhouse/clickhouse-invoice-repo.ts';
import { runInvoiceRepoContract } from './invoice-repo-contract.ts';

const CH = 'http://127.0.0.1:8123';
const available = (await serviceAvailable('Redis', '127.0.0.1', 6379)) && (await serviceAvailable('ClickHouse', '127.0.0.1', 8123));
const created: string[] = [];
const redis = available ? new Redis('redis://127.0.0.1:6379') : undefined;

afterAll(async () => {
  for (const db of created) await dropDatabase(CH, db);
  redis?.disconnect();
});

describe.skipIf(!available)('invoices on ClickHouse (writes serialized by a Redis lease)', () => {
  runInvoiceRepoContract('ClickHouse', async () => {
    const database = await createDatabase(CH, 'invoices');
    created.push(database);
    return ClickHouseInvoiceRepo.open({ url: CH, database, leases: new RedisLeaseStore(redis!, `tally-test-inv-${randomBytes(4).toString('hex')}`) });
  });
});
