import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

/** Where a CLI command finds the server and its key. */
export interface ClientOptions {
  url?: string;
  key?: string;
  dataDir?: string;
}

/** Thrown for failures the CLI reports as one clear line and a non-zero exit. */
export class CliError extends Error {}

/** Resolves the server URL and key: flags, then TALLY_URL / TALLY_KEY, then the dev key file. */
export function resolveClient(o: ClientOptions): { url: string; key: string } {
  const url = (o.url ?? process.env.TALLY_URL ?? `http://127.0.0.1:${process.env.TALLY_PORT ?? 8787}`).replace(/\/$/, '');
  let key = o.key ?? process.env.TALLY_KEY;
  if (!key) {
    const file = join(o.dataDir ?? process.env.TALLY_DATA_DIR ?? '.tally', 'admin.key');
    if (existsSync(file)) key = readFileSync(file, 'utf8').trim();
  }
  if (!key) throw new CliError('no API key: pass --key, set TALLY_KEY, or run from the directory whose .tally/admin.key `tally serve` created');
  return { url, key };
}

/** Calls the API; turns the error envelope and connection failures into a CliError. */
export async function api(c: { url: string; key: string }, method: string, path: string, body?: unknown, accept = 'application/json'): Promise<{ status: number; text: string; json: unknown }> {
  let res: Response;
  try {
    res = await fetch(c.url + path, {
      method,
      headers: { authorization: `Bearer ${c.key}`, accept, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      body: body === undefined ? null : JSON.stringify(body),
    });
  } catch (err) {
    throw new CliError(`cannot reach ${c.url} (${(err as Error & { cause?: Error }).cause?.message ?? (err as Error).message}); is \`tally serve\` running?`);
  }
  const text = await res.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  if (res.status >= 400) {
    const e = (json as { error?: { code: string; message: string } } | undefined)?.error;
    throw new CliError(e ? `${e.code}: ${e.message}` : `HTTP ${res.status}: ${text.slice(0, 200)}`);
  }
  return { status: res.status, text, json };
}
