import type { Command } from 'commander';
import { z } from 'zod';
import { ConfigError, loadConfig } from '../config/load.ts';
import { MeterRegistry } from '../meters/registry.ts';
import { PlanCatalog } from '../quota/catalog.ts';
import { configSchema } from '../config/schema.ts';
import { configPath } from './serve.ts';

/** The JSON Schema of `tally.config.yaml` (for editors' autocompletion). */
export function configJsonSchema(): unknown {
  return { $id: 'https://tally.dev/schemas/tally.config.json', title: 'Tally configuration', ...(z.toJSONSchema(configSchema, { io: 'input', unrepresentable: 'any' }) as object) };
}

/** `tally config check|schema`. */
export function configCommand(program: Command): void {
  const c = program.command('config').description('validate the config file or print its JSON Schema');
  c.command('check')
    .description('validate a config file (every problem is reported with its path)')
    .argument('[file]', 'YAML file (default: $TALLY_CONFIG or ./tally.config.yaml)')
    .action((file?: string) => {
      const p = configPath(file);
      const cfg = loadConfig(p);
      // The checks `serve` runs after the schema: plans against the meters (config ones only:
      // meters created through the API live in the store, which this command does not open).
      const { problems } = PlanCatalog.compile(cfg, new MeterRegistry(cfg.meters));
      if (problems.length > 0) throw new ConfigError(p ?? '(defaults)', problems);
      process.stdout.write(`${p ?? '(defaults)'} is valid: ${cfg.meters.length} meters, ${cfg.tenants.length} tenants, ${cfg.plans.length} plans\n`);
    });
  c.command('schema')
    .description('print the JSON Schema of the config file')
    .action(() => {
      process.stdout.write(JSON.stringify(configJsonSchema(), null, 2) + '\n');
    });
}
