import { z } from 'zod';
import { TallyError } from '../../errors/registry.ts';
import type { MeterService } from '../../meters/meter-service.ts';
import { meterSchema } from '../../meters/meter.ts';
import type { Router } from '../route.ts';

const slugParams = z.object({ slug: z.string() });

/** Meter definitions: list, read, create (admin). */
export function meterRoutes(router: Router, meters: MeterService): void {
  router.add(
    { method: 'GET', url: '/v1/meters', summary: 'List meters', tag: 'meters', scope: 'read', responses: { 200: { description: 'Meters', schema: z.object({ data: z.array(meterSchema) }) } } },
    async () => ({ data: meters.list() }),
  );
  router.add(
    { method: 'GET', url: '/v1/meters/:slug', summary: 'One meter', tag: 'meters', scope: 'read', params: slugParams, responses: { 200: { description: 'The meter', schema: meterSchema } } },
    async ({ params }) => {
      const m = meters.get(params.slug);
      if (!m) throw new TallyError('NOT_FOUND', `no meter "${params.slug}"`);
      return m;
    },
  );
  router.add(
    {
      method: 'POST',
      url: '/v1/meters',
      summary: 'Create a meter; its rollups are backfilled from stored events',
      tag: 'meters',
      scope: 'admin',
      body: meterSchema,
      responses: {
        201: { description: 'Created', schema: z.object({ meter: meterSchema, backfilled: z.number(), skipped: z.number() }) },
        200: { description: 'An identical meter already exists' },
      },
    },
    async ({ body, reply }) => {
      const r = await meters.create(body);
      void reply.code(r.created ? 201 : 200);
      return { meter: r.meter, backfilled: r.backfilled, skipped: r.skipped };
    },
  );
}
