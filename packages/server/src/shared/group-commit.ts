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
  private readonly freeSlots: number[];
  private exclusiveRunning = false;

  /**
   * `writeBatch` gets the items of one group and the slot (0…slots−1) it runs in: with more
   * than one slot, groups overlap (each slot owns its own connection); exclusive work waits
   * until every slot is idle.
   */
  constructor(
    private readonly writeBatch: (items: readonly I[], slot: number) => Promise<O[]>,
    private readonly opts: { slots?: number; maxItemsPerCommit?: number } = {},
  ) {
    this.freeSlots = Array.from({ length: opts.slots ?? 1 }, (_, i) => i).reverse();
  }

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
    while (!this.exclusiveRunning && this.queue.length > 0) {
      const head = this.queue[0]!;
      const total = this.opts.slots ?? 1;
      if ('run' in head) {
        if (this.freeSlots.length < total) return; // wait for in-flight groups
        this.queue.shift();
        this.exclusiveRunning = true;
        void head.run().finally(() => {
          this.exclusiveRunning = false;
          this.kick();
        });
        return;
      }
      const slot = this.freeSlots.pop();
      if (slot === undefined) return;
      const group: Pending<I, O>[] = [];
      let count = 0;
      const max = this.opts.maxItemsPerCommit ?? 50_000;
      while (this.queue.length > 0) {
        const next = this.queue[0]!;
        if ('run' in next || (group.length > 0 && count + next.items.length > max)) break;
        group.push(next);
        count += next.items.length;
        this.queue.shift();
      }
      void this.runGroup(group, slot);
    }
  }

  private async runGroup(group: Pending<I, O>[], slot: number): Promise<void> {
    try {
      const out = await this.writeBatch(group.flatMap((p) => p.items), slot);
      let at = 0;
      for (const p of group) {
        p.resolve(out.slice(at, at + p.items.length));
        at += p.items.length;
      }
    } catch (err) {
      // One request's bad items must not fail the others it was grouped with: each is
      // written again on its own (a write that failed left nothing behind), in order.
      if (group.length === 1) group[0]!.reject(err);
      else for (const p of group) await this.writeBatch(p.items, slot).then(p.resolve, p.reject);
    } finally {
      this.freeSlots.push(slot);
      this.kick();
    }
  }
}
