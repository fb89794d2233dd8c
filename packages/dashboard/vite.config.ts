import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';

/** Production build: static assets in dist/, served by `tally serve` at `/`. */
export default defineConfig({
  root: import.meta.dirname,
  base: '/',
  plugins: [react()],
  build: { outDir: 'dist', emptyOutDir: true, sourcemap: false, chunkSizeWarningLimit: 600 },
  server: { proxy: { '/v1': 'http://127.0.0.1:8787', '/metrics': 'http://127.0.0.1:8787' } },
});
