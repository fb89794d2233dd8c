import type { IngestService } from '../ingest/ingest-service.ts';
import type { Clock } from '../shared/time.ts';
import type { UsageStore } from '../store/port.ts';
import { CorrectionService } from './corrections/correction-service.ts';

/** What the HTTP edge needs from the audit domain. */
export interface AuditHttp {
  corrections: CorrectionService;
}

/** Everything the audit domain needs, already wired by `startTally`. */
export interface AuditDeps {
  store: UsageStore;
  ingest: IngestService;
  clock: Clock;
}

/** Wires the audit domain (corrections; the archive, reconciliation and canaries join here). */
export function openAudit(d: AuditDeps): AuditHttp {
  return { corrections: new CorrectionService(d.store, d.ingest, d.clock) };
}
