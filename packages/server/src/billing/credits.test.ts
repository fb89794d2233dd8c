import { describe, expect, it } from 'vitest';
import { applicationsOf, applyCredits, type CreditGrant } from './credits.ts';
import { draft } from './invoice-repo-contract.ts';

const DAY = 86_400_000_000;
const AT = 100 * DAY;
const grant = (id: string, amount: string, over: Partial<CreditGrant> = {}): CreditGrant => ({ id, tenant: 't', currency: 'USD', amount, effectiveAt: 0, expiresAt: null, priority: 0, reason: 'test', source: null, createdAt: 0, ...over });

describe('billing: credits', () => {
  it('spends soonest-expiring first, then by priority, skips other currencies, future and expired grants', () => {
    const grants = [
      grant('never', '100.00'),
      grant('soon', '10.00', { expiresAt: AT + DAY }),
      grant('later-p1', '5.00', { expiresAt: AT + 2 * DAY, priority: 1 }),
      grant('later-p0', '3.00', { expiresAt: AT + 2 * DAY, priority: 0 }),
      grant('eur', '1000.00', { currency: 'EUR' }),
      grant('future', '1000.00', { effectiveAt: AT + 1 }),
      grant('expired', '1000.00', { expiresAt: AT }),
    ];
    const r = applyCredits({ ...draft('t', 1), subtotal: '20.50', total: '20.50' }, grants, [], AT);
    expect(r.invoice.creditsApplied).toEqual([
      { grant: 'soon', amount: '10.00' },
      { grant: 'later-p0', amount: '3.00' },
      { grant: 'later-p1', amount: '5.00' },
      { grant: 'never', amount: '2.50' },
    ]);
    expect([r.invoice.credits, r.invoice.total]).toEqual(['20.50', '0.00']);
  });

  it('counts what finalized invoices already spent; a void invoice gives its credit back', () => {
    const grants = [grant('g', '30.00')];
    const spent = { ...draft('t', 1), status: 'finalized' as const, finalizedAt: 5, creditsApplied: [{ grant: 'g', amount: '25.00' }] };
    const voided = { ...draft('t', 2), status: 'void' as const, creditsApplied: [{ grant: 'g', amount: '5.00' }] };
    const r = applyCredits({ ...draft('t', 3), subtotal: '49.00', total: '49.00' }, grants, applicationsOf([spent, voided]), AT);
    expect([r.invoice.credits, r.invoice.total]).toEqual(['5.00', '44.00']);
    const yen = applyCredits({ ...draft('t', 4), currency: 'JPY', subtotal: '1200', total: '1200' }, [grant('y', '500', { currency: 'JPY' })], [], AT);
    expect([yen.invoice.credits, yen.invoice.total]).toEqual(['500', '700']);
  });
});
