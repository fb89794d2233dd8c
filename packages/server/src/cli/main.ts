import { CommanderError } from 'commander';
import { ConfigError } from '../config/load.ts';
import { TallyError } from '../errors/registry.ts';
import { CliError } from './client.ts';
import { buildCli } from './program.ts';

/** Runs the CLI; known failures print one clear message and exit non-zero. */
export async function main(argv: string[]): Promise<void> {
  try {
    await buildCli().parseAsync(argv);
  } catch (err) {
    if (err instanceof CommanderError) process.exit(err.exitCode);
    if (err instanceof CliError || err instanceof ConfigError || err instanceof TallyError) {
      process.stderr.write(`tally: ${err.message}\n`);
      process.exit(2);
    }
    // A busy or forbidden port is a setup problem, said in one line (not a stack trace).
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EADDRINUSE' || code === 'EACCES' || code === 'EADDRNOTAVAIL') {
      const e = err as NodeJS.ErrnoException & { address?: string; port?: number };
      const where = e.address !== undefined ? `${e.address}:${e.port}` : 'the address';
      const why = code === 'EADDRINUSE' ? 'the port is already in use (another Tally or another program?)' : code === 'EACCES' ? 'this user may not listen there (ports below 1024 need privileges)' : 'that is not an address of this machine';
      process.stderr.write(`tally: cannot listen on ${where}: ${why}; choose another with --port, --host or TALLY_PORT\n`);
      process.exit(2);
    }
    process.stderr.write(`tally: ${(err as Error).stack ?? String(err)}\n`);
    process.exit(1);
  }
}

await main(process.argv);
