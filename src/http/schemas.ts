import { z } from 'zod';
import { scopes } from './auth.ts';

/**
 * The API's request and response shapes. Requests are validated with them; responses are documented by them
 * (the OpenAPI document at /openapi.json is generated from these schemas, never written by hand).
 */

const isoTime = z.iso.datetime({ offset: true });
const stateValue = z.union([z.string(), z.record(z.string(), z.unknown())]).describe("XState state value: 'active' or { paused: 'idle' }");

export const machineParams = z.strictObject({ machine: z.string().min(1).describe('Registered machine name') });
export const entityParams = z.strictObject({
  machine: z.string().min(1).describe('Registered machine name'),
  id: z.string().describe('Entity id: 1 to 200 characters, no control characters'),
});

const limit = (max: number, fallback: number) => z.coerce.number().int().min(1).max(max).default(fallback);
// eslint-disable-next-line no-control-regex -- refusing control characters is the point
const noControl = /^[^\u0000-\u001f\u007f]*$/;

export const listQuery = z.strictObject({
  state: z
    .string()
    .min(1)
    .max(200)
    .regex(noControl, 'no control characters')
    .optional()
    .describe("Only entities in this state or inside it: 'paused' matches 'paused.idle'"),
  limit: limit(500, 50).describe('Page size, 1 to 500. Default 50'),
  cursor: z.string().max(400).optional().describe('nextCursor of the previous page'),
});

export const historyQuery = z.strictObject({
  afterSeq: z.coerce.number().int().min(0).max(2 ** 31 - 1).default(0).describe('Only transitions after this seq. Default 0'),
  limit: limit(1000, 100).describe('Page size, 1 to 1,000. Default 100'),
});

export const idempotencyKeyHeader = {
  name: 'Idempotency-Key',
  description: 'Makes the request safe to retry: the first commit under the key answers every retry. 1 to 200 characters.',
  schema: z.string().min(1).max(200),
} as const;

export const createBody = z.strictObject({
  id: z.string().describe('Entity id: 1 to 200 characters, no control characters'),
  input: z.unknown().optional().describe("The machine's input (GET /v1/machines/{machine} has its schema)"),
});

export const eventBody = z
  .looseObject({ type: z.string().describe('Event type; the other members are its payload') })
  .describe("An event of the machine: { type, ...payload } (GET /v1/machines/{machine} lists each type's schema)");

export const entityView = z.object({
  machine: z.string(),
  id: z.string(),
  value: stateValue,
  state: z.string().describe("Leaf state paths, comma-separated: 'paused.idle'"),
  status: z.enum(['active', 'done']),
  context: z.record(z.string(), z.unknown()),
  version: z.number().int().describe('Committed transitions so far (creation is 1)'),
  machineVersion: z.number().int(),
  stateEnteredAt: isoTime,
  nextEvents: z.array(z.string()).describe('Event types the state accepts (guards not evaluated)'),
});

export const createResult = entityView.extend({ replayed: z.boolean() });

export const transitionView = z.object({
  id: z.string(),
  machine: z.string(),
  entityId: z.string(),
  seq: z.number().int(),
  eventType: z.string(),
  event: z.record(z.string(), z.unknown()),
  fromState: z.string().nullable(),
  toState: z.string(),
  idempotencyKey: z.string().nullable(),
  actor: z.string().nullable(),
  machineVersion: z.number().int(),
  policyVersion: z.string().nullable(),
  createdAt: isoTime,
});

export const sendResult = z.object({ entity: entityView, transition: transitionView, replayed: z.boolean() });

export const effectView = z.object({
  id: z.string(),
  transitionId: z.string(),
  seq: z.number().int(),
  type: z.string(),
  params: z.record(z.string(), z.unknown()),
  status: z.enum(['pending', 'dispatched', 'completed', 'failed']),
  attempts: z.number().int(),
  result: z.unknown(),
  error: z.unknown(),
  createdAt: isoTime,
  dispatchedAt: isoTime.nullable(),
  completedAt: isoTime.nullable(),
  followUp: z
    .object({
      event: z.object({ type: z.string() }).catchall(z.unknown()),
      outcome: z
        .union([
          z.object({ status: z.enum(['committed', 'replayed']), transitionId: z.string(), state: z.unknown() }),
          z.object({ status: z.literal('rejected'), code: z.string(), message: z.string() }),
        ])
        .nullable(),
    })
    .nullable(),
});

export const entityPage = z.object({ items: z.array(entityView), nextCursor: z.string().nullable() });
export const transitionPage = z.object({ items: z.array(transitionView), nextAfterSeq: z.number().int().nullable() });
export const effectList = z.object({ items: z.array(effectView) });

export const machineSummary = z.object({
  name: z.string(),
  version: z.number().int(),
  description: z.string().nullable(),
  initial: stateValue,
  states: z.array(z.string()).describe("Every state path: 'paused', 'paused.idle'"),
  events: z.array(z.string()).describe('Event types a caller may send'),
  effects: z.array(z.string()).describe('Custom action (effect) types'),
  compensations: z.record(z.string(), z.string()),
});

export const machineDetail = machineSummary.extend({
  inputSchema: z.record(z.string(), z.unknown()).describe('JSON Schema of create input'),
  eventSchemas: z.record(z.string(), z.record(z.string(), z.unknown())).describe('JSON Schema of each event payload'),
  definition: z.record(z.string(), z.unknown()).describe("The XState machine's JSON definition"),
});

export const machineList = z.object({ items: z.array(machineSummary) });

export const machineDiagram = z.object({
  name: z.string(),
  version: z.number().int(),
  entities: z.number().int().describe('Entities of the machine, in any state'),
  stateCounts: z.record(z.string(), z.number().int()).describe('Entities per state string, as EntityView.state writes it'),
  mermaid: z.string().describe('A Mermaid stateDiagram-v2 whose simple states carry their entity counts'),
});

export const dryRunResult = z.object({
  accepted: z.literal(true),
  machine: z.string(),
  id: z.string(),
  from: z.object({ value: stateValue, state: z.string(), version: z.number().int() }),
  to: z.object({ value: stateValue, state: z.string(), status: z.enum(['active', 'done']), context: z.record(z.string(), z.unknown()) }),
  nextEvents: z.array(z.string()),
  effects: z.array(z.object({ type: z.string(), params: z.record(z.string(), z.unknown()) })),
  timers: z.array(z.object({ sendId: z.string(), eventType: z.string(), delayMs: z.number(), dueAt: isoTime })),
  cancels: z.array(z.string()).describe('sendIds of scheduled timers the transition would cancel'),
});

export const health = z.object({ status: z.literal('ok') });
export const readiness = z.object({ status: z.literal('ready'), checks: z.record(z.string(), z.literal('ok')) });

export const problem = z
  .looseObject({
    type: z.string(),
    title: z.string(),
    status: z.number().int(),
    code: z.string().describe('Stable error code (docs/errors.md)'),
    detail: z.string(),
    instance: z.string(),
    requestId: z.string(),
    retryable: z.boolean(),
  })
  .describe('RFC 9457 problem details; other members name the machine, entity, state and event');

export const scopeEnum = z.enum(scopes);
