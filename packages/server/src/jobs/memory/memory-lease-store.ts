import type { LeaseStore } from '../lease-store.ts';

/** Leases in one process (the embedded profile: the one process is the runner). */
export class MemoryLeaseStore implements LeaseStore {
  private readonly leases = new Map<string, { holder: string; token: number; until: number }>();
  private readonly tokens = new Map<string, number>();

  constructor(private readonly nowMs: () => number = Date.now) {}

  async acquire(name: string, holder: string, ttlMs: number): Promise<number | null> {
    const cur = this.leases.get(name);
    if (cur && cur.until > this.nowMs()) return null;
    const token = (this.tokens.get(name) ?? 0) + 1;
    this.tokens.set(name, token);
    this.leases.set(name, { holder, token, until: this.nowMs() + ttlMs });
    return token;
  }

  async renew(name: string, holder: string, token: number, ttlMs: number): Promise<boolean> {
    const cur = this.leases.get(name);
    if (!cur || cur.holder !== holder || cur.token !== token || cur.until <= this.nowMs()) return false;
    cur.until = this.nowMs() + ttlMs;
    return true;
  }

  async isCurrent(name: string, token: number): Promise<boolean> {
    const cur = this.leases.get(name);
    return cur !== undefined && cur.token === token && cur.until > this.nowMs();
  }

  async release(name: string, holder: string, token: number): Promise<void> {
    const cur = this.leases.get(name);
    if (cur && cur.holder === holder && cur.token === token) this.leases.delete(name);
  }
}
