import { chainRecords, type AccessEntry, type AccessRecord } from './entry.ts';
import type { AccessLogRepo } from './repo.ts';

/**
 * Appends access records to this writer's chain before the answer leaves: a read is answered
 * only once its entry is stored. Concurrent records are written together (one insert per
 * batch, in arrival order); a failed insert fails the calls of that batch and leaves the
 * chain where it was, so the stored chain never has a gap.
 */
export class AccessRecorder {
  private last: Pick<AccessEntry, 'seq' | 'hash'> | undefined;
  private pending: { record: AccessRecord; done: (err?: Error) => void }[] = [];
  private writing: Promise<void> | undefined;

  private constructor(
    private readonly repo: AccessLogRepo,
    readonly chain: string,
  ) {}

  /** Continues `chain` after its last stored entry. */
  static async open(repo: AccessLogRepo, chain: string): Promise<AccessRecorder> {
    const r = new AccessRecorder(repo, chain);
    r.last = await repo.last(chain);
    return r;
  }

  /** Stores one record; resolves once it is in the log. */
  record(record: AccessRecord): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.pending.push({ record, done: (err) => (err ? reject(err) : resolve()) });
      if (!this.writing) this.writing = this.drain();
    });
  }

  private async drain(): Promise<void> {
    while (this.pending.length > 0) {
      const batch = this.pending;
      this.pending = [];
      const entries = chainRecords(this.chain, this.last, batch.map((b) => b.record));
      try {
        await this.repo.append(entries);
        this.last = entries.at(-1);
        for (const b of batch) b.done();
      } catch (err) {
        for (const b of batch) b.done(err as Error);
      }
    }
    this.writing = undefined;
  }

  /** Waits for the records in flight. */
  async flush(): Promise<void> {
    while (this.writing) await this.writing;
  }
}
