import { createReadStream, existsSync } from 'node:fs';
import { basename } from 'node:path';
import { createInterface } from 'node:readline';
import type { Command } from 'commander';
import { ACCESS_LOG_FORMATS, summariseAccessLog, type AccessLogFormat } from '../audit/reconcile/access-log.ts';
import type { RuleSummary } from '../audit/reconcile/rule.ts';
import { api, CliError, resolveClient } from './client.ts';
import { renderTable } from './table.ts';

async function readLines(file: string): Promise<string[]> {
  const lines: string[] = [];
  for await (const line of createInterface({ input: createReadStream(file), crlfDelay: Infinity })) lines.push(line);
  return lines;
}

/** Prints a run's rules and their discrepancies; exit code 1 when any. */
function report(out: { run: string; day: string; discrepancies: number; rules: RuleSummary[] }): void {
  process.stdout.write(renderTable(['rule', 'status', 'checked', 'discrepancies'], out.rules.map((r) => [r.rule, r.status, String(r.checked), String(r.discrepancies)])) + '\n');
  const bad = out.rules.flatMap((r) => r.results);
  if (bad.length > 0) process.stdout.write('\n' + renderTable(['rule', 'scope', 'expected', 'actual', 'difference', 'unit'], bad.map((b) => [b.rule, Object.entries(b.scope).map(([k, v]) => `${k}=${v}`).join(' '), b.expected, b.actual, b.difference, b.unit])) + '\n');
  for (const r of out.rules.filter((x) => x.error)) process.stdout.write(`${r.rule}: error: ${r.error}\n`);
  process.stdout.write(`\nrun ${out.run} over ${out.day}: ${out.discrepancies} discrepancies\n`);
}

/** `tally reconcile`: run the reconciliation rules now (through the server), or compare an access log. */
export function reconcileCommand(program: Command): void {
  program
    .command('reconcile')
    .description('run the reconciliation rules now over a UTC day, or compare an access log with the api.request events of its window; exit 1 on any discrepancy')
    .option('--day <YYYY-MM-DD>', 'the UTC day (default: yesterday)')
    .option('--rule <name...>', 'only these rules')
    .option('--access-log <file>', 'an access log to compare (nginx "combined" or JSON lines)')
    .option('--format <format>', `access-log format: ${ACCESS_LOG_FORMATS.join(' | ')}`, 'combined')
    .option('--tenant <tenant>', "access log: compare with this tenant's events only")
    .option('--url <url>', 'server URL')
    .option('--key <key>', 'admin key')
    .option('--json', 'print JSON')
    .action(async (o: { day?: string; rule?: string[]; accessLog?: string; format: string; tenant?: string; url?: string; key?: string; json?: boolean }) => {
      const c = resolveClient(o);
      const body: Record<string, unknown> = {};
      if (o.day) body.day = o.day;
      if (o.rule) body.rules = o.rule;
      if (o.accessLog) {
        if (!(ACCESS_LOG_FORMATS as readonly string[]).includes(o.format)) throw new CliError(`--format must be one of ${ACCESS_LOG_FORMATS.join(', ')}, got "${o.format}"`);
        if (!existsSync(o.accessLog)) throw new CliError(`no such file: ${o.accessLog}`);
        const summary = summariseAccessLog(basename(o.accessLog), o.format as AccessLogFormat, await readLines(o.accessLog));
        if (summary.lines === summary.unreadable) throw new CliError(`${o.accessLog}: none of its ${summary.lines} lines is a ${o.format} access-log line`);
        body.accessLog = summary;
        if (o.tenant) body.tenant = o.tenant;
        if (!o.json) process.stderr.write(`${o.accessLog}: ${summary.lines} lines (${summary.unreadable} unreadable), ${new Date(summary.from / 1000).toISOString()} – ${new Date(summary.to / 1000).toISOString()}\n`);
      }
      const out = (await api(c, 'POST', '/v1/reconcile', body)).json as { run: string; day: string; discrepancies: number; rules: RuleSummary[] };
      if (o.json) process.stdout.write(JSON.stringify(out, null, 2) + '\n');
      else report(out);
      if (out.discrepancies > 0) process.exitCode = 1;
    });
}
