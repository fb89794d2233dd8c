import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { configJsonSchema } from '../cli/config.ts';
import { ConfigError, loadConfig } from './load.ts';

const dir = mkdtempSync(join(tmpdir(), 'tally-cfg-'));
const file = (name: string, text: string) => {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
};

describe('config', () => {
  it('loads the example config of the repository', () => {
    const c = loadConfig(join(import.meta.dirname, '../../../../tally.config.yaml'), {});
    expect(c.meters.length).toBeGreaterThan(5);
    expect(c.server.port).toBe(8787);
  });

  it('reports every problem with its path, at once', () => {
    const p = file('bad.yaml', ['server: { port: 99999, colour: blue }', 'meters:', '  - { slug: a, eventType: x, aggregation: SUM }', '  - { slug: a, eventType: x, aggregation: COUNT, groupBy: { r: route } }', 'tenants: [{ id: t, plan: gold }]'].join('\n'));
    let err: unknown;
    try {
      loadConfig(p, { TALLY_BACKFILL_DAYS: 'many' });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    const paths = (err as ConfigError).problems.map((x) => x.path);
    expect(paths).toEqual(expect.arrayContaining(['server.port', 'server', 'meters.0.valueProperty', 'meters.1.groupBy.r', 'meters.1.slug', 'tenants.0.plan', 'TALLY_BACKFILL_DAYS']));
  });

  it('lets TALLY_* variables override the file', () => {
    const p = file('ok.yaml', 'server: { port: 9000 }\nstore: { dataDir: /tmp/x }\n');
    const c = loadConfig(p, { TALLY_PORT: '9100', TALLY_DATA_DIR: '/tmp/y', TALLY_ADMIN_KEY: 'tally_AAAAAAAAAAAA_BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB' });
    expect(c.server.port).toBe(9100);
    expect(c.store.dataDir).toBe('/tmp/y');
    expect(c.security.adminKey).toMatch(/^tally_/);
  });

  it('reports YAML syntax errors with their line', () => {
    expect(() => loadConfig(file('syntax.yaml', 'server:\n  port: [1, 2\n'), {})).toThrow(/line/);
  });

  it('ships a JSON Schema that matches the config schema (run `npm run schema` after changing it)', () => {
    const committed = JSON.parse(readFileSync(join(import.meta.dirname, '../../../../tally.config.schema.json'), 'utf8'));
    expect(committed).toEqual(JSON.parse(JSON.stringify(configJsonSchema())));
  });
});
