import type { TallyConfig } from '../../config/schema.ts';
import type { ActorHasher } from '../../events/actor-hash.ts';
import type { Clock } from '../../shared/time.ts';
import type { DuckDbStore } from '../../store/duckdb/duckdb-store.ts';
import { DuckDbErasureRepo, DuckDbErasureTarget } from './duckdb-erasure.ts';
import { ErasureService } from './service.ts';

/**
 * The erasure service of the embedded profile; undefined in the distributed profile, where the
 * routes answer UNSUPPORTED_PROFILE (docs/privacy.md: what ClickHouse and JetStream keep).
 */
export async function openErasure(d: { config: TallyConfig; embedded: DuckDbStore | undefined; hasher: ActorHasher; archiveDir: string; clock: Clock }): Promise<ErasureService | undefined> {
  if (!d.embedded) return undefined;
  const repo = await DuckDbErasureRepo.open(await d.embedded.connect());
  const target = await DuckDbErasureTarget.open(d.embedded);
  return new ErasureService({ repo, target, hasher: d.hasher, archiveDir: d.archiveDir, clock: d.clock });
}
