import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { createClient, type ClickHouseClient } from '@clickhouse/client';
import { TallyError } from '../../errors/registry.ts';
import type { LeaseStore } from '../../jobs/lease-store.ts';
import { lit, parseTsv } from '../../store/clickhouse/sql.ts';
import type { EpochMicros } from '../../shared/time.ts';
import type { Invoice } from '../invoice.ts';
import type { InvoiceFilter, InvoiceRepo } from '../invoice-repo.ts';
import { applicationsOf, type CreditApplication, type CreditGrant } from '../credits.ts';
import { assertReconciled, finalizedDraft } from '../finalize.ts';
import { formatNumber, sequenceOf } from '../numbering.ts';

// One row per version of an invoice; FINAL keeps the highest `ver`. Finalized rows are only
// ever followed by their void version: the repo never writes another version of them.
const DDL = [
  `CREATE TABLE IF NOT EXISTS invoices (
  id String, tenant String, period_start Int64, status String, credit_note_for Nullable(String),
  sequence Nullable(String), seq Nullable(UInt32), created_us Int64, body String, ver UInt64
) ENGINE = ReplacingMergeTree(ver) ORDER BY id`,
  // Grants are an insert-only ledger; their applications live on the finalized invoices.
  `CREATE TABLE IF NOT EXISTS credit_grants (
  id String, tenant String, currency String, amount String, effective_us Int64, expires_us Nullable(Int64),
  priority Int32, reason String, source Nullable(String), created_us Int64
) ENGINE = MergeTree ORDER BY (tenant, id)`,
];

/**
 * Invoices in the distributed profile's ClickHouse database. ClickHouse has no transactions, so
 * every write runs under a cluster-wide lease (Redis, `jobs/lease-store.ts`): a number is the
 * largest of its sequence + 1, read and written by one node at a time; a failed write leaves the
 * largest unchanged, so the sequence stays gapless.
 */
export class ClickHouseInvoiceRepo implements InvoiceRepo {
  private constructor(
    private readonly client: ClickHouseClient,
    private readonly leases: LeaseStore,
  ) {}

  /** Connects and creates the table if needed. */
  static async open(opts: { url: string; database: string; leases: LeaseStore }): Promise<ClickHouseInvoiceRepo> {
    const client = createClient({ url: opts.url, database: opts.database, request_timeout: 30_000 });
    for (const query of DDL) await client.command({ query });
    return new ClickHouseInvoiceRepo(client, opts.leases);
  }

  private async locked<T>(fn: () => Promise<T>): Promise<T> {
    const holder = randomUUID();
    let token: number | null = null;
    for (let i = 0; token === null; i++) {
      token = await this.leases.acquire('invoice-writes', holder, 30_000);
      if (token === null) {
        if (i > 600) throw new TallyError('STORE_UNAVAILABLE', 'another node has held the invoice lock for over a minute; retry');
        await sleep(100);
      }
    }
    try {
      return await fn();
    } finally {
      await this.leases.release('invoice-writes', holder, token);
    }
  }

  private async select(where: string, order = 'period_start, created_us, id'): Promise<{ inv: Invoice; sequence: string | null; seq: number | null; ver: number }[]> {
    const text = await (await this.client.query({ query: `SELECT body, sequence, seq, ver FROM invoices FINAL WHERE ${where} ORDER BY ${order}`, format: 'TabSeparated' })).text();
    return parseTsv(text).map((r) => ({ inv: JSON.parse(r[0]!) as Invoice, sequence: r[1] ?? null, seq: r[2] === null ? null : Number(r[2]), ver: Number(r[3]) }));
  }

  private async write(inv: Invoice, seq: { sequence: string; n: number } | null, ver: number): Promise<void> {
    const s = (v: string | null) => (v === null ? 'NULL' : lit(v));
    const values = [lit(inv.id), lit(inv.tenant), inv.periodStart, lit(inv.status), s(inv.creditNoteFor), s(seq?.sequence ?? null), seq === null ? 'NULL' : seq.n, inv.createdAt, lit(JSON.stringify(inv)), ver];
    await this.client.command({ query: `INSERT INTO invoices VALUES (${values.join(', ')})` });
  }

  saveDraft(inv: Invoice): Promise<Invoice> {
    return this.locked(async () => {
      const [existing] = await this.select(`tenant = ${lit(inv.tenant)} AND period_start = ${inv.periodStart} AND credit_note_for IS NULL`);
      if (existing && existing.inv.status !== 'draft') return existing.inv;
      const draft = { ...inv, id: existing?.inv.id ?? inv.id, createdAt: existing?.inv.createdAt ?? inv.createdAt };
      await this.write(draft, null, (existing?.ver ?? 0) + 1);
      return draft;
    });
  }

  saveDrafts(invs: readonly Invoice[]): Promise<Invoice[]> {
    return this.locked(async () => {
      if (invs.length === 0) return [];
      const tenants = [...new Set(invs.map((i) => i.tenant))].map(lit).join(', ');
      const stored = await this.select(`credit_note_for IS NULL AND tenant IN (${tenants}) AND period_start IN (${[...new Set(invs.map((i) => i.periodStart))].join(', ')})`);
      const byKey = new Map(stored.map((r) => [`${r.inv.tenant}|${r.inv.periodStart}`, r]));
      const writes: { inv: Invoice; ver: number }[] = [];
      const out = invs.map((inv) => {
        const existing = byKey.get(`${inv.tenant}|${inv.periodStart}`);
        if (existing && existing.inv.status !== 'draft') return existing.inv;
        const draft = { ...inv, id: existing?.inv.id ?? inv.id, createdAt: existing?.inv.createdAt ?? inv.createdAt };
        writes.push({ inv: draft, ver: (existing?.ver ?? 0) + 1 });
        return draft;
      });
      // One INSERT per 200 drafts (ReplacingMergeTree keeps the highest version of each id).
      for (let k = 0; k < writes.length; k += 200) {
        const rows = writes.slice(k, k + 200).map((w) => `(${[lit(w.inv.id), lit(w.inv.tenant), w.inv.periodStart, lit(w.inv.status), 'NULL', 'NULL', 'NULL', w.inv.createdAt, lit(JSON.stringify(w.inv)), w.ver].join(', ')})`);
        await this.client.command({ query: `INSERT INTO invoices VALUES ${rows.join(', ')}` });
      }
      return out;
    });
  }

