import { readFileSync } from 'node:fs';
import { parseDocument } from 'yaml';
import type { Problem } from '../errors/registry.ts';
import { configSchema, type TallyConfig } from './schema.ts';

/** Thrown when the config is invalid; lists every problem with its path. */
export class ConfigError extends Error {
  constructor(
    readonly file: string,
    readonly problems: Problem[],
  ) {
    super(`invalid config ${file}:\n${problems.map((p) => `  - ${p.path || '(root)'}: ${p.message}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

/** Environment variables that override config fields (documented in the README). */
const ENV_OVERRIDES: { env: string; path: string[]; type: 'string' | 'int' }[] = [
  { env: 'TALLY_HOST', path: ['server', 'host'], type: 'string' },
  { env: 'TALLY_PORT', path: ['server', 'port'], type: 'int' },
  { env: 'TALLY_LOG_LEVEL', path: ['server', 'logLevel'], type: 'string' },
  { env: 'TALLY_DATA_DIR', path: ['store', 'dataDir'], type: 'string' },
  { env: 'TALLY_BACKFILL_DAYS', path: ['ingest', 'backfillDays'], type: 'int' },
  { env: 'TALLY_ACTOR_SECRET', path: ['security', 'actorHashSecret'], type: 'string' },
  { env: 'TALLY_ADMIN_KEY', path: ['security', 'adminKey'], type: 'string' },
  { env: 'TALLY_METRICS_TOKEN', path: ['server', 'metricsToken'], type: 'string' },
  { env: 'TALLY_PROFILE', path: ['profile'], type: 'string' },
  { env: 'TALLY_NATS_URL', path: ['distributed', 'natsUrl'], type: 'string' },
  { env: 'TALLY_STREAM', path: ['distributed', 'stream'], type: 'string' },
  { env: 'TALLY_SUBJECT_PREFIX', path: ['distributed', 'subjectPrefix'], type: 'string' },
  { env: 'TALLY_PARTITIONS', path: ['distributed', 'partitions'], type: 'int' },
  { env: 'TALLY_CLICKHOUSE_URL', path: ['distributed', 'clickhouseUrl'], type: 'string' },
  { env: 'TALLY_CLICKHOUSE_DATABASE', path: ['distributed', 'clickhouseDatabase'], type: 'string' },
  { env: 'TALLY_REDIS_URL', path: ['distributed', 'redisUrl'], type: 'string' },
  { env: 'TALLY_REDIS_PREFIX', path: ['distributed', 'redisPrefix'], type: 'string' },
];

function setPath(obj: Record<string, unknown>, path: string[], value: unknown): void {
  let cur = obj;
  for (const p of path.slice(0, -1)) {
    if (cur[p] === undefined || cur[p] === null || typeof cur[p] !== 'object') cur[p] = {};
    cur = cur[p] as Record<string, unknown>;
  }
  cur[path[path.length - 1]!] = value;
}

/**
 * Reads, overrides (TALLY_* env vars) and validates a config once at start. A missing file
 * is allowed only when `file` is undefined (all defaults). Every problem is reported.
 */
export function loadConfig(file: string | undefined, env: NodeJS.ProcessEnv = process.env): TallyConfig {
  const name = file ?? '(defaults)';
  let raw: Record<string, unknown> = {};
  if (file !== undefined) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (err) {
      throw new ConfigError(name, [{ path: '', message: `cannot read: ${(err as Error).message}` }]);
    }
    const doc = parseDocument(text);
    if (doc.errors.length > 0) throw new ConfigError(name, doc.errors.map((e) => ({ path: `line ${e.linePos?.[0].line ?? '?'}`, message: e.message.split('\n')[0]! })));
    const js: unknown = doc.toJS();
    if (js !== null && js !== undefined) {
      if (typeof js !== 'object' || Array.isArray(js)) throw new ConfigError(name, [{ path: '', message: 'must be a mapping' }]);
      raw = js as Record<string, unknown>;
    }
  }
  const problems: Problem[] = [];
  for (const o of ENV_OVERRIDES) {
    const v = env[o.env];
    if (v === undefined || v === '') continue;
    if (o.type === 'int') {
      if (!/^\d+$/.test(v)) problems.push({ path: o.env, message: `must be an integer, got "${v}"` });
      else setPath(raw, o.path, Number(v));
    } else setPath(raw, o.path, v);
  }
  const parsed = configSchema.safeParse(raw);
  if (!parsed.success) problems.push(...parsed.error.issues.map((i) => ({ path: i.path.join('.'), message: i.message })));
  if (problems.length > 0 || !parsed.success) throw new ConfigError(name, problems);
  return parsed.data;
}
