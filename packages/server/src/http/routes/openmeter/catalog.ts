import { createHash, randomBytes } from 'node:crypto';
import { TallyError } from '../../../errors/registry.ts';
import type { MeterService } from '../../../meters/meter-service.ts';
import { canonicalMeter, type MeterDefinition } from '../../../meters/meter.ts';
import { formatMicros, type Clock } from '../../../shared/time.ts';
import type { UsageStore } from '../../../store/port.ts';

/**
 * One generation of an OpenMeter meter: the OpenMeter resource (id, name, timestamps…) and the
 * Tally meter that holds its numbers. A slug gets a new generation when it is created again
 * after a DELETE; each generation keeps its own Tally meter, so no history is rewritten.
 */
export interface MeterGeneration {
  id: string;
  /** The Tally meter slug serving this generation (the OpenMeter slug, or `<slug>_v<n>`). */
  tallySlug: string;
  name?: string;
  description?: string;
  metadata?: Record<string, string> | null;
  /** RFC 3339: events before it are left out of query answers. */
  eventFrom?: string;
  createdAt: string;
  updatedAt: string;
  deletedAt?: string;
  /** True while the generation only mirrors a meter declared natively (config file, `/v1/meters`). */
  adopted?: boolean;
}

/** A live OpenMeter meter: its slug, current generation and Tally definition. */
export interface ResolvedMeter {
  slug: string;
  generation: MeterGeneration;
  definition: MeterDefinition;
}

/** What POST /api/v1/meters asks for, already mapped onto a Tally definition (slug aside). */
export interface MeterRequest {
  slug: string;
  definition: Omit<MeterDefinition, 'slug'>;
  name?: string;
  description?: string;
  metadata?: Record<string, string> | null;
  eventFrom?: string;
}

/** OpenMeter slug → generations, oldest first, kept in the store's meta table. */
type CatalogState = Record<string, MeterGeneration[]>;

const META_KEY = 'openmeter.meters';
const CROCKFORD = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
/** Longest Tally meter slug (meterSchema). */
const MAX_TALLY_SLUG = 63;

/** A ULID, OpenMeter's id format: 48 bits of milliseconds, then 80 bits from `entropy`. */
export function ulid(ms: number, entropy: Buffer = randomBytes(10)): string {
  let time = '';
  for (let t = ms, i = 0; i < 10; i++, t = Math.floor(t / 32)) time = CROCKFORD[t % 32]! + time;
  let bits = 0n;
  for (const b of entropy.subarray(0, 10)) bits = (bits << 8n) | BigInt(b);
  let rand = '';
  for (let i = 0; i < 16; i++, bits >>= 5n) rand = CROCKFORD[Number(bits & 31n)]! + rand;
  return time + rand;
}

/** The Tally slug of generation `n` (≥ 2) of OpenMeter slug `slug`, within Tally's 63 characters. */
function versionedSlug(slug: string, n: number): string {
  const suffix = `_v${n}`;
  return slug.slice(0, MAX_TALLY_SLUG - suffix.length) + suffix;
}

const sameDefinition = (a: MeterDefinition, b: MeterDefinition) => canonicalMeter({ ...a, slug: '' }) === canonicalMeter({ ...b, slug: '' });

/**
 * The OpenMeter view of Tally's meters (`/api/v1/meters`): ids, names, metadata, timestamps and
 * soft deletion, over the one MeterService. Tally meters are immutable, so:
 * - DELETE marks the generation deleted: it disappears from this API, its Tally meter and data stay;
 * - creating the slug again with the same definition as an earlier generation reuses that
 *   generation's Tally meter (its history is this definition's history);
 * - with another definition, a new Tally meter `<slug>_v<n>` is created and backfilled from the
 *   stored events, as OpenMeter would compute it; the earlier meter is untouched.
 * Meters declared natively appear here too ("adopted") the first time this API looks.
 * The state is one JSON document in the store's meta table, so every API node sees it; changes
 * are serialised in this process (two nodes changing meters at the same instant: last one wins).
 */
