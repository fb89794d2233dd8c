import { defineConfig } from 'tsup';

/**
 * Builds what `npm pack` ships: ESM (`.js`) and CommonJS (`.cjs`) for each public entry, with
 * declarations for both (`.d.ts`, `.d.cts`), so `import`, `require` and TypeScript's node16 and
 * bundler resolutions all find code and types. Splitting keeps one copy of the client shared by the
 * entries in each format.
 */
export default defineConfig({
  entry: { index: 'src/index.ts', express: 'src/express.ts', fastify: 'src/fastify.ts', hono: 'src/hono.ts', node: 'src/node.ts' },
  format: ['esm', 'cjs'],
  dts: true,
  splitting: true,
  clean: true,
  target: 'node20',
  platform: 'node',
  outDir: 'dist',
  tsconfig: 'tsconfig.build.json',
});
