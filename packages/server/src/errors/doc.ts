import { ERROR_CODES } from './registry.ts';

/** Renders docs/errors.md from the registry. */
export function renderErrorDoc(): string {
  const rows = Object.entries(ERROR_CODES).map(([code, { status, doc }]) => `| \`${code}\` | ${status} | ${doc} |`);
  return [
    '# Error codes',
    '',
    'Every error answers with one JSON envelope:',
    '',
    '```json',
    '{ "error": { "code": "VALIDATION_FAILED", "message": "…", "requestId": "req_…", "details": [ { "path": "…", "message": "…" } ] } }',
    '```',
    '',
    'The `requestId` is also sent as the `x-request-id` header and appears in the server log. Per-event',
    'problems in an ingest batch come back as receipts (`status: "rejected"` with one of these codes).',
    '',
    'The OpenMeter-compatible API (`/api/v1/…`, docs/openmeter.md) answers errors as RFC 9457',
    '`application/problem+json` (`type`, `title`, `status`, `detail`, `instance`) carrying this same',
    'envelope as the extension member `error`.',
    '',
    '<!-- generated from packages/server/src/errors/registry.ts by `npm run docs:errors` -->',
    '',
    '| code | HTTP | meaning |',
    '| --- | --- | --- |',
    ...rows,
    '',
  ].join('\n');
}
