import { readManifest } from '../archive/manifest.ts';
import type { ArchiveSource } from '../archive/source.ts';
import { verifyArchive } from '../archive/verify.ts';
import { compare, type ReconcileRule, type RuleResult } from './rule.ts';

const NAME = 'archive.manifest-vs-raw';

/**
 * `archive.manifest-vs-raw`: the day's archive partition verifies (every file present, its
 * SHA-256, rows and time range as the manifest says) and its manifest counts as many events and
 * corrections as the raw table holds for that ingest day now. A day not archived yet is not
 * checked (nothing to compare); a partition directory without a manifest is a discrepancy.
 */
export function archiveRule(source: ArchiveSource, root: string): ReconcileRule {
  return {
    name: NAME,
    description: 'per archived UTC ingest day: files match the manifest (SHA-256, rows, time range) and the manifest counts equal the raw table',
    async check(s) {
      const results: RuleResult[] = [];
      const [check] = await verifyArchive(root, { fromDate: s.day, toDate: s.day });
      if (!check) return results;
      for (const p of check.problems) results.push({ rule: NAME, scope: { day: s.day, file: p.file, problem: p.problem }, status: 'discrepancy', expected: String(p.expected ?? ''), actual: String(p.actual ?? ''), difference: typeof p.expected === 'number' && typeof p.actual === 'number' ? String(p.actual - p.expected) : p.problem, unit: 'rows' });
      const m = readManifest(root, s.day);
      if (!m) return results;
      const raw = await source.countIngested(m.ingestedFromUs, m.ingestedToUs);
      for (const f of m.files) results.push(compare(NAME, { day: s.day, file: f.file }, BigInt(raw[f.kind]), BigInt(f.rows), 'rows'));
      return results;
    },
  };
}
