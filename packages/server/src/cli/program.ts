import { Command } from 'commander';
import { VERSION } from '../app.ts';
import { analyticsCommand } from './analytics.ts';
import { alertsCommand } from './alerts.ts';
import { archiveCommand } from './archive.ts';
import { reconcileCommand } from './reconcile.ts';
import { configCommand } from './config.ts';
import { demoCommand } from './demo.ts';
import { invoicesCommand } from './invoices.ts';
import { jobsCommand } from './jobs.ts';
import { accessLogCommand } from './access-log.ts';
import { retentionCommand } from './retention.ts';
import { keysCommand } from './keys.ts';
import { erasuresCommand } from './erasures.ts';
import { metersCommand } from './meters.ts';
import { queryCommand } from './query.ts';
import { serveCommand } from './serve.ts';
import { workerCommand } from './worker.ts';
import { capacityCommands } from './capacity.ts';
import { grantsCommand } from './grants.ts';

/** Builds the `tally` command tree. */
export function buildCli(): Command {
  const program = new Command('tally')
    .description('Tally: exact usage metering, quotas and analytics for multi-tenant platforms')
    .version(VERSION)
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride();
  serveCommand(program);
  workerCommand(program);
  demoCommand(program);
  queryCommand(program);
  metersCommand(program);
  keysCommand(program);
  jobsCommand(program);
  accessLogCommand(program);
  retentionCommand(program);
  erasuresCommand(program);
  invoicesCommand(program);
  analyticsCommand(program);
  alertsCommand(program);
  configCommand(program);
  capacityCommands(program);
  archiveCommand(program);
  reconcileCommand(program);
  grantsCommand(program);
  return program;
}