export class MeterCatalog {
  private changing: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly store: UsageStore,
    private readonly meters: MeterService,
    private readonly clock: Clock,
  ) {}

  /** Every OpenMeter meter with its current generation (and deleted generations when asked). */
  async list(includeDeleted: boolean): Promise<ResolvedMeter[]> {
    const state = await this.adopted();
    const out: ResolvedMeter[] = [];
    for (const [slug, gens] of Object.entries(state)) {
      for (const g of includeDeleted ? gens : gens.slice(-1)) {
        const definition = this.meters.get(g.tallySlug);
        if (definition && (includeDeleted || !g.deletedAt)) out.push({ slug, generation: g, definition });
      }
    }
    return out;
  }

  /** The live meter with this id or slug; NOT_FOUND otherwise. */
  async resolve(idOrSlug: string): Promise<ResolvedMeter> {
    return this.live(await this.adopted(), idOrSlug);
  }

  /** Creates (or re-creates after a DELETE) an OpenMeter meter; CONFLICT while one with the slug is live. */
  create(req: MeterRequest): Promise<ResolvedMeter> {
    return this.change(async (state) => {
      const gens = (state[req.slug] ??= []);
      const current = gens.at(-1);
      const now = formatMicros(this.clock.nowMicros());
      const wanted = { ...req.definition, slug: req.slug } as MeterDefinition;
      if (current && !current.deletedAt) {
        const existing = this.meters.get(current.tallySlug);
        // A meter declared in the config (the distributed profile's only way) is claimed by an identical create.
        if (!current.adopted || !existing || !sameDefinition(existing, wanted)) {
          throw new TallyError('CONFLICT', `a meter with slug "${req.slug}" already exists; delete it first (its data is kept) or pick another slug`);
        }
        Object.assign(current, describe(req), { updatedAt: now, adopted: false });
        return { slug: req.slug, generation: current, definition: existing };
      }
      const reused = gens.find((g) => {
        const d = this.meters.get(g.tallySlug);
        return d !== undefined && sameDefinition(d, wanted);
      });
      let tallySlug = reused?.tallySlug;
      if (tallySlug === undefined) {
        tallySlug = req.slug;
        for (let n = 2; this.meters.get(tallySlug) !== undefined; n++) tallySlug = versionedSlug(req.slug, n);
        await this.meters.create({ ...wanted, slug: tallySlug });
      }
      const generation: MeterGeneration = { id: ulid(Math.floor(this.clock.nowMicros() / 1000)), tallySlug, ...describe(req), createdAt: now, updatedAt: now };
      gens.push(generation);
      return { slug: req.slug, generation, definition: this.meters.get(tallySlug)! };
    });
  }

  /** Soft-deletes the live meter with this id or slug (its Tally meter and data stay). */
  delete(idOrSlug: string): Promise<void> {
    return this.change(async (state) => {
      const { generation } = this.live(state, idOrSlug);
      generation.deletedAt = generation.updatedAt = formatMicros(this.clock.nowMicros());
    });
  }

  /** Changes name, description or metadata of a live meter (its definition cannot change). */
  update(idOrSlug: string, patch: Pick<MeterRequest, 'name' | 'description' | 'metadata'>): Promise<ResolvedMeter> {
    return this.change(async (state) => {
      const found = this.live(state, idOrSlug);
      Object.assign(found.generation, describe(patch), { updatedAt: formatMicros(this.clock.nowMicros()), adopted: false });
      return found;
    });
  }

  /** The live meter of `state` with this id (first) or slug. */
  private live(state: CatalogState, idOrSlug: string): ResolvedMeter {
    let byId: ResolvedMeter | undefined;
    let bySlug: ResolvedMeter | undefined;
    for (const [slug, gens] of Object.entries(state)) {
      const generation = gens.at(-1);
      const definition = generation && !generation.deletedAt ? this.meters.get(generation.tallySlug) : undefined;
      if (!definition) continue;
      if (generation!.id === idOrSlug) byId = { slug, generation: generation!, definition };
      if (slug === idOrSlug) bySlug = { slug, generation: generation!, definition };
    }
    const found = byId ?? bySlug;
    if (!found) throw new TallyError('NOT_FOUND', `no meter "${idOrSlug}"`);
    return found;
  }

  private async read(): Promise<CatalogState> {
    const text = await this.store.getMeta(META_KEY);
    return text === undefined ? {} : (JSON.parse(text) as CatalogState);
  }

  /** The state, after adopting native meters no generation holds yet (persisted once). */
  private async adopted(): Promise<CatalogState> {
    const state = await this.read();
    return this.missing(state).length === 0 ? state : this.change(async (s) => s);
  }

  private missing(state: CatalogState): MeterDefinition[] {
    const held = new Set(Object.values(state).flatMap((gens) => gens.map((g) => g.tallySlug)));
    return this.meters.list().filter((m) => !held.has(m.slug));
  }

  /** Runs `fn` on fresh state (native meters adopted first) and stores the result; one change at a time. */
  private change<T>(fn: (state: CatalogState) => Promise<T>): Promise<T> {
    const run = this.changing.then(async () => {
      const state = await this.read();
      const now = formatMicros(this.clock.nowMicros());
      for (const m of this.missing(state)) {
        // Deterministic, so two nodes adopting the same meter at once agree on its id.
        const id = ulid(0, createHash('sha256').update(canonicalMeter(m)).digest());
        (state[m.slug] ??= []).push({ id, tallySlug: m.slug, createdAt: now, updatedAt: now, adopted: true });
      }
      const result = await fn(state);
      await this.store.setMeta(META_KEY, JSON.stringify(state));
      return result;
    });
    this.changing = run.catch(() => undefined);
    return run;
  }
}

/** The descriptive fields of a request that were given. */
function describe(r: Pick<MeterRequest, 'name' | 'description' | 'metadata' | 'eventFrom'>): Partial<MeterGeneration> {
  const out: Partial<MeterGeneration> = {};
  if (r.name !== undefined) out.name = r.name;
  if (r.description !== undefined) out.description = r.description;
  if (r.metadata !== undefined) out.metadata = r.metadata;
  if (r.eventFrom !== undefined) out.eventFrom = r.eventFrom;
  return out;
}
