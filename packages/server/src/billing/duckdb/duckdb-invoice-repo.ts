import type { DuckDBConnection } from '@duckdb/node-api';
import { TallyError } from '../../errors/registry.ts';
import { SqlParams } from '../../store/duckdb/sql.ts';
import type { EpochMicros } from '../../shared/time.ts';
import type { Invoice } from '../invoice.ts';
import type { InvoiceFilter, InvoiceRepo } from '../invoice-repo.ts';
import { applicationsOf, type CreditApplication, type CreditGrant } from '../credits.ts';
import { assertReconciled, finalizedDraft } from '../finalize.ts';
import { formatNumber, sequenceOf } from '../numbering.ts';

const DDL = [
  `CREATE TABLE IF NOT EXISTS invoices (
  id VARCHAR PRIMARY KEY, tenant VARCHAR NOT NULL, period_start BIGINT NOT NULL, status VARCHAR NOT NULL,
  credit_note_for VARCHAR, sequence VARCHAR, seq INTEGER, created_us BIGINT NOT NULL, body VARCHAR NOT NULL)`,
  `CREATE TABLE IF NOT EXISTS credit_grants (
  id VARCHAR PRIMARY KEY, tenant VARCHAR NOT NULL, currency VARCHAR NOT NULL, amount VARCHAR NOT NULL, effective_us BIGINT NOT NULL,
  expires_us BIGINT, priority INTEGER NOT NULL, reason VARCHAR NOT NULL, source VARCHAR, created_us BIGINT NOT NULL)`,
];

/**
 * Invoices in the embedded store's DuckDB file: the invoice as JSON plus the columns that
 * select and number it. Writes are serialized (one at a time in this process) and each runs in
 * a transaction, so a number is the largest of its sequence + 1 with nothing in between.
 */
export class DuckDbInvoiceRepo implements InvoiceRepo {
  private chain: Promise<unknown> = Promise.resolve();

  private constructor(private readonly conn: DuckDBConnection) {}

