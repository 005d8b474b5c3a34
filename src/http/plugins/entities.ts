import type { Tollgate } from '../../runtime/create-tollgate.ts';
import { listEntities } from '../entity-list.ts';
import { defineRoute, type AnyRouteSpec } from '../route.ts';
import {
  createBody,
  createResult,
  effectList,
  entityPage,
  entityParams,
  entityView,
  historyQuery,
  idempotencyKeyHeader,
  listQuery,
  machineParams,
  transitionPage,
} from '../schemas.ts';
import { actorOf, idempotencyKeyOf } from './request-options.ts';

const tag = 'entities';

/** Entities: create, read, list, history and effects. */
export function entityRoutes(tg: Tollgate): AnyRouteSpec[] {
  return [
    defineRoute({
      method: 'POST',
      path: '/v1/entities/{machine}',
      operationId: 'createEntity',
      summary: 'Create an entity in its initial state',
      description: 'Replaying the same Idempotency-Key with the same body answers 200 with the stored entity and `replayed: true`.',
      tag,
      access: 'write',
      params: machineParams,
      headers: [idempotencyKeyHeader],
      body: createBody,
      success: { status: 201, description: 'Created', schema: createResult },
      alsoSuccess: [{ status: 200, description: 'Replayed: the same key and input created it before' }],
      errors: ['TG_UNKNOWN_MACHINE', 'TG_INVALID_INPUT', 'TG_INVALID_ARGUMENT', 'TG_ENTITY_EXISTS', 'TG_IDEMPOTENCY_KEY_REUSED'],
      handler: async ({ params, body, request, reply, caller }) => {
        const result = await tg.create(params.machine, body.id, body.input, {
          idempotencyKey: idempotencyKeyOf(request),
          actor: actorOf(caller),
        });
        if (result.replayed) void reply.code(200);
        return result;
      },
    }),
    defineRoute({
      method: 'GET',
      path: '/v1/entities/{machine}',
      operationId: 'listEntities',
      summary: 'List entities of a machine, optionally in one state',
      tag,
      access: 'read',
      params: machineParams,
      query: listQuery,
      success: { status: 200, description: 'One page, ordered by id', schema: entityPage },
      errors: ['TG_UNKNOWN_MACHINE', 'TG_INVALID_ARGUMENT'],
      handler: ({ params, query }) => listEntities(tg, params.machine, query),
    }),
    defineRoute({
      method: 'GET',
      path: '/v1/entities/{machine}/{id}',
      operationId: 'getEntity',
      summary: 'The entity now',
      tag,
      access: 'read',
      params: entityParams,
      success: { status: 200, description: 'The entity', schema: entityView },
      errors: ['TG_UNKNOWN_MACHINE', 'TG_ENTITY_NOT_FOUND', 'TG_INVALID_ARGUMENT'],
      handler: ({ params }) => tg.get(params.machine, params.id),
    }),
    defineRoute({
      method: 'GET',
      path: '/v1/entities/{machine}/{id}/transitions',
      operationId: 'listTransitions',
      summary: 'Committed transitions, oldest first',
      tag,
      access: 'read',
      params: entityParams,
      query: historyQuery,
      success: { status: 200, description: 'One page of the history', schema: transitionPage },
      errors: ['TG_UNKNOWN_MACHINE', 'TG_ENTITY_NOT_FOUND', 'TG_INVALID_ARGUMENT'],
      handler: async ({ params, query }) => {
        const items = await tg.history(params.machine, params.id, query);
        if (items.length === 0) await tg.get(params.machine, params.id); // 404 for an entity that does not exist
        const last = items.at(-1);
        return { items, nextAfterSeq: items.length === query.limit && last ? last.seq : null };
      },
    }),
    defineRoute({
      method: 'GET',
      path: '/v1/entities/{machine}/{id}/effects',
      operationId: 'listEffects',
      summary: "The entity's side effects and their status",
      tag,
      access: 'read',
      params: entityParams,
      success: { status: 200, description: 'Effects in commit order', schema: effectList },
      errors: ['TG_UNKNOWN_MACHINE', 'TG_ENTITY_NOT_FOUND', 'TG_INVALID_ARGUMENT'],
      handler: async ({ params }) => {
        const items = await tg.effects(params.machine, params.id);
        if (items.length === 0) await tg.get(params.machine, params.id);
        return { items };
      },
    }),
  ];
}
