import { createHash } from 'node:crypto';
import { createReadStream, existsSync, readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** What one archive file holds. */
export type ArchiveFileKind = 'events' | 'corrections';

/** One file of a partition as the manifest records it. */
export interface ManifestFile {
  file: string;
  kind: ArchiveFileKind;
  rows: number;
  /** Event time range of its rows (epoch µs), null when empty. */
  minTimeUs: number | null;
  maxTimeUs: number | null;
  bytes: number;
  sha256: string;
  /** The tenant bucket of its rows, in a tenant-sharded partition. */
  bucket?: number;
}

/**
 * The manifest of one partition `date=YYYY-MM-DD/`: the raw rows *ingested* that UTC day (so a
 * closed day never changes, late events included), with rows, event-time range and SHA-256 of
 * each file. Written last: a partition without a manifest is incomplete.
 */
export interface Manifest {
  version: 1;
  date: string;
  partitionBy: 'ingest-day-utc';
  ingestedFromUs: number;
  ingestedToUs: number;
  createdAt: string;
  source: string;
  rows: number;
  /** Tenant-sharded: each kind is split into this many files by tenant bucket (absent: one file per kind). */
  tenantBuckets?: number;
  files: ManifestFile[];
  /**
   * Files rewritten after the partition was closed: only an erasure does that (the one
   * sanctioned change; docs/privacy.md). `sha256` and `bytes` of the file are the new ones.
   */
  rewrites?: ManifestRewrite[];
}

/** A rewrite of one archived file, recorded in its manifest. */
export interface ManifestRewrite {
  reason: 'erasure';
  /** The erasure id (era_…). */
  erasure: string;
  at: string;
  file: string;
  /** Rows whose actor was removed. */
  rows: number;
  previousSha256: string;
}

/** The partition directory of a day. */
export function partitionDir(root: string, date: string): string {
  return join(root, `date=${date}`);
}

/** The manifest's path. */
export function manifestPath(root: string, date: string): string {
  return join(partitionDir(root, date), 'manifest.json');
}

/** Reads a partition's manifest (undefined when absent). */
export function readManifest(root: string, date: string): Manifest | undefined {
  const p = manifestPath(root, date);
  return existsSync(p) ? (JSON.parse(readFileSync(p, 'utf8')) as Manifest) : undefined;
}

/** Writes the manifest atomically (a temp file renamed into place). */
export function writeManifest(root: string, m: Manifest): void {
  const p = manifestPath(root, m.date);
  writeFileSync(`${p}.tmp`, JSON.stringify(m, null, 2) + '\n');
  renameSync(`${p}.tmp`, p);
}

/** Days with a partition directory under `root`, sorted. */
export function archivedDays(root: string): string[] {
  if (!existsSync(root)) return [];
  return readdirSync(root)
    .map((d) => /^date=(\d{4}-\d{2}-\d{2})$/.exec(d)?.[1])
    .filter((d): d is string => d !== undefined)
    .sort();
}

/** SHA-256 (hex) of a file, streamed. */
export async function sha256File(path: string): Promise<string> {
  const h = createHash('sha256');
  for await (const chunk of createReadStream(path)) h.update(chunk as Buffer);
  return h.digest('hex');
}
