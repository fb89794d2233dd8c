import { Command, CommanderError } from 'commander';
import { VERSION } from '../app.ts';
import { ConfigError } from '../config/load.ts';
import { TallyError } from '../errors/registry.ts';
import { CliError } from './client.ts';
import { configCommand } from './config.ts';
import { demoCommand } from './demo.ts';
import { keysCommand } from './keys.ts';
import { metersCommand } from './meters.ts';
import { queryCommand } from './query.ts';
import { serveCommand } from './serve.ts';

/** Builds the `tally` command tree. */
export function buildCli(): Command {
  const program = new Command('tally')
    .description('Tally: exact usage metering, quotas and analytics for multi-tenant platforms')
    .version(VERSION)
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride();
  serveCommand(program);
  demoCommand(program);
  queryCommand(program);
  metersCommand(program);
  keysCommand(program);
  configCommand(program);
  return program;
}

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
