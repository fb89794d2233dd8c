/**
 * @tally/sdk — the Tally client: asynchronous, bounded in bytes and count, drops oldest and says
 * so, never throws into the host. Framework middleware lives in the subpath exports
 * `@tally/sdk/express`, `/fastify`, `/hono` and `/node`.
 */
export { createClient } from './client.ts';
export type { TallyClient, JobOptions } from './client.ts';
export type { ClientOptions } from './options.ts';
export type { TrackEvent, DropReason, DropInfo, Receipt, TallyError, ClientStats, FlushResult, ShutdownResult } from './types.ts';
export { uuidv7 } from './uuid.ts';
export { UNMATCHED } from './middleware/record.ts';
export type { RequestTrackingOptions, RequestMeasure } from './middleware/record.ts';
export { startStatsHeartbeat, CLIENT_STATS_TYPE } from './heartbeat.ts';
export type { Heartbeat, HeartbeatOptions } from './heartbeat.ts';
