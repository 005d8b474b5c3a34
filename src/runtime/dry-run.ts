import type { EventObject, StateValue } from 'xstate';
import { nextEvents } from '../engine/accepted-events.ts';
import { checkedEvent, decide } from './gate.ts';
import { loadEntity } from './load.ts';
import { checkIdentifier } from './identifier.ts';
import { machineOf, type RuntimeContext } from './runtime-context.ts';

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
 * `tg.dryRun`: the gate's own steps up to the commit (event check, load, policy and freezes, pure evaluation), and
 * the would-be target, effects and timers, or the coded refusal the gate would throw. Nothing is written,
 * recorded or counted: a dry run is a question, not an attempt.
 */
export async function dryRun(ctx: RuntimeContext, machine: string, entityId: string, rawEvent: unknown): Promise<DryRunResult> {
  const definition = machineOf(ctx, machine);
  const id = checkIdentifier('entity id', entityId, machine);
  const event: EventObject = await checkedEvent(ctx, definition, machine, id, rawEvent, { count: false });
  const loaded = await loadEntity(ctx, definition, machine, id, { forWrite: true });
  const decided = await decide(ctx, definition, machine, id, loaded, event, true);
  if (decided.kind !== 'accepted') throw decided.error;
  const decision = decided.accepted;
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
