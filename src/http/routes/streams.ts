import type { Tollgate } from '../../runtime/create-tollgate.ts';
import type { TransitionView } from '../../runtime/views.ts';
import { canAccessMachine, requireMachine } from '../auth.ts';
import { defineRoute, type AnyRouteSpec } from '../route.ts';
import { entityParams, entityStreamQuery, streamQuery } from '../schemas.ts';
import { openEventStream, type OpenStreams } from '../sse.ts';
import { portsOf } from '../../runtime/ports.ts';

const tag = 'streams';

/** Committed transitions as server-sent events: of every machine, of one, or of one entity. */
export function streamRoutes(tg: Tollgate, open: OpenStreams): AnyRouteSpec[] {
  return [
    defineRoute({
      method: 'GET',
      path: '/v1/stream',
      operationId: 'streamTransitions',
      summary: 'Committed transitions as they commit (server-sent events)',
      description:
        'Each committed transition as `event: transition` (data: a Transition, id: its id), by any process: this ' +
        "process's commits at once, others' within about a second (each process tails the history once per second for " +
        'all its streams). With `stats=true`, also `event: stats` (a machine\'s stats) when they change, for each machine streamed. ' +
        'Delivery is best effort: after a reconnect, read the history for what was missed.',
      tag,
      access: 'read',
      query: streamQuery,
      tokenInQuery: true,
      success: { status: 200, description: 'An event stream', contentType: 'text/event-stream' },
      errors: ['TG_UNKNOWN_MACHINE'],
      handler: async ({ query, caller, request, reply }) => {
        const machine = query.machine;
        if (machine !== undefined) {
          requireMachine(caller, machine);
          portsOf(tg).definition(machine); // TG_UNKNOWN_MACHINE before the stream opens
        }
        const stream = openEventStream(request, reply, open, query.maxDurationMs);
        const send = (t: TransitionView) => {
          if (canAccessMachine(caller, t.machine)) stream.send('transition', t, t.id);
        };
        stream.onClose(tg.watch(machine === undefined ? {} : { machine }, send));
        if (query.stats === 'true') {
          const watched = machine === undefined ? Object.keys(tg.machines).filter((m) => canAccessMachine(caller, m)) : [machine];
          for (const m of watched) stream.onClose(tg.watchStats(m, (stats) => stream.send('stats', stats)));
        }
        await stream.closed;
      },
    }),
    defineRoute({
      method: 'GET',
      path: '/v1/entities/{machine}/{id}/stream',
      operationId: 'streamEntity',
      summary: "One entity's committed transitions as they commit (server-sent events)",
      description: 'As /v1/stream, for one entity. Starts with `event: entity` (the entity now), then `event: transition` per commit.',
      tag,
      access: 'read',
      params: entityParams,
      query: entityStreamQuery,
      tokenInQuery: true,
      success: { status: 200, description: 'An event stream', contentType: 'text/event-stream' },
      errors: ['TG_UNKNOWN_MACHINE', 'TG_ENTITY_NOT_FOUND', 'TG_INVALID_ARGUMENT'],
      handler: async ({ params, query, request, reply }) => {
        const buffered: TransitionView[] = [];
        let stream: ReturnType<typeof openEventStream> | undefined;
        // Watch before reading the entity, so a commit in between is sent after it, not lost.
        const unwatch = tg.watch({ machine: params.machine, entityId: params.id }, (t) => (stream ? stream.send('transition', t, t.id) : buffered.push(t)));
        try {
          const entity = await tg.get(params.machine, params.id);
          stream = openEventStream(request, reply, open, query.maxDurationMs);
          stream.send('entity', entity);
          for (const t of buffered) if (t.seq > entity.version) stream.send('transition', t, t.id);
        } catch (error) {
          unwatch();
          throw error;
        }
        stream.onClose(unwatch);
        await stream.closed;
      },
    }),
  ];
}
