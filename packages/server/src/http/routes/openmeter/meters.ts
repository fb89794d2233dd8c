import { z } from 'zod';
import { TallyError } from '../../../errors/registry.ts';
import { meterSchema as tallyMeterSchema, type MeterDefinition } from '../../../meters/meter.ts';
import { formatMicros, parseRfc3339 } from '../../../shared/time.ts';
import { parseWith, type Router } from '../../route.ts';
import type { MeterCatalog, MeterRequest, ResolvedMeter } from './catalog.ts';
import { meterCreateSchema, meterListSchema, meterSchema, meterUpdateSchema } from './schemas.ts';

type OpenMeterMeter = z.infer<typeof meterSchema>;

/** Tally's limit on meter descriptions; longer ones stay in the OpenMeter record only. */
const TALLY_DESCRIPTION_MAX = 500;

/** A meter as OpenMeter answers it. */
export function meterView(m: ResolvedMeter): OpenMeterMeter {
  const g = m.generation;
  const d = m.definition;
  const view: OpenMeterMeter = {
    id: g.id,
    slug: m.slug,
    name: g.name ?? m.slug,
    createdAt: g.createdAt,
    updatedAt: g.updatedAt,
    aggregation: d.aggregation,
    eventType: d.eventType,
    groupBy: d.groupBy,
    annotations: { 'tally.meter': g.tallySlug },
  };
  const description = g.description ?? d.description;
  if (description !== undefined) view.description = description;
  if (g.metadata !== undefined) view.metadata = g.metadata;
  if (g.deletedAt !== undefined) view.deletedAt = g.deletedAt;
  if (g.eventFrom !== undefined) view.eventFrom = g.eventFrom;
  if (d.valueProperty !== undefined) view.valueProperty = d.valueProperty;
  return view;
}

/**
 * An OpenMeter meter create request as a Tally definition, validated by Tally's meter schema
 * (whose rules are narrower in places: docs/openmeter.md). COUNT ignores `valueProperty`, as
 * OpenMeter does; `subject` and `customer_id` cannot name a dimension (queries reserve them).
 */
export function toMeterRequest(body: z.infer<typeof meterCreateSchema>): MeterRequest {
  for (const reserved of ['subject', 'customer_id']) {
    if (body.groupBy?.[reserved] !== undefined) throw new TallyError('VALIDATION_FAILED', `body.groupBy.${reserved}: "${reserved}" is reserved in queries (groupBy=${reserved}); name the dimension otherwise`, [{ path: `body.groupBy.${reserved}`, message: 'reserved' }]);
  }
  const def: Record<string, unknown> = { slug: body.slug, eventType: body.eventType, aggregation: body.aggregation, groupBy: body.groupBy ?? {} };
  if (body.aggregation !== 'COUNT' && body.valueProperty !== undefined) def.valueProperty = body.valueProperty;
  if (body.description !== undefined && body.description.length <= TALLY_DESCRIPTION_MAX) def.description = body.description;
  const { slug, ...definition }: MeterDefinition = parseWith(tallyMeterSchema, def, 'body');
  const req: MeterRequest = { slug, definition };
  if (body.name !== undefined) req.name = body.name;
  if (body.description !== undefined) req.description = body.description;
  if (body.metadata !== undefined) req.metadata = body.metadata;
  if (body.eventFrom !== undefined) {
    const t = parseRfc3339(body.eventFrom);
    if (t === undefined) throw new TallyError('VALIDATION_FAILED', `body.eventFrom: "${body.eventFrom}" is not RFC 3339`, [{ path: 'body.eventFrom', message: 'not RFC 3339' }]);
    req.eventFrom = formatMicros(t);
  }
  return req;
}

const SORT_KEYS: Record<string, (m: OpenMeterMeter) => string> = {
  key: (m) => m.slug,
  name: (m) => m.name,
  aggregation: (m) => m.aggregation,
  createdAt: (m) => m.createdAt,
  updatedAt: (m) => m.updatedAt,
};

/** `/api/v1/meters`: list, create, get, update (descriptive fields) and soft-delete. */
export function openMeterMeterRoutes(router: Router, catalog: MeterCatalog): void {
  const params = z.object({ meterIdOrSlug: z.string().min(1) });
  const tag = 'openmeter';
  router.add(
    { method: 'GET', url: '/api/v1/meters', summary: 'OpenMeter: list meters (a bare array)', tag, scope: 'read', query: meterListSchema, responses: { 200: { description: 'Meters', schema: z.array(meterSchema) } } },
    async ({ query }) => {
      const key = SORT_KEYS[query.orderBy]!;
      const sign = query.order === 'DESC' ? -1 : 1;
      const all = (await catalog.list(query.includeDeleted === 'true')).map(meterView);
      all.sort((a, b) => sign * (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : a.id < b.id ? -1 : 1));
      return all.slice((query.page - 1) * query.pageSize, query.page * query.pageSize);
    },
  );
  router.add(
    {
      method: 'POST',
      url: '/api/v1/meters',
      summary: 'OpenMeter: create a meter (a Tally meter, backfilled from stored events)',
      tag,
      scope: 'admin',
      body: meterCreateSchema,
      responses: { 201: { description: 'The meter', schema: meterSchema } },
    },
    async ({ body, reply }) => {
      const created = await catalog.create(toMeterRequest(body));
      void reply.code(201);
      return meterView(created);
    },
  );
  router.add(
    { method: 'GET', url: '/api/v1/meters/:meterIdOrSlug', summary: 'OpenMeter: one meter by id or slug', tag, scope: 'read', params, responses: { 200: { description: 'The meter', schema: meterSchema } } },
    async ({ params: p }) => meterView(await catalog.resolve(p.meterIdOrSlug)),
  );
  router.add(
    {
      method: 'PUT',
      url: '/api/v1/meters/:meterIdOrSlug',
      summary: 'OpenMeter: change a meter’s name, description or metadata (its group-by cannot change in place)',
      tag,
      scope: 'admin',
      params,
      body: meterUpdateSchema,
      responses: { 200: { description: 'The meter', schema: meterSchema } },
    },
    async ({ params: p, body }) => {
      const current = await catalog.resolve(p.meterIdOrSlug);
      if (body.groupBy !== undefined && JSON.stringify(sorted(body.groupBy)) !== JSON.stringify(sorted(current.definition.groupBy))) {
        throw new TallyError('CONFLICT', 'a meter’s group-by cannot change in place (that would rewrite its history): delete it and create it again, which keeps the old numbers under the old definition');
      }
      const patch: Parameters<MeterCatalog['update']>[1] = {};
      if (body.name !== undefined) patch.name = body.name;
      if (body.description !== undefined) patch.description = body.description;
      if (body.metadata !== undefined) patch.metadata = body.metadata;
      return meterView(await catalog.update(p.meterIdOrSlug, patch));
    },
  );
  router.add(
    { method: 'DELETE', url: '/api/v1/meters/:meterIdOrSlug', summary: 'OpenMeter: delete a meter (hidden here; its Tally meter and data are kept)', tag, scope: 'admin', params, responses: { 204: { description: 'Deleted' } } },
    async ({ params: p, reply }) => {
      await catalog.delete(p.meterIdOrSlug);
      return reply.code(204).send();
    },
  );
}

function sorted(r: Record<string, string>): [string, string][] {
  return Object.entries(r).sort(([a], [b]) => (a < b ? -1 : 1));
}
