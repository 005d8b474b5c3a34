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
  idPrefix: z.string().min(1).max(200).regex(noControl, 'no control characters').optional().describe('Only entities whose id starts with this'),
});

export const historyQuery = z.strictObject({
  withSnapshots: z.enum(['true', 'false']).optional().describe("Add each transition's `snapshot` after it (`value`, `status`, `context`)"),
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
  retries: z
    .array(
      z.object({
        by: z.string().nullable(),
        reason: z.string(),
        at: isoTime,
        attempts: z.number().int(),
        error: z.unknown(),
        followUp: z.unknown(),
        followUpOutcome: z.unknown(),
        compensated: z.boolean(),
      }),
    )
    .describe('Operator retries after the effect failed, oldest first: who, why, when, and the failure each set aside'),
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
export const timerList = z.object({
  items: z.array(
    z.object({
      id: z.string(),
      transitionId: z.string(),
      sendId: z.string(),
      eventType: z.string(),
      event: z.object({ type: z.string() }).catchall(z.unknown()),
      dueAt: isoTime,
      status: z.enum(['scheduled', 'fired', 'cancelled', 'stale']),
      createdAt: isoTime,
      settledAt: isoTime.nullable(),
    }),
  ),
});
export const rejectionList = z.object({
  items: z.array(
    z.object({
      code: z.string(),
      state: z.string().nullable(),
      eventType: z.string(),
      message: z.string(),
      idempotencyKey: z.string().nullable(),
      actor: z.string().nullable(),
      at: isoTime,
    }),
  ),
});

export const effectParams = entityParams.extend({ effectId: z.string().min(1).max(300).describe('The effect id (GET .../effects lists them)') });
export const retryBody = z.strictObject({
  reason: z.string().min(1).max(1000).describe('Why the effect is retried: recorded on the effect with the key that asked'),
});

const accessToken = z.string().max(600).optional().describe('The API key, for clients that cannot send an Authorization header (browsers opening a stream)');
export const entityQuery = z.strictObject({
  waitFor: z.string().min(1).max(200).regex(noControl, 'no control characters').optional()
    .describe("Answer once the entity is in this state (or inside it: 'paused' matches 'paused.idle'), or 408 TG_WAIT_TIMEOUT with the state it is in"),
  timeoutMs: z.coerce.number().int().min(0).max(120_000).default(30_000).describe('With waitFor: how long to wait, 0 to 120,000 ms. Default 30,000'),
});
const maxDurationMs = z.coerce.number().int().min(1).max(86_400_000).optional().describe('End the stream after this long (clients reconnect). Default: never');
export const streamQuery = z.strictObject({
  machine: z.string().min(1).max(100).optional().describe('Only transitions of this machine. Default: all the key may access'),
  stats: z.enum(['true', 'false']).optional().describe('Also send `stats` events: each streamed machine\'s stats (GET /v1/machines/{machine}/stats), when they change'),
  maxDurationMs,
  access_token: accessToken,
});
export const entityStreamQuery = z.strictObject({ maxDurationMs, access_token: accessToken });
export const pageQuery = z.strictObject({ access_token: accessToken });

const stateStats = z.object({
  count: z.number().int().describe('Entities in this state or inside it'),
  stuck: z.object({ count: z.number().int(), maxOverMs: z.number().nullable() }).nullable().describe("Over the state's meta.maxDwell; null: the state has none"),
  refusals: z.array(z.object({ event: z.string(), code: z.string(), count: z.number().int() })).describe('Refused attempts in the window, per event and code'),
  effects: z.object({ pending: z.number().int(), dispatched: z.number().int(), failed: z.number().int() }).describe('Effects emitted entering this state, not completed'),
});
const versionShare = z.object({ version: z.number().int(), count: z.number().int(), share: z.number().describe('count / the version\'s total, 0 to 1') });
const versionStatsView = z.object({
  machine: z.string(),
  versions: z.array(z.object({ version: z.number().int(), transitions: z.number().int(), entities: z.number().int() })).describe('Versions compared, oldest first'),
  threshold: z.number(),
  since: isoTime.nullable().describe('Transitions counted since; null: all'),
  transitions: z
    .array(z.object({ state: z.string(), event: z.string(), shares: z.array(versionShare), difference: z.number(), flagged: z.boolean() }))
    .describe("Per (state left, event): each version's share of its transitions; flagged when the difference is over the threshold"),
  states: z.array(z.object({ state: z.string(), shares: z.array(versionShare), difference: z.number(), flagged: z.boolean() })).describe("Per stored state: each version's share of its entities"),
});
export const machineStatsView = z.object({
  machine: z.string(),
  version: z.number().int(),
  at: isoTime,
  entities: z.number().int(),
  stateCounts: z.record(z.string(), z.number().int()).describe('Entities per state string, as EntityView.state writes it'),
  states: z.record(z.string(), stateStats).describe('Every state path of the machine'),
  conflictRetries: z.array(z.object({ from: z.string(), to: z.string(), count: z.number() })).describe('Version-conflict retries per edge, counted by the answering process since it started'),
  refusalWindowMinutes: z.number().int(),
  freezes: z
    .array(
      z.object({
        id: z.string(),
        machine: z.string(),
        events: z.array(z.string()).nullable(),
        states: z.array(z.string()).nullable(),
        except: z.array(z.string()).nullable(),
        reason: z.string(),
        until: isoTime.nullable(),
      }),
    )
    .describe('Freezes of the machine in force now (docs/governance.md)'),
  byVersion: versionStatsView.optional().describe('With `byVersion=true`: the canary comparison between machine versions'),
});

export const machineStatsQuery = z.strictObject({
  byVersion: z.enum(['true', 'false']).optional().describe('Add `byVersion`: per machine version, transitions per (state, event) and entities per state, shares compared'),
  threshold: z.coerce.number().min(0).max(1).optional().describe('With byVersion: flag shares that differ between versions by more than this, 0 to 1. Default 0.05'),
  since: isoTime.optional().describe('With byVersion: count transitions committed since this time only. Default: all'),
});

const graphNode: z.ZodType = z.lazy(() =>
  z.object({
    path: z.string().describe("Dotted state path; '' for the root"),
    key: z.string(),
    type: z.enum(['atomic', 'compound', 'parallel', 'final', 'history']),
    history: z.enum(['shallow', 'deep']).nullable(),
    initial: z.boolean().describe("The parent's initial state"),
    maxDwellMs: z.number().nullable(),
    description: z.string().nullable(),
    children: z.array(graphNode),
  }),
);
export const machineGraphView = z.object({
  name: z.string(),
  root: graphNode,
  edges: z.array(
    z.object({
      id: z.string(),
      source: z.string(),
      targets: z.array(z.string()),
      event: z.string().describe("EVENT, 'after <delay>', 'done', 'always'"),
      guard: z.string().nullable(),
      effects: z.array(z.string()),
    }),
  ),
});
export const transitionPage = z.object({
  items: z.array(
    transitionView.extend({
      snapshot: z.object({ value: stateValue, status: z.string(), context: z.unknown() }).optional().describe('With withSnapshots=true: the entity right after'),
    }),
  ),
  nextAfterSeq: z.number().int().nullable(),
});
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
