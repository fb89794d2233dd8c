import { describe, expect, it } from 'vitest';
import { isLoopback, resolveOptions } from './options.ts';

describe('resolveOptions: gzip', () => {
  it('compresses by default, except to a loopback endpoint, and obeys an explicit choice', () => {
    const gzipOf = (endpoint: string, gzip?: boolean) => resolveOptions({ endpoint, apiKey: 'k', ...(gzip === undefined ? {} : { gzip }) }).gzip;
    expect(gzipOf('https://tally.example.com')).toEqual({ minBytes: 4096, level: 1 });
    expect(gzipOf('http://127.0.0.1:8787')).toBeUndefined();
    expect(gzipOf('http://127.0.0.1:8787', true)).toEqual({ minBytes: 4096, level: 1 });
    expect(gzipOf('https://tally.example.com', false)).toBeUndefined();
  });

  it('knows loopback hosts', () => {
    for (const h of ['localhost', 'LOCALHOST', 'api.localhost', '127.0.0.1', '127.1.2.3', '[::1]', '::1']) expect(isLoopback(h), h).toBe(true);
    for (const h of ['10.0.0.1', 'tally.example.com', '128.0.0.1', 'localhost.example.com', '[::2]']) expect(isLoopback(h), h).toBe(false);
  });
});
