import { randomUUID } from 'node:crypto';
import { evaluateInitial } from '../engine/evaluate.ts';
import { TollgateError, entityRef } from '../errors.ts';
import { refuseIfShadowed } from './machine-mode.ts';
import { fingerprint } from './fingerprint.ts';
import { commitInput, entityAfter, transitionViewOf, tryCommit, type SendOptions } from './gate.ts';
import { writeArgs, type RuntimeContext } from './runtime-context.ts';
import { toEntityView, type EntityView } from './views.ts';
import { firstIssue } from '../zod-issue.ts';

/** What `create` returns: the entity, and whether an earlier create with the same key answered. */
export type CreateResult<TContext = Record<string, unknown>> = EntityView<TContext> & {
  /** True when this idempotency key had already created the entity with the same input: nothing was written. */
  readonly replayed: boolean;
};

/**
 * Creates an entity in the machine's initial state: the creation is transition 1 (`xstate.init`), committed like
 * any other with its entry effects and timers. An existing id is `TG_ENTITY_EXISTS`, unless the same idempotency
 * key created it with the same input (then the stored entity, `replayed: true`).
 */
export async function createEntity(
  ctx: RuntimeContext,
  machine: string,
  entityId: string,
  rawInput: unknown,
  options: SendOptions = {},
): Promise<CreateResult> {
  const { definition, id, key, actor } = writeArgs(ctx, machine, entityId, options);
  const parsed = definition.input.safeParse(rawInput ?? {});
  if (!parsed.success) {
    const { field, message } = firstIssue(parsed.error, '(input)');
    throw new TollgateError(
      'TG_INVALID_INPUT',
      `Input to create ${entityRef(machine, id)} is invalid: '${field}' ${message}.`,
      { machine, entityId: id, field },
    );
  }
  await refuseIfShadowed(ctx, machine, id, 'xstate.init');
  const event = { type: 'xstate.init', input: parsed.data };
  const print = fingerprint(event);
  const accepted = evaluateInitial(definition.machine, parsed.data, { machine, entityId: id });
  const transitionId = randomUUID();
  const now = new Date(ctx.clock.now());
  const none = { version: 0, machineVersion: definition.version, snapshot: accepted.snapshot, state: '', stateEnteredAt: now };
  const input = commitInput({ machine, id, loaded: none, accepted, definition, transitionId, now, event, key, print, actor, options: {}, policyVersion: null });
  const stateEnteredAt = await tryCommit(ctx, input);
  if (stateEnteredAt) {
    const loaded = { version: 1, machineVersion: definition.version, snapshot: accepted.snapshot, state: accepted.state, stateEnteredAt };
    ctx.cache.set(machine, id, loaded);
    ctx.metrics.transitions.inc({ machine, from: '(none)', to: accepted.state, event: event.type });
    ctx.feed.publish({ transition: transitionViewOf(input, accepted), snapshot: accepted.snapshot });
    return { ...toEntityView({ machine, id, ...loaded }, definition.events), replayed: false };
  }

  const first = await ctx.queries.transitionBySeq(machine, id, 1);
  if (key !== null && first && first.idempotency_key === key) {
    if (first.fingerprint !== print) {
      throw new TollgateError(
        'TG_IDEMPOTENCY_KEY_REUSED',
        `Idempotency key '${key}' already created ${entityRef(machine, id)} with different input. Use a new key for a new request.`,
        { machine, entityId: id },
      );
    }
    ctx.metrics.replays.inc({ machine });
    return { ...entityAfter(definition, first), replayed: true };
  }
  throw new TollgateError(
    'TG_ENTITY_EXISTS',
    `${entityRef(machine, id)} already exists. Send it events, or create under a new id.`,
    { machine, entityId: id },
  );
}
