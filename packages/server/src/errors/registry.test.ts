import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ERROR_CODES } from './registry.ts';
import { renderErrorDoc } from './doc.ts';

describe('error registry', () => {
  const doc = readFileSync(join(import.meta.dirname, '../../../../docs/errors.md'), 'utf8');

  it.each(Object.entries(ERROR_CODES))('%s is documented with its status', (code, { status }) => {
    expect(doc).toMatch(new RegExp(`\\| \`${code}\` \\| ${status} \\|`));
  });

  it('docs/errors.md is generated from the registry (run `npm run docs:errors`)', () => {
    expect(doc).toBe(renderErrorDoc());
  });
});
