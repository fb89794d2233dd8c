import { defaultServerConditions } from 'vite';
import { defineConfig } from 'vitest/config';

// In the repository, @tally/limiter and @tally/sdk resolve to their TypeScript sources through the
// "@tally/source" export condition (as `tsc` does through customConditions in tsconfig.base.json),
// so tests never run a stale dist/. Installed packages do not set it and get the built files.
const SOURCE = '@tally/source';

export default defineConfig({
  ssr: { resolve: { conditions: [SOURCE, ...defaultServerConditions] } },
  test: {
    include: ['packages/*/src/**/*.test.ts', 'packages/*/test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
    // Processes the tests start (`node --import tsx packages/server/src/cli/main.ts …`) inherit it.
    env: { NODE_OPTIONS: [process.env.NODE_OPTIONS, `--conditions=${SOURCE}`].filter(Boolean).join(' ') },
  },
});
