import type { Tollgate } from '../../runtime/create-tollgate.ts';
import { defineRoute, type AnyRouteSpec } from '../route.ts';
import { dryRunResult, entityParams, eventBody, idempotencyKeyHeader, sendResult } from '../schemas.ts';
import { actorOf, idempotencyKeyOf } from './request-options.ts';

const tag = 'events';
const refusals = ['TG_ILLEGAL_TRANSITION', 'TG_GUARD_REJECTED', 'TG_POLICY_DENIED'] as const;

/** Events: the gate, and its dry run. */
export function eventRoutes(tg: Tollgate): AnyRouteSpec[] {
  return [
    defineRoute({
      method: 'POST',
      path: '/v1/entities/{machine}/{id}/events',
      operationId: 'sendEvent',
      summary: 'Send an event through the gate',
      description:
        'The body is the event `{type, ...payload}`. With an Idempotency-Key, a retry answers the first commit ' +
        '(`replayed: true`); another event under the same key is TG_IDEMPOTENCY_KEY_REUSED.',
      tag,
      access: 'write',
      params: entityParams,
      headers: [idempotencyKeyHeader],
      body: eventBody,
      validateBody: false,
      success: { status: 200, description: 'Committed (or replayed)', schema: sendResult },
      errors: [
        'TG_UNKNOWN_MACHINE',
        'TG_ENTITY_NOT_FOUND',
        'TG_INVALID_EVENT',
        'TG_INVALID_ARGUMENT',
        ...refusals,
        'TG_IDEMPOTENCY_KEY_REUSED',
        'TG_VERSION_CONFLICT',
        'TG_FROZEN',
        'TG_POLICY_UNAVAILABLE',
        'TG_MACHINE_SHADOWED',
      ],
      handler: ({ params, body, request, caller }) =>
        tg.send(params.machine, params.id, body as { type: string }, { idempotencyKey: idempotencyKeyOf(request), actor: actorOf(caller) }),
    }),
    defineRoute({
      method: 'POST',
      path: '/v1/entities/{machine}/{id}/events:dry-run',
      operationId: 'dryRunEvent',
      summary: 'Evaluate an event without committing it',
      description:
        'Answers the would-be target state, effects and timers, or the same coded refusal a send would get ' +
        '(with `dryRun: true`). Nothing is written, recorded or counted.',
      tag,
      access: 'read',
      params: entityParams,
      body: eventBody,
      validateBody: false,
      success: { status: 200, description: 'The event would be accepted', schema: dryRunResult },
      errors: ['TG_UNKNOWN_MACHINE', 'TG_ENTITY_NOT_FOUND', 'TG_INVALID_EVENT', 'TG_INVALID_ARGUMENT', ...refusals, 'TG_POLICY_UNAVAILABLE'],
      handler: ({ params, body }) => tg.dryRun(params.machine, params.id, body as never),
    }),
  ];
}
