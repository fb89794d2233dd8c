import type { AuditHttp } from '../../audit/setup.ts';
import type { Router } from '../route.ts';
import { correctionRoutes } from './corrections.ts';

/** The audit domain's routes: corrections (more as reconciliation lands). */
export function auditRoutes(router: Router, audit: AuditHttp): void {
  correctionRoutes(router, audit.corrections);
}
