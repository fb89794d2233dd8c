/** Renders rows as an aligned plain-text table (right-aligns numeric-looking columns). */
export function renderTable(headers: string[], rows: (string | null)[][]): string {
  const cells = rows.map((r) => r.map((c) => c ?? '—'));
  const widths = headers.map((h, i) => Math.max(h.length, ...cells.map((r) => r[i]!.length)));
  const numeric = headers.map((_, i) => cells.length > 0 && cells.every((r) => /^-?[\d.]+$/.test(r[i]!) || r[i] === '—'));
  const line = (r: string[]) => r.map((c, i) => (numeric[i] ? c.padStart(widths[i]!) : c.padEnd(widths[i]!))).join('  ').trimEnd();
  return [line(headers), widths.map((w) => '─'.repeat(w)).join('  '), ...cells.map(line)].join('\n');
}
