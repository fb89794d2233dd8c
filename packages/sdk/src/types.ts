/** One usage event as the application describes it; the client turns it into a CloudEvent. */
export interface TrackEvent {
  /** Event type, e.g. `api.request`, `feature.used`, `job.completed`. */
  type: string;
  /** The billing customer (CloudEvents `subject`). */
  tenant: string;
  /** End user; the server keyed-hashes it at ingest and never stores it raw. */
  actor?: string;
  /** Idempotency key; a UUIDv7 is generated when absent. Re-sending an id never counts twice. */
  id?: string;
  /** When it happened; defaults to now. */
  time?: Date | string | number;
  /** Overrides the client's `source` for this event. */
  source?: string;
  /** JSON-serialisable payload (CloudEvents `data`). */
  properties?: Record<string, unknown>;
}

/** Why the client gave up on events. Every drop is counted and reported through `onDrop`. */
export type DropReason =
  | 'buffer_full' // the queue hit maxQueueEvents or maxQueueBytes: oldest dropped
  | 'invalid' // not a valid event, not JSON-serialisable, or larger than maxEventBytes
  | 'http_error' // a non-retriable answer (401, 403, 413, other 4xx without receipts)
  | 'retry_budget' // still undelivered after retry.budgetMs of failing
  | 'shutdown' // still undelivered when shutdown() timed out and no spool keeps it
  | 'closed'; // tracked after shutdown()

/** Passed to `onDrop`; drops are coalesced and reported outside the caller's stack. */
export interface DropInfo {
  reason: DropReason;
  count: number;
  /** The ids of the dropped events (empty for events that never got an id, e.g. invalid input). */
  ids: string[];
  /** For `invalid` and `http_error`: what was wrong (the last one, when coalesced). */
  message?: string;
}

/** A receipt from the server for one event, in request order. */
export type Receipt =
  | { id: string; status: 'accepted' }
  | { id: string; status: 'duplicate'; conflict: boolean }
  | { id: string; status: 'rejected'; code: string; message: string };

/** Passed to `onError`. `retriable` says whether the client will try the events again. */
export interface TallyError {
  kind: 'network' | 'http' | 'rejected' | 'conflict' | 'bad_response' | 'spool';
  message: string;
  retriable: boolean;
  /** HTTP status, when the server answered. */
  status?: number;
  /** Error code from the server's envelope (e.g. `RATE_LIMITED`) or the network error code. */
  code?: string;
  /** Receipts of rejected or conflicting events. */
  receipts?: Receipt[];
}

/** Exact counters; every tracked event is in exactly one of the first six at any time. */
export interface ClientStats {
  /** Waiting in memory (and in the spool, if any), not in a request right now. */
  queued: number;
  /** In requests awaiting an answer. */
  inFlight: number;
  /** Accepted by the server for the first time. */
  acknowledged: number;
  /** The server already had them (an earlier attempt or a replay got through). */
  duplicates: number;
  /** Refused by the server as invalid (see `onError` for the codes). */
  rejected: number;
  /** Given up by the client; see `droppedBy` for the reasons. */
  dropped: number;
  /** Events accepted by track() in this process (invalid input counts as dropped, not tracked). */
  tracked: number;
  /** Events re-loaded from the spool at start. */
  replayed: number;
  /** Event transmissions, every attempt counted. */
  sent: number;
  /** HTTP requests made. */
  requests: number;
  /** Requests that failed retriably; their events went back to the queue for another attempt. */
  retries: number;
  /** Duplicates whose payload differed from the stored event (same id reused for another event). */
  conflicts: number;
  /** Dropped events by reason. */
  droppedBy: Record<DropReason, number>;
}

/** What a flush achieved between its call and its end. */
export interface FlushResult {
  /** True when nothing was left queued or in flight. */
  drained: boolean;
  /** Events acknowledged (or found duplicate) during the flush. */
  delivered: number;
  /** Events rejected or dropped during the flush. */
  lost: number;
  /** Events still queued or in flight when it ended. */
  pending: number;
}

/** The client's lifetime outcome, returned by shutdown(). */
export interface ShutdownResult {
  /** Acknowledged plus duplicates over the client's lifetime. */
  delivered: number;
  /** Rejected plus dropped over the client's lifetime (including events abandoned at shutdown). */
  lost: number;
  /** Events kept in the spool file for the next start (0 without a spool). */
  spooled: number;
  stats: ClientStats;
}
