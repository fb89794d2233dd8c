interface Pending<I, O> {
  items: readonly I[];
  resolve: (out: O[]) => void;
  reject: (err: unknown) => void;
}

/**
 * Serialises writes and merges the requests that queue up while one write runs into the next
 * write ("group commit"): many concurrent HTTP batches share one transaction, which is where
 * an embedded store's throughput comes from. `exclusive` runs other work (e.g. a meter
 * backfill) with the same serialisation.
 */
export class GroupCommitQueue<I, O> {
  private queue: (Pending<I, O> | { run: () => Promise<void> })[] = [];
  private running = false;

  constructor(
    private readonly writeBatch: (items: readonly I[]) => Promise<O[]>,
    private readonly maxItemsPerCommit = 50_000,
  ) {}

  /** Queues items; resolves with one output per item, in order, once they are committed. */
  submit(items: readonly I[]): Promise<O[]> {
    return new Promise<O[]>((resolve, reject) => {
      this.queue.push({ items, resolve, reject });
      this.kick();
    });
  }

  /** Runs `fn` alone, after everything queued before it and before anything queued after. */
  exclusive<T>(fn: () => Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.queue.push({ run: () => fn().then(resolve, reject) });
      this.kick();
    });
  }

  /** Resolves once everything queued so far has been processed. */
  drain(): Promise<void> {
    return this.exclusive(async () => undefined);
  }

  private kick(): void {
    if (this.running) return;
    this.running = true;
    void this.loop();
  }

  private async loop(): Promise<void> {
    while (this.queue.length > 0) {
      const head = this.queue[0]!;
      if ('run' in head) {
        this.queue.shift();
        await head.run();
        continue;
      }
      const group: Pending<I, O>[] = [];
      let count = 0;
      while (this.queue.length > 0) {
        const next = this.queue[0]!;
        if ('run' in next || (group.length > 0 && count + next.items.length > this.maxItemsPerCommit)) break;
        group.push(next);
        count += next.items.length;
        this.queue.shift();
      }
      const all = group.flatMap((p) => p.items);
      try {
        const out = await this.writeBatch(all);
        let at = 0;
        for (const p of group) {
          p.resolve(out.slice(at, at + p.items.length));
          at += p.items.length;
        }
      } catch (err) {
        for (const p of group) p.reject(err);
      }
    }
    this.running = false;
  }
}
