// Copies the dashboard's production build into this package (packages/server/dashboard) so the
// packed @tally/server serves it on its own; in the repository the server reads
// packages/dashboard/dist directly. Run by `npm run build` after the TypeScript build.
import { cpSync, existsSync, rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const from = fileURLToPath(new URL('../../dashboard/dist/', import.meta.url));
const to = fileURLToPath(new URL('../dashboard/', import.meta.url));
if (!existsSync(`${from}index.html`)) {
  process.stderr.write('@tally/server: the dashboard is not built (npm run build -w @tally/dashboard); the packed server will say how to build it\n');
} else {
  rmSync(to, { recursive: true, force: true });
  cpSync(from, to, { recursive: true });
}
