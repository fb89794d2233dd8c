import { randomBytes } from 'node:crypto';
import { createClient } from '@clickhouse/client';

/** A database name unique to this test run (tests never touch others' data). */
export function uniqueDatabase(label: string): string {
  return `tally_test_${label}_${Date.now().toString(36)}_${randomBytes(3).toString('hex')}`;
}

/** Drops a database this test run created. */
export async function dropDatabase(url: string, database: string): Promise<void> {
  const c = createClient({ url });
  try {
    await c.command({ query: `DROP DATABASE IF EXISTS ${database}` });
  } finally {
    await c.close();
  }
}

/** Creates an empty database with a unique name (see `uniqueDatabase`) and returns the name. */
export async function createDatabase(url: string, label: string): Promise<string> {
  const database = uniqueDatabase(label);
  const c = createClient({ url });
  try {
    await c.command({ query: `CREATE DATABASE ${database}` });
  } finally {
    await c.close();
  }
  return database;
}