  /** Creates the table if needed, on a connection of its own. */
  static async open(conn: DuckDBConnection): Promise<DuckDbInvoiceRepo> {
    for (const ddl of DDL) await conn.run(ddl);
    return new DuckDbInvoiceRepo(conn);
  }

  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const next = this.chain.then(async () => {
      await this.conn.run('BEGIN TRANSACTION');
      try {
        const r = await fn();
        await this.conn.run('COMMIT');
        return r;
      } catch (err) {
        await this.conn.run('ROLLBACK').catch(() => undefined);
        throw err;
      }
    });
    this.chain = next.catch(() => undefined);
    return next;
  }

  private async select(where: string, params: SqlParams, order = 'period_start, created_us, id'): Promise<Invoice[]> {
    const rows = (await this.conn.runAndReadAll(`SELECT body FROM invoices WHERE ${where} ORDER BY ${order}`, params.values)).getRows();
    return rows.map((r) => JSON.parse(r[0] as string) as Invoice);
  }

  private async write(inv: Invoice, seq: { sequence: string; n: number } | null): Promise<void> {
    await this.conn.run('DELETE FROM invoices WHERE id = $1', [inv.id]);
    await this.conn.run('INSERT INTO invoices VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)', [inv.id, inv.tenant, BigInt(inv.periodStart), inv.status, inv.creditNoteFor, seq?.sequence ?? null, seq?.n ?? null, BigInt(inv.createdAt), JSON.stringify(inv)]);
  }

  saveDraft(inv: Invoice): Promise<Invoice> {
    return this.serial(async () => {
      const p = new SqlParams();
      const [existing] = await this.select(`tenant = ${p.add(inv.tenant)} AND period_start = ${inv.periodStart} AND credit_note_for IS NULL`, p);
      if (existing && existing.status !== 'draft') return existing;
      const draft = { ...inv, id: existing?.id ?? inv.id, createdAt: existing?.createdAt ?? inv.createdAt };
      await this.write(draft, null);
      return draft;
    });
  }

  saveDrafts(invs: readonly Invoice[]): Promise<Invoice[]> {
    return this.serial(async () => {
      if (invs.length === 0) return [];
      const p = new SqlParams();
      const stored = await this.select(`credit_note_for IS NULL AND ${p.in('tenant', [...new Set(invs.map((i) => i.tenant))])} AND period_start IN (${[...new Set(invs.map((i) => i.periodStart))].join(', ')})`, p);
      const byKey = new Map(stored.map((i) => [`${i.tenant}|${i.periodStart}`, i]));
      const out = invs.map((inv) => {
        const existing = byKey.get(`${inv.tenant}|${inv.periodStart}`);
        if (existing && existing.status !== 'draft') return existing;
        return { ...inv, id: existing?.id ?? inv.id, createdAt: existing?.createdAt ?? inv.createdAt };
      });
      const writes = out.filter((i) => i.status === 'draft');
      // Multi-row statements in chunks: one DELETE and one INSERT per 200 drafts, not two per draft.
      for (let k = 0; k < writes.length; k += 200) {
        const chunk = writes.slice(k, k + 200);
        const del = new SqlParams();
        await this.conn.run(`DELETE FROM invoices WHERE ${del.in('id', chunk.map((i) => i.id))}`, del.values);
        const ins = new SqlParams();
        const rows = chunk.map((i) => `(${[ins.add(i.id), ins.add(i.tenant), i.periodStart, ins.add(i.status), 'NULL', 'NULL', 'NULL', i.createdAt, ins.add(JSON.stringify(i))].join(', ')})`);
        await this.conn.run(`INSERT INTO invoices VALUES ${rows.join(', ')}`, ins.values);
      }
      return out;
    });
  }

  async get(id: string): Promise<Invoice | undefined> {
    const p = new SqlParams();
    return (await this.select(`id = ${p.add(id)}`, p))[0];
  }

  async forPeriod(tenant: string, periodStart: EpochMicros): Promise<Invoice | undefined> {
    const p = new SqlParams();
    return (await this.select(`tenant = ${p.add(tenant)} AND period_start = ${periodStart} AND credit_note_for IS NULL`, p))[0];
  }

  list(f: InvoiceFilter): Promise<Invoice[]> {
    const p = new SqlParams();
    const where = ['true'];
    if (f.tenant !== undefined) where.push(`tenant = ${p.add(f.tenant)}`);
    if (f.status !== undefined) where.push(`status = ${p.add(f.status)}`);
    if (f.from !== undefined) where.push(`period_start >= ${f.from}`);
    if (f.to !== undefined) where.push(`period_start < ${f.to}`);
    return this.select(where.join(' AND '), p);
  }

  private async nextNumber(issuer: string, at: EpochMicros): Promise<{ sequence: string; n: number }> {
    const sequence = sequenceOf(issuer, at);
    const [[max]] = (await this.conn.runAndReadAll('SELECT coalesce(max(seq), 0) FROM invoices WHERE sequence = $1', [sequence])).getRows() as [[number]];
    return { sequence, n: Number(max) + 1 };
  }

  finalize(id: string, issuer: string, at: EpochMicros): Promise<Invoice> {
    return this.serial(async () => {
      const p = new SqlParams();
      const [inv] = await this.select(`id = ${p.add(id)}`, p);
      if (!inv) throw new TallyError('NOT_FOUND', `no invoice "${id}"`);
      if (inv.status !== 'draft') return inv;
      assertReconciled(inv);
      const seq = await this.nextNumber(issuer, at);
      const done = finalizedDraft(inv, seq, await this.readCredits(inv.tenant), at);
      await this.write(done, seq);
      return done;
    });
  }

  private async insertGrant(g: CreditGrant): Promise<void> {
    await this.conn.run('INSERT INTO credit_grants VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)', [g.id, g.tenant, g.currency, g.amount, BigInt(g.effectiveAt), g.expiresAt === null ? null : BigInt(g.expiresAt), g.priority, g.reason, g.source, BigInt(g.createdAt)]);
  }

  grantCredit(g: CreditGrant): Promise<void> {
    return this.serial(() => this.insertGrant(g));
  }

  private async readCredits(tenant: string): Promise<{ grants: CreditGrant[]; applications: CreditApplication[] }> {
    const grants = (await this.conn.runAndReadAll('SELECT id, tenant, currency, amount, effective_us, expires_us, priority, reason, source, created_us FROM credit_grants WHERE tenant = $1 ORDER BY created_us, id', [tenant])).getRows().map(
      (r): CreditGrant => ({ id: r[0] as string, tenant: r[1] as string, currency: r[2] as string, amount: r[3] as string, effectiveAt: Number(r[4]), expiresAt: r[5] === null ? null : Number(r[5]), priority: Number(r[6]), reason: r[7] as string, source: r[8] as string | null, createdAt: Number(r[9]) }),
    );
    const p = new SqlParams();
    return { grants, applications: applicationsOf(await this.select(`tenant = ${p.add(tenant)} AND status = 'finalized'`, p)) };
  }

  credits(tenant: string): Promise<{ grants: CreditGrant[]; applications: CreditApplication[] }> {
    return this.readCredits(tenant);
  }

  void(id: string, issuer: string, at: EpochMicros, creditNote: Invoice, asCredit?: CreditGrant): Promise<{ invoice: Invoice; creditNote: Invoice }> {
    return this.serial(async () => {
      const p = new SqlParams();
      const [inv] = await this.select(`id = ${p.add(id)}`, p);
      if (!inv) throw new TallyError('NOT_FOUND', `no invoice "${id}"`);
      if (inv.status !== 'finalized' || inv.creditNoteFor !== null) throw new TallyError('CONFLICT', `only a finalized invoice can be voided (${id} is ${inv.creditNoteFor ? 'a credit note' : inv.status})`);
      const seqRow = (await this.conn.runAndReadAll('SELECT sequence, seq FROM invoices WHERE id = $1', [id])).getRows()[0]!;
      const voided: Invoice = { ...inv, status: 'void', voidedAt: at };
      await this.write(voided, { sequence: seqRow[0] as string, n: Number(seqRow[1]) });
      const seq = await this.nextNumber(issuer, at);
      const note: Invoice = { ...creditNote, status: 'finalized', number: formatNumber(seq.sequence, seq.n), finalizedAt: at, creditNoteFor: id };
      await this.write(note, seq);
      if (asCredit) await this.insertGrant({ ...asCredit, source: note.number });
      return { invoice: voided, creditNote: note };
    });
  }

  async close(): Promise<void> {
    await this.chain.catch(() => undefined);
    this.conn.closeSync();
  }
}
