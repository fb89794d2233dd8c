/** Exact arithmetic on the API's decimal strings (values are never summed as floats). */

interface Scaled {
  n: bigint;
  scale: number;
}

function parse(s: string): Scaled {
  const m = /^(-?)(\d*)(?:\.(\d*))?$/.exec(s.trim());
  if (!m) throw new Error(`not a decimal: "${s}"`);
  const frac = m[3] ?? '';
  const n = BigInt(`${m[2] || '0'}${frac}`);
  return { n: m[1] ? -n : n, scale: frac.length };
}

function format({ n, scale }: Scaled): string {
  const neg = n < 0n;
  let digits = (neg ? -n : n).toString().padStart(scale + 1, '0');
  if (scale > 0) {
    digits = `${digits.slice(0, -scale)}.${digits.slice(-scale)}`.replace(/0+$/, '').replace(/\.$/, '');
  }
  return (neg && digits !== '0' ? '-' : '') + digits;
}

/** Exact sum of decimal strings; nulls are skipped. */
export function sumDecimals(values: Iterable<string | null>): string {
  let acc: Scaled = { n: 0n, scale: 0 };
  for (const v of values) {
    if (v === null) continue;
    const x = parse(v);
    const scale = Math.max(acc.scale, x.scale);
    acc = { n: acc.n * 10n ** BigInt(scale - acc.scale) + x.n * 10n ** BigInt(scale - x.scale), scale };
  }
  return format(acc);
}

/** Groups thousands of an exact decimal string for display, keeping every digit. */
export function groupDigits(v: string): string {
  const [int = '', frac] = v.split('.');
  const sign = int.startsWith('-') ? '-' : '';
  const body = (sign ? int.slice(1) : int).replace(/\B(?=(\d{3})+(?!\d))/g, ',');
  return sign + body + (frac !== undefined ? `.${frac}` : '');
}

/**
 * Rounds an exact decimal string to `digits` fractional digits for display (half away from
 * zero), keeping trailing zeros so columns line up ("12.50"). The exact value stays in the data.
 */
export function roundDecimal(v: string, digits: number): string {
  const x = parse(v);
  if (x.scale <= digits) return pad({ n: x.n * 10n ** BigInt(digits - x.scale), scale: digits });
  const drop = 10n ** BigInt(x.scale - digits);
  const neg = x.n < 0n;
  const abs = neg ? -x.n : x.n;
  let q = abs / drop;
  if ((abs % drop) * 2n >= drop) q += 1n;
  return pad({ n: neg ? -q : q, scale: digits });
}

function pad({ n, scale }: Scaled): string {
  const neg = n < 0n;
  const digits = (neg ? -n : n).toString().padStart(scale + 1, '0');
  const body = scale > 0 ? `${digits.slice(0, -scale)}.${digits.slice(-scale)}` : digits;
  return (neg && /[1-9]/.test(body) ? '-' : '') + body;
}
