/**
 * The one registry of error codes Tally answers with: code → HTTP status and the text that
 * documents it. `docs/errors.md` is generated from this table and a test checks every code
 * is documented there.
 */
export const ERROR_CODES = {
  VALIDATION_FAILED: { status: 400, doc: 'The request or one of its events does not match the schema; `details` lists every problem with its path.' },
  MALFORMED_JSON: { status: 400, doc: 'The body is not valid JSON (or not valid gzip when `Content-Encoding: gzip` is sent).' },
  INVALID_TIME: { status: 400, doc: 'An event `time` is not RFC 3339, is more than 5 minutes in the future, or is older than the backfill horizon.' },
  INVALID_METER_VALUE: { status: 400, doc: "An event matches a meter whose `valueProperty` is missing from the event's data or is not a decimal number." },
  VALUE_OUT_OF_RANGE: { status: 400, doc: 'A quantity has more than 12 fractional digits or an absolute value of 10^20 or more (sums are exact 128-bit integers); Tally never rounds silently.' },
  INVALID_IDENTIFIER: { status: 400, doc: 'An identifier (event `id`, tenant `subject`, `type`, `source`, `actor`, key name, tenant or id) is empty, too long, not well-formed Unicode (a lone UTF-16 surrogate) or holds a control character; or a dimension value holds NUL or a lone surrogate. Such strings are refused, never repaired: see docs/identifiers.md.' },
  RESERVED_NAMESPACE: { status: 400, doc: 'Event types starting with `tally.` and sources starting with `tally/` are written only by Tally itself (quota warnings, consumption records); API keys cannot send them.' },
  INVALID_TIME_ZONE: { status: 400, doc: '`windowTimeZone` is not an IANA time zone name (e.g. `Europe/Berlin`).' },
  INVALID_RANGE: { status: 400, doc: '`from` is not before `to`, or the range holds too many windows for the chosen `windowSize`.' },
  RETENTION_EXCEEDED: { status: 422, doc: 'The question needs data of a tier (raw events, minute/hour/day rollups, unique-value facts) that retention has already deleted for part of the range; `details` names the tier, its retention in days and the earliest time it still holds. Ask from that time on, or with a coarser `windowSize` (docs/privacy.md). Tally never answers with a partial number.' },
  MALFORMED_REQUEST: { status: 400, doc: 'The HTTP request itself is malformed (bad request line, invalid URL encoding, invalid header); answered by the server before any route.' },
  UNAUTHENTICATED: { status: 401, doc: 'No `Authorization: Bearer <key>` header, or the key is unknown, revoked or expired (portal tokens expire).' },
  KEY_EXPIRED: { status: 401, doc: 'The API key had an expiry (`expiresAt`) and it has passed; create a new key. `GET /v1/keys` shows every key\'s expiry and last use.' },
  FORBIDDEN: { status: 403, doc: "The key lacks the scope this endpoint needs, it is bound to another tenant, or it may not query this meter (a portal token's allowed meters)." },
  NOT_FOUND: { status: 404, doc: 'No such route, meter or key.' },
  METHOD_NOT_ALLOWED: { status: 405, doc: 'The route exists but not for this HTTP method.' },
  CONFLICT: { status: 409, doc: 'A meter with this slug already exists with a different definition (on the OpenMeter API: a live meter with this slug exists at all); meters are never rewritten in place — create a new slug, or on the OpenMeter API delete the meter first (its data is kept).' },
  GRANT_CONFLICT: { status: 409, doc: 'A grant with this `id` already exists for the tenant with different content (grants are immutable; a retry of the same request answers the stored grant). Void it and add a new one with another id.' },
  INGEST_RATE_LIMITED: { status: 429, doc: "The tenant's plan rate-limits `POST /v1/events` (`plans[].ingestRateLimits`, per tenant or per API key) and this request exceeded it; nothing in it was stored. Retry after `Retry-After`: the SDK keeps the refused events buffered and re-sends them (docs/quotas.md)." },
  ALREADY_CORRECTED: { status: 409, doc: 'The event already has a correction (a void or an amend); corrections are immutable and one event has at most one. `details.correction` shows it; to change a replacement, correct the replacement event.' },
  UNSUPPORTED_PARAMETER: { status: 400, doc: 'A parameter of a compatibility API that Tally does not map (OpenMeter `filterCustomerId`, `advancedMeterGroupByFilters`, `groupBy=customer_id`); docs/openmeter.md lists what is mapped.' },
  PAYLOAD_TOO_LARGE: { status: 413, doc: 'The body is larger than the byte limit or holds more events than the per-request limit.' },
  UNSUPPORTED_MEDIA_TYPE: { status: 415, doc: 'The `Content-Type` is not JSON, CloudEvents JSON or CloudEvents batch JSON.' },
  NOT_ACCEPTABLE: { status: 406, doc: 'The `Accept` header asks for a format this endpoint cannot produce (JSON or CSV).' },
  EXPECTATION_FAILED: { status: 417, doc: 'The request has an `Expect` header other than `100-continue`, which Tally does not support; send the request without it.' },
  URI_TOO_LONG: { status: 414, doc: 'A path parameter is longer than the router accepts (2,048 characters).' },
  HEADERS_TOO_LARGE: { status: 431, doc: 'The request line and headers exceed the server\'s header size limit (16 KiB by default, Node\'s `--max-http-header-size`).' },
  REQUEST_TIMEOUT: { status: 408, doc: 'The client sent the headers or the body too slowly and the server closed the request (header and request timeouts, see README "Limits").' },
  RATE_LIMITED: { status: 429, doc: 'Too many requests; retry after the `Retry-After` header.' },
  QUOTA_EXCEEDED: { status: 429, doc: 'A hard quota (plan entitlement) would be exceeded by this consumption; nothing was recorded. `details.violated` names each entitlement with its usage, limit and `resetAt`; `Retry-After` is the time until the earliest reset.' },
  QUOTA_UNAVAILABLE: { status: 503, doc: "The shared quota counters (Redis) could not answer and the entitlement's failure policy (`closed`, or `open-then-closed` past `quotas.failOpenSeconds`) denied; nothing was recorded. `details.decidedBy` names the policy and the cause. Retry after `Retry-After`." },
  INSUFFICIENT_HISTORY: { status: 422, doc: 'A forecast needs more history than the meter has for this tenant (at least a season and two days of hourly usage: 9 days for the weekly season, 3 for the daily one); `details` says how much there is.' },
  UNSUPPORTED_PROFILE: { status: 501, doc: 'The capability is not built for the configured deployment profile yet (erasure runs in the embedded profile; docs/privacy.md says what the distributed profile lacks).' },
  INTERNAL: { status: 500, doc: 'An unexpected error; the `requestId` finds it in the logs.' },
  STORE_UNAVAILABLE: { status: 503, doc: 'The store cannot take the request now (starting, shutting down or failing); retry after `Retry-After`. Nothing in the request was acknowledged.' },
  OVERLOADED: { status: 503, doc: 'The server is at its limit of ingest requests or request-body bytes in flight (`server.maxInflightIngest`, `server.maxInflightBytes`, see docs/overload.md). The request was refused whole, before its body was processed: nothing in it was acknowledged. Retry after `Retry-After` (the SDK does).' },
} as const satisfies Record<string, { status: number; doc: string }>;

/** A code from the registry. */
export type ErrorCode = keyof typeof ERROR_CODES;

/** An error that maps to one registry code and an HTTP status. */
export class TallyError extends Error {
  readonly status: number;
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details?: unknown,
  ) {
    super(message);
    this.name = 'TallyError';
    this.status = ERROR_CODES[code].status;
  }
}

/** One problem found while validating input, located by its path. */
export interface Problem {
  path: string;
  message: string;
}
