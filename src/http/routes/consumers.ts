import { z } from 'zod';
import { consumerSpecOf, rewindTargetOf, toConsumerView } from '../../feed/consumer-spec.ts';
import type { Tollgate } from '../../runtime/create-tollgate.ts';
import { defineRoute, type AnyRouteSpec } from '../route.ts';
import { portsOf } from '../../runtime/ports.ts';

const tag = 'consumers';

const consumerParams = z.strictObject({ name: z.string().min(1).describe('Consumer name') });
const names = z.array(z.string().min(1)).max(100);

const consumerBody = z.strictObject({
  name: z.string().describe('Letters, digits, _ . - (1 to 100)'),
  webhook: z.string().optional().describe('POST each event to this http(s) URL, signed with `secret`'),
  secret: z.string().optional().describe('HMAC-SHA256 signing secret of a webhook (at least 8 characters)'),
  nats: z.string().optional().describe('nats://host:4222 (?stream=TOLLGATE&prefix=tollgate)'),
  machines: names.optional(),
  events: names.optional(),
  states: names.optional().describe('Transitions into or out of these states (or states inside them)'),
  withContext: z.boolean().optional().describe("Add the machine's context after the transition"),
  maxAttempts: z.number().int().min(1).max(1000).optional().describe('Attempts before an event is dead-lettered (default 10)'),
  from: z.enum(['now', 'beginning']).optional().describe('Start with what commits from now on (default) or with the whole history'),
});

const consumerView = z.object({
  name: z.string(),
  sink: z.enum(['webhook', 'nats', 'in_process']),
  target: z.string().nullable(),
  machines: z.array(z.string()).nullable(),
  events: z.array(z.string()).nullable(),
  states: z.array(z.string()).nullable(),
  withContext: z.boolean(),
  maxAttempts: z.number(),
  status: z.enum(['active', 'paused']),
  position: z.string().describe('The cursor: a transaction id (rewind takes it)'),
  behind: z.number().describe('Selected transitions not yet delivered (counted up to 100,000)'),
  lagSeconds: z.number().describe('Age of the oldest of them'),
  delivered: z.number(),
  retried: z.number(),
  deadLettered: z.number(),
  deadLetters: z.number().describe('Dead letters waiting for redeliver'),
  lastError: z.string().nullable(),
  lastDeliveredAt: z.string().nullable(),
  leaseOwner: z.string().nullable().describe('The feed process delivering it now'),
});
const consumerList = z.object({ items: z.array(consumerView) });
const rewindBody = z.strictObject({ to: z.string().min(1).describe("A time (ISO 8601), a position (digits) or 'beginning'") });
const done = z.object({ name: z.string(), status: z.string(), redelivering: z.number().optional(), position: z.string().optional() });

/** Admin routes over the lifecycle feed's consumers (what `tollgate consumers` does). */
export function consumerRoutes(tg: Tollgate): AnyRouteSpec[] {
  const store = () => portsOf(tg).consumerStore;
  const view = async (name: string) => {
    const [row] = await store().list(name);
    if (!row) await store().get(name);
    return toConsumerView(row as NonNullable<typeof row>);
  };
  const action = (verb: 'pause' | 'resume' | 'redeliver', summary: string) =>
    defineRoute({
      method: 'POST',
      path: `/v1/consumers/{name}:${verb}`,
      operationId: `${verb}Consumer`,
      summary,
      tag,
      access: 'admin',
      params: consumerParams,
      success: { status: 200, description: 'Done', schema: done },
      errors: ['TG_CONSUMER_NOT_FOUND'],
      handler: async ({ params }) => {
        if (verb === 'redeliver') return { name: params.name, status: 'redelivering', redelivering: await store().redeliver(params.name) };
        await store().setStatus(params.name, verb === 'pause' ? 'paused' : 'active');
        return { name: params.name, status: verb === 'pause' ? 'paused' : 'active' };
      },
    });
  return [
    defineRoute({
      method: 'GET',
      path: '/v1/consumers',
      operationId: 'listConsumers',
      summary: 'Lifecycle-feed consumers with their lag and counters',
      tag,
      access: 'admin',
      success: { status: 200, description: 'The consumers', schema: consumerList },
      errors: [],
      handler: async () => ({ items: (await store().list()).map(toConsumerView) }),
    }),
    defineRoute({
      method: 'POST',
      path: '/v1/consumers',
      operationId: 'addConsumer',
      summary: 'Add a webhook or NATS JetStream consumer of the lifecycle feed',
      tag,
      access: 'admin',
      body: consumerBody,
      success: { status: 201, description: 'Added', schema: consumerView },
      errors: ['TG_CONSUMER_EXISTS', 'TG_INVALID_ARGUMENT'],
      handler: async ({ body }) => {
        const { from, ...input } = body;
        await store().add(consumerSpecOf(input, Object.keys(tg.machines)), from ?? 'now');
        return view(body.name);
      },
    }),
    defineRoute({
      method: 'GET',
      path: '/v1/consumers/{name}',
      operationId: 'getConsumer',
      summary: 'One consumer with its lag and counters',
      tag,
      access: 'admin',
      params: consumerParams,
      success: { status: 200, description: 'The consumer', schema: consumerView },
      errors: ['TG_CONSUMER_NOT_FOUND'],
      handler: async ({ params }) => view(params.name),
    }),
    action('pause', 'Pause deliveries (the cursor stays)'),
    action('resume', 'Resume deliveries'),
    action('redeliver', "Deliver the consumer's dead letters again, each entity's in seq order"),
    defineRoute({
      method: 'POST',
      path: '/v1/consumers/{name}:rewind',
      operationId: 'rewindConsumer',
      summary: 'Deliver again from a time, a position or the beginning',
      tag,
      access: 'admin',
      params: consumerParams,
      body: rewindBody,
      success: { status: 200, description: 'Rewound', schema: done },
      errors: ['TG_CONSUMER_NOT_FOUND', 'TG_INVALID_ARGUMENT'],
      handler: async ({ params, body }) => {
        const cursor = await store().rewind(params.name, rewindTargetOf(body.to));
        return { name: params.name, status: 'rewound', position: cursor.xid };
      },
    }),
    defineRoute({
      method: 'DELETE',
      path: '/v1/consumers/{name}',
      operationId: 'removeConsumer',
      summary: 'Remove a consumer and its dead letters',
      tag,
      access: 'admin',
      params: consumerParams,
      success: { status: 200, description: 'Removed', schema: done },
      errors: ['TG_CONSUMER_NOT_FOUND'],
      handler: async ({ params }) => {
        await store().remove(params.name);
        return { name: params.name, status: 'removed' };
      },
    }),
  ];
}
