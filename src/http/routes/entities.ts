import type { Tollgate } from '../../runtime/create-tollgate.ts';
import { defineRoute, type AnyRouteSpec } from '../route.ts';
import {
  createBody,
  createResult,
  effectList,
  effectParams,
  effectView,
  entityPage,
  entityParams,
  entityQuery,
  entityView,
  historyQuery,
  idempotencyKeyHeader,
  listQuery,
  machineParams,
  rejectionList,
  retryBody,
  timerList,
  transitionPage,
} from '../schemas.ts';
import { actorOf, idempotencyKeyOf } from './request-options.ts';
import { portsOf } from '../../runtime/ports.ts';

const tag = 'entities';

/** Entities: create, read (or wait for a state), list, history, effects (and their retry), timers and refusals. */
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
      errors: ['TG_UNKNOWN_MACHINE', 'TG_INVALID_INPUT', 'TG_INVALID_ARGUMENT', 'TG_ENTITY_EXISTS', 'TG_IDEMPOTENCY_KEY_REUSED', 'TG_MACHINE_SHADOWED'],
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
      handler: ({ params, query }) => portsOf(tg).listEntities(params.machine, query),
    }),
    defineRoute({
      method: 'GET',
      path: '/v1/entities/{machine}/{id}',
      operationId: 'getEntity',
      summary: 'The entity now, or once it is in a state (waitFor)',
      description:
        'With `waitFor`, answers when the entity is in that state or inside it (a commit by any process is seen within ' +
        'about a second), or after `timeoutMs` with 408 TG_WAIT_TIMEOUT whose `state` is the state it is in.',
      tag,
      access: 'read',
      params: entityParams,
      query: entityQuery,
      success: { status: 200, description: 'The entity', schema: entityView },
      errors: ['TG_UNKNOWN_MACHINE', 'TG_ENTITY_NOT_FOUND', 'TG_INVALID_ARGUMENT', 'TG_WAIT_TIMEOUT'],
      handler: ({ params, query }) =>
        query.waitFor === undefined
          ? tg.get(params.machine, params.id)
          : tg.waitFor(params.machine, params.id, query.waitFor, { timeoutMs: query.timeoutMs }),
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
        const items = await tg.history(params.machine, params.id, { ...query, withSnapshots: query.withSnapshots === 'true' });
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
    defineRoute({
      method: 'POST',
      path: '/v1/entities/{machine}/{id}/effects/{effectId}:retry',
      operationId: 'retryEffect',
      summary: 'Send a failed effect back to pending, to run again',
      description:
        'Admin only. The effect is run again by the workers with the same effect id (its idempotency key); who asked ' +
        "and why are recorded on the effect (`retries`), with the failure they set aside. The compensation event its " +
        'failure sent stays in the history: nothing is undone.',
      tag,
      access: 'admin',
      params: effectParams,
      body: retryBody,
      success: { status: 200, description: 'The effect, pending again', schema: effectView },
      errors: ['TG_UNKNOWN_MACHINE', 'TG_ENTITY_NOT_FOUND', 'TG_EFFECT_NOT_FOUND', 'TG_EFFECT_NOT_FAILED', 'TG_INVALID_ARGUMENT'],
      handler: ({ params, body, caller }) =>
        tg.retryEffect(params.machine, params.id, params.effectId, { reason: body.reason, ...(caller.name ? { actor: caller.name } : {}) }),
    }),
    defineRoute({
      method: 'GET',
      path: '/v1/entities/{machine}/{id}/timers',
      operationId: 'listTimers',
      summary: "The entity's durable timers (delayed events) and their status",
      tag,
      access: 'read',
      params: entityParams,
      success: { status: 200, description: 'Timers, oldest first', schema: timerList },
      errors: ['TG_UNKNOWN_MACHINE', 'TG_ENTITY_NOT_FOUND', 'TG_INVALID_ARGUMENT'],
      handler: async ({ params }) => {
        const items = await tg.timers(params.machine, params.id);
        if (items.length === 0) await tg.get(params.machine, params.id);
        return { items };
      },
    }),
    defineRoute({
      method: 'GET',
      path: '/v1/entities/{machine}/{id}/rejections',
      operationId: 'listRejections',
      summary: "Refused attempts on the entity (illegal, guard-rejected, policy-denied), kept for audit",
      tag,
      access: 'read',
      params: entityParams,
      success: { status: 200, description: 'Refusals, oldest first', schema: rejectionList },
      errors: ['TG_UNKNOWN_MACHINE', 'TG_ENTITY_NOT_FOUND', 'TG_INVALID_ARGUMENT'],
      handler: async ({ params }) => {
        const items = await tg.rejections(params.machine, params.id);
        if (items.length === 0) await tg.get(params.machine, params.id);
        return { items };
      },
    }),
  ];
}
