/** A safe integer as SQL text; anything else is a bug upstream, refused rather than spliced. */
export function int(n: number): string {
  if (!Number.isSafeInteger(n)) throw new Error(`not a safe integer: ${n}`);
  return String(n);
}
