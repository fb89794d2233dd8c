import { TallyError } from '../errors/registry.ts';

const PROPERTY = /^[A-Za-z_][A-Za-z0-9_]{0,63}$/;

/**
 * Property names analytics reads from `data`: top-level keys spelled as identifiers, so every
 * engine reads the same field (and a name is never spliced into SQL unchecked).
 */
export function checkProperty(key: string): void {
  if (!PROPERTY.test(key)) throw new TallyError('VALIDATION_FAILED', `property "${key}" must be a top-level key of letters, digits and _ (at most 64)`);
}

/** The value analytics reads for a property: a non-empty string, else null (the same rule in SQL). */
export function propertyValue(data: Record<string, unknown>, key: string): string | null {
  const v = data[key];
  return typeof v === 'string' && v !== '' ? v : null;
}