  async get(id: string): Promise<Invoice | undefined> {
    return (await this.select(`id = ${lit(id)}`))[0]?.inv;
  }

  async forPeriod(tenant: string, periodStart: EpochMicros): Promise<Invoice | undefined> {
    return (await this.select(`tenant = ${lit(tenant)} AND period_start = ${periodStart} AND credit_note_for IS NULL`))[0]?.inv;
  }

  async list(f: InvoiceFilter): Promise<Invoice[]> {
    const where = ['1'];
    if (f.tenant !== undefined) where.push(`tenant = ${lit(f.tenant)}`);
    if (f.status !== undefined) where.push(`status = ${lit(f.status)}`);
    if (f.from !== undefined) where.push(`period_start >= ${f.from}`);
    if (f.to !== undefined) where.push(`period_start < ${f.to}`);
    return (await this.select(where.join(' AND '))).map((r) => r.inv);
  }

  private async nextNumber(issuer: string, at: EpochMicros): Promise<{ sequence: string; n: number }> {
    const sequence = sequenceOf(issuer, at);
    const rows = parseTsv(await (await this.client.query({ query: `SELECT max(seq) FROM invoices FINAL WHERE sequence = ${lit(sequence)}`, format: 'TabSeparated' })).text());
    return { sequence, n: Number(rows[0]?.[0] ?? 0) + 1 };
  }

  finalize(id: string, issuer: string, at: EpochMicros): Promise<Invoice> {
    return this.locked(async () => {
      const [row] = await this.select(`id = ${lit(id)}`);
      if (!row) throw new TallyError('NOT_FOUND', `no invoice "${id}"`);
      const inv = row.inv;
      if (inv.status !== 'draft') return inv;
      assertReconciled(inv);
      const seq = await this.nextNumber(issuer, at);
      const done = finalizedDraft(inv, seq, await this.credits(inv.tenant), at);
      await this.write(done, seq, row.ver + 1);
      return done;
    });
  }

  private async insertGrant(g: CreditGrant): Promise<void> {
    const s = (v: string | null) => (v === null ? 'NULL' : lit(v));
    await this.client.command({ query: `INSERT INTO credit_grants VALUES (${lit(g.id)}, ${lit(g.tenant)}, ${lit(g.currency)}, ${lit(g.amount)}, ${g.effectiveAt}, ${g.expiresAt ?? 'NULL'}, ${g.priority}, ${lit(g.reason)}, ${s(g.source)}, ${g.createdAt})` });
  }

  grantCredit(g: CreditGrant): Promise<void> {
    return this.locked(() => this.insertGrant(g));
  }

  async credits(tenant: string): Promise<{ grants: CreditGrant[]; applications: CreditApplication[] }> {
    const rows = async (query: string) => parseTsv(await (await this.client.query({ query, format: 'TabSeparated' })).text());
    const grants = (await rows(`SELECT id, tenant, currency, amount, effective_us, expires_us, priority, reason, source, created_us FROM credit_grants WHERE tenant = ${lit(tenant)} ORDER BY created_us, id`)).map(
      (r): CreditGrant => ({ id: r[0]!, tenant: r[1]!, currency: r[2]!, amount: r[3]!, effectiveAt: Number(r[4]), expiresAt: r[5] === null ? null : Number(r[5]), priority: Number(r[6]), reason: r[7]!, source: r[8] ?? null, createdAt: Number(r[9]) }),
    );
    return { grants, applications: applicationsOf((await this.select(`tenant = ${lit(tenant)} AND status = 'finalized'`)).map((x) => x.inv)) };
  }

  void(id: string, issuer: string, at: EpochMicros, creditNote: Invoice, asCredit?: CreditGrant): Promise<{ invoice: Invoice; creditNote: Invoice }> {
    return this.locked(async () => {
      const [row] = await this.select(`id = ${lit(id)}`);
      if (!row) throw new TallyError('NOT_FOUND', `no invoice "${id}"`);
      if (row.inv.status !== 'finalized' || row.inv.creditNoteFor !== null) throw new TallyError('CONFLICT', `only a finalized invoice can be voided (${id} is ${row.inv.creditNoteFor ? 'a credit note' : row.inv.status})`);
      const voided: Invoice = { ...row.inv, status: 'void', voidedAt: at };
      await this.write(voided, { sequence: row.sequence!, n: row.seq! }, row.ver + 1);
      const seq = await this.nextNumber(issuer, at);
      const note: Invoice = { ...creditNote, status: 'finalized', number: formatNumber(seq.sequence, seq.n), finalizedAt: at, creditNoteFor: id };
      await this.write(note, seq, 1);
      if (asCredit) await this.insertGrant({ ...asCredit, source: note.number });
      return { invoice: voided, creditNote: note };
    });
  }

  async close(): Promise<void> {
    await this.client.close();
  }
}
