import type { Command } from 'commander';
import { api, CliError, resolveClient } from './client.ts';
import { renderTable } from './table.ts';

interface RunView {
  id: string;
  key: string;
  attempt: number;
  status: string;
  node: string;
  startedAt: string;
  endedAt: string | null;
  output: Record<string, unknown> | null;
  error: string | null;
}

/** `tally jobs list|run` (through the running server's admin API). */
export function jobsCommand(program: Command): void {
  const jobs = program.command('jobs').description('the batch layer: scheduled and on-demand jobs and their runs (needs an admin key)');
  const conn = (c: Command) => c.option('--url <url>', 'server URL').option('--key <key>', 'admin key');
  conn(jobs.command('list').description('jobs and their recorded runs, newest first').option('--job <name>', 'only this job').option('--status <status>', 'running | succeeded | failed').option('--limit <n>', 'at most n runs', '20').option('--json', 'print JSON')).action(
    async (o: { job?: string; status?: string; limit: string; json?: boolean; url?: string; key?: string }) => {
      const q = new URLSearchParams({ limit: o.limit, ...(o.job ? { job: o.job } : {}), ...(o.status ? { status: o.status } : {}) });
      const r = (await api(resolveClient(o), 'GET', `/v1/jobs?${q}`)).json as { jobs: { name: string; description: string; schedule: string | null }[]; runs: RunView[] };
      if (o.json) return void process.stdout.write(JSON.stringify(r, null, 2) + '\n');
      process.stdout.write(renderTable(['job', 'schedule (UTC)', 'what it does'], r.jobs.map((j) => [j.name, j.schedule ?? 'on demand', j.description])) + '\n\n');
      process.stdout.write(r.runs.length === 0 ? 'no runs yet\n' : renderTable(['run', 'key', 'attempt', 'status', 'node', 'started', 'ended', 'result'], r.runs.map((x) => [x.id, x.key, String(x.attempt), x.status, x.node, x.startedAt, x.endedAt, x.error ?? JSON.stringify(x.output)])) + '\n');
    },
  );
  conn(jobs.command('run').description('run a job over a range now; a range that succeeded is not run again').argument('<job>', 'job name (see `tally jobs list`)').argument('[range]', 'e.g. 2026-12-01 for reconcile-rollups', '').option('--json', 'print JSON')).action(
    async (job: string, range: string, o: { json?: boolean; url?: string; key?: string }) => {
      const r = (await api(resolveClient(o), 'POST', `/v1/jobs/${encodeURIComponent(job)}/run`, { range })).json as { ran: boolean; reason?: string; run?: RunView };
      if (o.json) return void process.stdout.write(JSON.stringify(r, null, 2) + '\n');
      if (!r.ran && r.reason === 'busy') throw new CliError(`job "${job}" is running on another node; try again when it finishes`);
      const run = r.run!;
      process.stdout.write(`${r.ran ? 'ran' : 'already done'}: ${run.key} attempt ${run.attempt} ${run.status} on ${run.node}\n${run.error ?? JSON.stringify(run.output, null, 2)}\n`);
      if (run.status === 'failed') process.exitCode = 1;
    },
  );
}
