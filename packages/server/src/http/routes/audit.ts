import type { AuditHttp } from '../../audit/setup.ts';
import type { Router } from '../route.ts';
import { correctionRoutes } from './corrections.ts';
import { reconciliationRoutes } from './reconciliation.ts';

/** The audit domain's routes: corrections and reconciliation. */
export function auditRoutes(router: Router, audit: AuditHttp): void {
  correctionRoutes(router, audit.corrections);
  reconciliationRoutes(router, audit);
}
