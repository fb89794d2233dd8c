import { TallyError } from '../errors/registry.ts';
import type { EventRecord } from '../events/event.ts';
import type { UsageStore } from '../store/port.ts';
import { deriveRollups } from '../usage/derive-rollups.ts';
import { evaluateMeter, isMeterProblem } from './evaluate.ts';
import { canonicalMeter, compileMeter, type MeterDefinition } from './meter.ts';
import type { MeterRegistry } from './registry.ts';

/** The display fields of a definition, compared to tell a display-only change. */
function displayOf(def: MeterDefinition): string {
  return JSON.stringify([def.description ?? null, def.unit ?? null, def.precision ?? null]);
}

/** Result of declaring a meter. */
export interface CreateMeterResult {
  meter: MeterDefinition;
  created: boolean;
  backfilled: number;
  skipped: number;
}

/**
 * Declares meters (from config at start and from the API). A slug is immutable: an identical
 * re-declaration is a no-op, a different one is a CONFLICT, so history is never rewritten.
 * A new meter's rollups are backfilled from the raw events already stored, unless its rollup
 * series is one other meters already fill (it then holds every stored event already).
 */
export class MeterService {
  /** The declaration in progress (declarations are serialised). */
  private declaring: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly store: UsageStore,
    private readonly registry: MeterRegistry,
    /** Refuses definitions the deployment forbids (a meter reading a property privacy drops). */
    private readonly problem: (def: MeterDefinition) => string | undefined = () => undefined,
  ) {}

  /** Loads stored meters into the registry (call once at start). */
  async load(): Promise<void> {
    for (const def of await this.store.listMeters()) this.registry.add(def);
  }

  list(): MeterDefinition[] {
    return this.registry.all().map((m) => m.def);
  }

  get(slug: string): MeterDefinition | undefined {
    return this.registry.get(slug)?.def;
  }

  /**
   * Declares one meter. Declarations run one at a time: whether a new meter's series is
   * already filled (and so needs no backfill) is decided only after the declarations before it
   * have registered, or two meters of one new series would both backfill it.
   */
  create(def: MeterDefinition): Promise<CreateMeterResult> {
    const run = this.declaring.then(() => this.declare(def));
    this.declaring = run.catch(() => undefined);
    return run;
  }

  private async declare(def: MeterDefinition): Promise<CreateMeterResult> {
    const existing = this.registry.get(def.slug);
    if (existing) {
      if (canonicalMeter(existing.def) === canonicalMeter(def)) {
        // Display fields follow the latest declaration (the config file at each start); they
        // change no number, so they are not part of the immutable definition.
        if (displayOf(existing.def) !== displayOf(def)) this.registry.replaceDisplay(def);
        return { meter: def, created: false, backfilled: 0, skipped: 0 };
      }
      throw new TallyError('CONFLICT', `meter "${def.slug}" exists with a different definition; meters are immutable, create a new slug`, {
        existing: existing.def,
      });
    }
    const problem = this.problem(def);
    if (problem) throw new TallyError('VALIDATION_FAILED', problem);
    const meter = compileMeter(def);
    // A series another meter already fills holds every stored event already: no backfill.
    const shared = this.registry.all().some((m) => m.series === meter.series);
    const derive = shared
      ? (events: readonly EventRecord[]) => ({ rollups: [], uniques: [], skipped: events.filter((e) => isMeterProblem(evaluateMeter(meter, e))).length })
      : (events: readonly EventRecord[]) => deriveRollups(events, (t) => (t === def.eventType ? [meter] : []));
    const r = await this.store.createMeter(def, derive, () => this.registry.add(def));
    return { meter: def, created: true, ...r };
  }
}
