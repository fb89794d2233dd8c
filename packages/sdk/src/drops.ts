import type { DropInfo, DropReason } from './types.ts';

const REASONS: DropReason[] = ['buffer_full', 'invalid', 'http_error', 'retry_budget', 'shutdown', 'closed'];

/**
 * Counts drops exactly and reports them to `onDrop` coalesced per reason, from a later tick, so a
 * full buffer costs track() no callback and a callback that calls track() cannot recurse.
 */
export class DropLedger {
  readonly byReason: Record<DropReason, number> = Object.fromEntries(REASONS.map((r) => [r, 0])) as Record<DropReason, number>;
  total = 0;
  private pending = new Map<DropReason, DropInfo>();
  private scheduled = false;

  constructor(private readonly onDrop: ((info: DropInfo) => void) | undefined) {}

  /** Records `count` dropped events (with their ids when they had one). */
  add(reason: DropReason, ids: readonly string[], count = ids.length, message?: string): void {
    this.byReason[reason] += count;
    this.total += count;
    if (!this.onDrop) return;
    let info = this.pending.get(reason);
    if (!info) this.pending.set(reason, (info = { reason, count: 0, ids: [] }));
    info.count += count;
    for (const id of ids) info.ids.push(id);
    if (message !== undefined) info.message = message;
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(() => this.report()).unref();
    }
  }

  /** Delivers pending reports now. */
  report(): void {
    this.scheduled = false;
    const infos = [...this.pending.values()];
    this.pending.clear();
    for (const info of infos) {
      try {
        this.onDrop?.(info);
      } catch {
        // A throwing callback must not break delivery; there is nowhere else to report it.
      }
    }
  }
}
