import { compileMeter, type Meter, type MeterDefinition } from './meter.ts';

/** The live set of meters, indexed by event type for the ingest hot path. */
export class MeterRegistry {
  private readonly bySlug = new Map<string, Meter>();
  private readonly byType = new Map<string, Meter[]>();

  constructor(defs: Iterable<MeterDefinition> = []) {
    for (const d of defs) this.add(d);
  }

  /** Adds a validated definition (the caller has checked slug conflicts). */
  add(def: MeterDefinition): Meter {
    const meter = compileMeter(def);
    this.bySlug.set(meter.slug, meter);
    // A new array, never a mutation: readings cached at ingest are matched by array identity.
    this.byType.set(def.eventType, [...(this.byType.get(def.eventType) ?? []), meter]);
    return meter;
  }

  /**
   * Replaces a meter by an equal definition that differs only in display fields (description,
   * unit, precision): the compiled meter reads exactly the same, so readings stay valid.
   */
  replaceDisplay(def: MeterDefinition): void {
    const meter = compileMeter(def);
    this.bySlug.set(meter.slug, meter);
    this.byType.set(def.eventType, (this.byType.get(def.eventType) ?? []).map((m) => (m.slug === def.slug ? meter : m)));
  }

  get(slug: string): Meter | undefined {
    return this.bySlug.get(slug);
  }

  /** Meters that read events of this type. */
  forType(type: string): readonly Meter[] {
    return this.byType.get(type) ?? [];
  }

  all(): Meter[] {
    return [...this.bySlug.values()].sort((a, b) => a.slug.localeCompare(b.slug));
  }
}
