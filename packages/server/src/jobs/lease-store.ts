/**
 * Leases with fencing tokens: at most one holder per name at a time, and every grant gets a
 * token larger than all earlier ones for that name. A holder that lost its lease (expired
 * while it was paused) can be told apart from the current one by its older token.
 * Implementations: memory (embedded: the one process) and Redis (distributed); both run
 * `lease-contract.ts`.
 */
export interface LeaseStore {
  /** Takes the lease for `ttlMs` if nobody holds it; returns the fencing token, or null. */
  acquire(name: string, holder: string, ttlMs: number): Promise<number | null>;
  /** Extends the lease if `holder` still holds it under `token`. */
  renew(name: string, holder: string, token: number, ttlMs: number): Promise<boolean>;
  /** True if `token` is still the current, unexpired grant of `name`. */
  isCurrent(name: string, token: number): Promise<boolean>;
  /** Gives the lease up if `holder` holds it under `token`. */
  release(name: string, holder: string, token: number): Promise<void>;
}
