import type { Tollgate } from '../../runtime/create-tollgate.ts';
import type { Observation } from '../../runtime/shadow.ts';
import { defineRoute, type AnyRouteSpec } from '../route.ts';
import { entityParams, idempotencyKeyHeader, machineParams } from '../schemas.ts';
import { observationBody, observationList, observationView, reportQuery, shadowReport } from '../shadow-schemas.ts';
import { actorOf, idempotencyKeyOf } from './request-options.ts';

const tag = 'shadow';

/** Shadow mode (docs/adoption.md): the legacy system's transitions reported and judged, and the drift report. */
export function shadowRoutes(tg: Tollgate): AnyRouteSpec[] {
  return [
    defineRoute({
      method: 'POST',
      path: '/v1/entities/{machine}/{id}/observations',
      operationId: 'observeTransition',
      summary: 'Report a transition the legacy system made (machine in shadow mode)',
      description:
        "tollgate judges it against the machine and its mirror of the entity (verdict legal, illegal with the code it would " +
        'have refused with, diverged, unknown-entity), records it and moves the mirror where the legacy system put the entity. ' +
        'Never refused for legality: only a malformed report (TG_INVALID_OBSERVATION) or a machine in enforce mode ' +
        '(TG_MACHINE_ENFORCED) is refused, and then nothing is written. A repeated Idempotency-Key (or `key`) answers 200 ' +
        'with the first verdict and `replayed: true`.',
      tag,
      access: 'write',
      params: entityParams,
      headers: [idempotencyKeyHeader],
      body: observationBody,
      // The runtime checks the report (TG_INVALID_OBSERVATION names the field).
      validateBody: false,
      success: { status: 201, description: 'Recorded, with its verdict', schema: observationView },
      alsoSuccess: [{ status: 200, description: 'Replayed: the same key recorded it before' }],
      errors: ['TG_UNKNOWN_MACHINE', 'TG_INVALID_ARGUMENT', 'TG_INVALID_OBSERVATION', 'TG_MACHINE_ENFORCED', 'TG_IDEMPOTENCY_KEY_REUSED', 'TG_VERSION_CONFLICT'],
      handler: async ({ params, body, request, reply, caller }) => {
        const key = idempotencyKeyOf(request);
        const actor = actorOf(caller);
        // Anything but an object goes to the runtime as it came, to be refused there with TG_INVALID_OBSERVATION.
        const report =
          typeof body === 'object' && body !== null && !Array.isArray(body)
            ? { ...body, ...(key === undefined ? {} : { key }), ...(actor === undefined ? {} : { actor }) }
            : body;
        const seen = await tg.observe(params.machine, params.id, report as Observation);
        if (seen.replayed) void reply.code(200);
        return seen;
      },
    }),
    defineRoute({
      method: 'GET',
      path: '/v1/entities/{machine}/{id}/observations',
      operationId: 'listObservations',
      summary: "The entity's shadow observations with their verdicts, newest first",
      tag,
      access: 'read',
      params: entityParams,
      success: { status: 200, description: 'Observations, newest first (at most 100)', schema: observationList },
      errors: ['TG_UNKNOWN_MACHINE', 'TG_INVALID_ARGUMENT'],
      handler: async ({ params }) => ({ items: await tg.observations(params.machine, params.id) }),
    }),
    defineRoute({
      method: 'GET',
      path: '/v1/machines/{machine}/shadow-report',
      operationId: 'shadowReport',
      summary: 'Illegal and diverged legacy transitions grouped by (from, event, to), with counts and example ids',
      tag,
      access: 'read',
      params: machineParams,
      query: reportQuery,
      success: { status: 200, description: 'The report', schema: shadowReport },
      errors: ['TG_UNKNOWN_MACHINE', 'TG_INVALID_ARGUMENT'],
      handler: ({ params, query }) => tg.shadowReport(params.machine, query.since === undefined ? {} : { since: query.since }),
    }),
  ];
}
