import { randomBytes } from 'node:crypto';
import type { ActorHasher } from '../../events/actor-hash.ts';
import { IDENTIFIER_LIMITS, isIdentifier } from '../../events/identifiers.ts';
import { TallyError } from '../../errors/registry.ts';
import type { JobDefinition } from '../../jobs/job.ts';
import type { JobRunner } from '../../jobs/runner.ts';
import type { Clock } from '../../shared/time.ts';
import { eraseFromArchive } from './archive-rewrite.ts';
import { ERASURE_JOB, type ErasureRecord, type ErasureRepo, type ErasureTarget } from './erasure.ts';

/** What the erasure service works with. */
export interface ErasureDeps {
  repo: ErasureRepo;
  target: ErasureTarget;
  hasher: ActorHasher;
  archiveDir: string;
  clock: Clock;
}

/**
 * End-user erasure (issue #18): a request records the actor's hashes (current and previous
 * secrets) and hands the work to the job runner (job `erasure`, range = the erasure id), so it
 * survives a crash (a start re-runs pending erasures) and runs on one node at a time.
 */
export class ErasureService {
  private runner: JobRunner | undefined;
  private readonly running = new Set<Promise<unknown>>();
  private closing = false;

  constructor(private readonly d: ErasureDeps) {}

  /** The job definition to register with the runner. */
  job(): JobDefinition {
    return { name: ERASURE_JOB, description: 'erase one end user (range: the erasure id): raw events, unique facts, archive', run: (ctx) => this.carryOut(ctx.range, ctx.now, ctx.assertHeld) };
  }

  /** Call once the runner exists: re-runs the erasures a crash or a failure left pending. */
  async attach(runner: JobRunner): Promise<void> {
    this.runner = runner;
    for (const id of await this.d.repo.listPending()) this.start(id);
  }

  /** Records an erasure of `actor` (the raw id, never stored) and starts its job. */
  async request(actor: string, requestedBy: string): Promise<ErasureRecord> {
    if (!isIdentifier(actor, IDENTIFIER_LIMITS.actor)) throw new TallyError('INVALID_IDENTIFIER', `actor must be 1–${IDENTIFIER_LIMITS.actor} characters of well-formed text without control characters`, [{ path: 'body.actor', message: 'not an identifier' }]);
    const r: ErasureRecord = { id: `era_${randomBytes(10).toString('hex')}`, requestedBy, requestedAt: this.d.clock.nowMicros(), status: 'pending', hashes: this.d.hasher.hashAll(actor), completedAt: null, rows: null, error: null };
    await this.d.repo.insert(r);
    this.start(r.id);
    return { ...r, hashes: [] };
  }

  /** An erasure as recorded (its hashes are never shown). */
  async get(id: string): Promise<ErasureRecord> {
    const r = await this.d.repo.get(id);
    if (!r) throw new TallyError('NOT_FOUND', `no erasure ${id}`);
    return { ...r, hashes: [] };
  }

  private start(id: string): void {
    const runner = this.runner;
    if (!runner) return;
    // One erasure at a time per cluster (the job's lease): a busy answer waits its turn.
    const runOnce = async (): Promise<Awaited<ReturnType<JobRunner['run']>>> => {
      for (;;) {
        const o = await runner.run(ERASURE_JOB, id);
        if (o.ran || o.reason !== 'busy' || this.closing) return o;
        await new Promise((res) => setTimeout(res, 100));
      }
    };
    const p = runOnce()
      .then(async (o) => {
        if (o.ran && o.run.status === 'failed') {
          const r = await this.d.repo.get(id);
          if (r && r.status !== 'done') await this.d.repo.update({ ...r, status: 'failed', error: o.run.error });
        }
      })
      .catch(() => undefined);
    this.running.add(p);
    void p.finally(() => this.running.delete(p));
  }

  private async carryOut(id: string, now: number, assertHeld: () => Promise<void>): Promise<Record<string, unknown>> {
    const r = await this.d.repo.get(id);
    if (!r) throw new Error(`no erasure ${id}`);
    if (r.status === 'done') return { ...r.rows };
    let rows = r.rows;
    // Rows set with no hashes left: a crash came after the rows were erased, before the scrub.
    if (rows === null || r.hashes.length > 0) {
      const stored = await this.d.target.erase(r.hashes);
      const archived = await eraseFromArchive(this.d.archiveDir, r.hashes, r.id, now, assertHeld);
      await assertHeld();
      rows = { events: (rows?.events ?? 0) + stored.events, uniqueFacts: (rows?.uniqueFacts ?? 0) + stored.uniqueFacts, archiveRows: (rows?.archiveRows ?? 0) + archived.rows, archivePartitions: (rows?.archivePartitions ?? 0) + archived.partitions };
      // The hashes are cleared before the scrub, so the scrub removes their old bytes too.
      await this.d.repo.update({ ...r, hashes: [], rows });
    }
    const scrub = await this.d.target.scrub();
    await assertHeld();
    await this.d.repo.update({ ...r, status: 'done', hashes: [], completedAt: this.d.clock.nowMicros(), rows, error: null });
    return { ...rows, scrub };
  }

  /** Waits for the erasures this node started. */
  async close(): Promise<void> {
    this.closing = true;
    await Promise.all([...this.running]);
    await this.d.target.close();
    await this.d.repo.close();
  }
}
