import { useState } from 'react';
import type { Meter } from '../api.ts';
import { Card } from '../components/States.tsx';
import { formatPercent, formatValue } from '../format.ts';
import type { Ranked } from '../series.ts';

/** Tenants whose id contains the search text (case-insensitive), in ranking order. */
export function searchTenants(items: readonly Ranked[], text: string): Ranked[] {
  const q = text.trim().toLowerCase();
  return q ? items.filter((t) => t.key.toLowerCase().includes(q)) : [...items];
}

/** Every tenant with usage in the last 30 days, largest first, with a search box. */
export function TenantList({ tenants, meter }: { tenants: Ranked[]; meter: Meter }) {
  const [text, setText] = useState('');
  const shown = searchTenants(tenants, text);
  return (
    <div className="stack" data-testid="tenant-list">
      <Card
        title="Tenants"
        subtitle={`${tenants.length} tenants with usage in the last 30 days, by ${meter.slug}; open one for its quotas, upcoming invoice and every meter`}
        right={<input className="search" type="search" placeholder="Search tenants…" value={text} onChange={(e) => setText(e.target.value)} data-testid="tenant-search" aria-label="Search tenants" autoFocus />}
      >
        {shown.length === 0 ? (
          <p className="muted" data-testid="tenant-search-empty">No tenant id contains “{text}”.</p>
        ) : (
          <div className="table-wrap tall">
            <table data-testid="tenant-table">
              <thead>
                <tr>
                  <th>Tenant</th>
                  <th className="num">{meter.slug}, last 30 days</th>
                  <th className="num">share</th>
                </tr>
              </thead>
              <tbody>
                {shown.map((t) => (
                  <tr key={t.key} data-tenant={t.key}>
                    <td>
                      <a href={`#/tenants/${encodeURIComponent(t.key)}`}>{t.key}</a>
                    </td>
                    <td className="num" data-value={t.value}>{formatValue(t.value, meter)}</td>
                    <td className="num">{formatPercent(t.share)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
      </Card>
    </div>
  );
}
