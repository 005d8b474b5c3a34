import type { EventObject, StateValue } from 'xstate';
import { nextEvents } from '../engine/accepted-events.ts';
import type { AnyMachineDefinition } from '../engine/definition.ts';
import { evaluate } from '../engine/evaluate.ts';
import { TollgateError, entityRef } from '../errors.ts';
import type { Tollgate } from '../runtime/create-tollgate.ts';
import { admit } from '../runtime/admission.ts';
import { throwIfWrittenByNewerVersion } from '../runtime/deploy-skew.ts';
import { refusal } from '../runtime/gate.ts';
import { loadEntity } from '../runtime/load.ts';
import { checkIdentifier } from '../runtime/runtime-context.ts';

/** What an event would do to an entity now, computed without writing anything. */
export interface DryRunResult {
  readonly accepted: true;
  readonly machine: string;
  readonly id: string;
  readonly from: { readonly value: StateValue; readonly state: string; readonly version: number };
  readonly to: { readonly value: StateValue; readonly state: string; readonly status: 'active' | 'done'; readonly context: Record<string, unknown> };
  readonly nextEvents: readonly string[];
  readonly effects: ReadonlyArray<{ readonly type: string; readonly params: Readonly<Record<string, unknown>> }>;
  readonly timers: ReadonlyArray<{ readonly sendId: string; readonly eventType: string; readonly delayMs: number; readonly dueAt: string }>;
  readonly cancels: readonly string[];
}

/**
 * Evaluates `rawEvent` for the entity as the gate would (event schema, policy, pure engine) and returns the
 * would-be target, effects and timers, or throws the coded refusal the gate would throw. Nothing is written,
 * recorded or counted: a dry run is a question, not an attempt.
 */
export async function dryRun(tg: Tollgate, machine: string, entityId: string, rawEvent: unknown): Promise<DryRunResult> {
  const definition = tg.internals.definition(machine);
  const id = checkIdentifier('entity id', entityId, machine);
  const ctx = tg.internals.context;
  let event: EventObject;
  try {
    event = parseEvent(definition, machine, id, rawEvent);
  } catch (error) {
    // As in send: an event only a newer release knows, for an entity that release wrote, is its to judge.
    await throwIfWrittenByNewerVersion(ctx, definition, machine, id);
    throw error;
  }
  const loaded = await loadEntity(ctx, definition, machine, id, { forWrite: true });
  const admission = await admit(ctx, { machine, id, loaded, event, dryRun: true });
  if (!admission.allowed) throw admission.error;
  const decision = evaluate(definition.machine, loaded.snapshot, event, { machine, entityId: id });
  if (decision.kind === 'refused') throw refusal(machine, id, event, decision, true);
  const now = ctx.clock.now();
  return {
    accepted: true,
    machine,
    id,
    from: { value: loaded.snapshot.value, state: loaded.state, version: loaded.version },
    to: {
      value: decision.value,
      state: decision.state,
      status: decision.snapshot.status === 'done' ? 'done' : 'active',
      context: decision.snapshot.context as Record<string, unknown>,
    },
    nextEvents: nextEvents(decision.snapshot, Object.keys(definition.events)),
    effects: decision.effects.map((effect) => ({ type: effect.type, params: effect.params })),
    timers: decision.timers.map((timer) => ({
      sendId: timer.sendId,
      eventType: timer.event.type,
      delayMs: timer.delayMs,
      dueAt: new Date(now + timer.delayMs).toISOString(),
    })),
    cancels: [...decision.cancels],
  };
}

// The gate's own event check (runtime/gate.ts keeps it private): the type must be one of the machine's caller
// events and the payload must pass its schema.
function parseEvent(definition: AnyMachineDefinition, machine: string, id: string, raw: unknown): EventObject {
  const type = typeof raw === 'object' && raw !== null ? (raw as { type?: unknown }).type : undefined;
  const schema = typeof type === 'string' && Object.hasOwn(definition.events, type) ? definition.events[type] : undefined;
  if (!schema) {
    const shown = typeof type === 'string' ? `'${type.slice(0, 60)}'` : `no string 'type'`;
    throw new TollgateError(
      'TG_INVALID_EVENT',
      `Event with ${shown} is not an event of machine '${machine}' (for ${entityRef(machine, id)}). Known events: ${Object.keys(definition.events).join(', ')}.`,
      { machine, entityId: id, event: typeof type === 'string' ? type.slice(0, 60) : '(invalid)' },
    );
  }
  const { type: _type, ...payload } = raw as Record<string, unknown>;
  const parsed = schema.safeParse(payload);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new TollgateError(
      'TG_INVALID_EVENT',
      `Event '${String(type)}' for ${entityRef(machine, id)} has an invalid payload: '${issue?.path.join('.') || '(payload)'}' ${issue?.message ?? 'is invalid'}.`,
      { machine, entityId: id, event: String(type) },
    );
  }
  return { ...(parsed.data as object), type: type as string };
}
