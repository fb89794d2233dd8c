import { defineConfig } from 'tsup';

/**
 * Builds what `npm pack` ships: ESM (`.js`) and CommonJS (`.cjs`) with declarations for both
 * (`.d.ts`, `.d.cts`), so `import`, `require` and TypeScript's node16 and bundler resolutions all
 * find code and types. `ioredis` stays external: it is the package's one dependency (the entry
 * imports it for `createRedisClient`), so users get a single copy they can also pass in themselves.
 */
export default defineConfig({
  entry: { index: 'src/index.ts' },
  format: ['esm', 'cjs'],
  // `npm start` and `npm run tally` rebuild the limiter before each run (the server runs dist/)
  // and skip the declarations (4 s of the 5), which only the packed package's users read.
  dts: process.env.TALLY_BUILD_DTS !== '0',
  // Overwritten in place rather than emptied first: a server starting meanwhile still finds the
  // entry (one entry, no chunks, so no stale files can pile up).
  clean: false,
  target: 'node20',
  platform: 'node',
  outDir: 'dist',
  tsconfig: 'tsconfig.build.json',
});
