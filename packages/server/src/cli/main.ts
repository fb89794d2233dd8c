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
    process.stderr.write(`tally: ${(err as Error).stack ?? String(err)}\n`);
    process.exit(1);
  }
}

await main(process.argv);
