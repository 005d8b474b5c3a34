/**
 * Differential fidelity: one random command sequence applied (a) to ONE long-lived XState actor in memory and
 * (b) through the persisted runtime, one send per event, the snapshot re-read from Postgres every time
 * (`snapshotCacheSize: 0`). After every command the state value, context, accepted/refused outcome, the custom
 * actions and the pending timers must agree.
 *
 * Time: the actor runs on XState's SimulatedClock, the runtime on a ManualClock; both start together and move
 * only on a `tick` command, which advances both to the actor's next due timer. The actor fires its own timers
 * (its real scheduler, with cancellations); the runtime fires its timer rows that fell due the way the timer
 * worker does (`internals.send` with `firedTimerId`, the timer id as idempotency key), earliest first. Delays in
 * the stress machines are chosen so that no two timers fall due at the same instant: SimulatedClock orders ties
 * arbitrarily.
 */
import { isDeepStrictEqual } from 'node:util';
import fc from 'fast-check';
import { createActor, SimulatedClock, type AnyActorRef, type AnyMachineSnapshot, type EventObject, type InspectionEvent } from 'xstate';
import { ManualClock, isTollgateError, type AnyMachineDefinition, type Tollgate } from '../../src/index.ts';
import { customActions, handles, jsonOf, type ExpectedEffect } from '../../src/testing/oracle.ts';

/** An event with its payload. */
export type SampleEvent = EventObject & { readonly [key: string]: unknown };

export type Command = { readonly kind: 'send'; readonly event: SampleEvent } | { readonly kind: 'tick' };

export interface DifferentialSpec {
  readonly name: string;
  readonly definition: AnyMachineDefinition;
  readonly inputs: readonly unknown[];
  /** Events to draw from, payloads included; include guard-failing payloads and events illegal in most states. */
  readonly events: readonly SampleEvent[];
  /**
   * Hand-written sequences always run before the random ones (fast-check `examples`): they make sure the deep
   * corners (history, guards, timers) are exercised whatever the seed. Tokens: `tick`, `TYPE` (first sample of that
   * type) or `TYPE#n` (its n-th sample, from 1).
   */
  readonly scenarios?: ReadonlyArray<{ readonly input: number; readonly commands: readonly string[] }>;
}

/** Turns scenario tokens into commands. */
export function scenarioCommands(spec: DifferentialSpec, tokens: readonly string[]): Command[] {
  return tokens.map((token): Command => {
    if (token === 'tick') return { kind: 'tick' };
    const [type, nth] = token.split('#');
    const event = spec.events.filter((e) => e.type === type)[Number(nth ?? 1) - 1];
    if (!event) throw new Error(`scenario of ${spec.name}: no sample '${token}'`);
    return { kind: 'send', event };
  });
}

/** A sequence of commands: mostly sends, some ticks. */
export function commandsArbitrary(spec: DifferentialSpec, maxLength = 20): fc.Arbitrary<Command[]> {
  const send = fc.constantFrom(...spec.events).map((event): Command => ({ kind: 'send', event }));
  const tick = fc.constant<Command>({ kind: 'tick' });
  return fc.array(fc.oneof({ weight: 3, arbitrary: send }, { weight: 1, arbitrary: tick }), { minLength: 1, maxLength, size: 'max' });
}

class Divergence extends Error {
  override readonly name = 'Divergence';
}

interface Observed {
  readonly outcome: string;
  readonly value: unknown;
  readonly context: unknown;
  readonly actions: readonly ExpectedEffect[];
  readonly timers: { readonly types: readonly string[]; readonly dues: readonly number[] };
}

let counter = 0;

/** Runs one sequence on both sides; throws a Divergence naming the command that differed. */
/** What the runs exercised, so a test can insist the sequences reached deep enough to mean something. */
export interface FidelityStats {
  readonly states: Set<string>;
  readonly outcomes: Set<string>;
}

export async function runDifferential(tg: Tollgate, spec: DifferentialSpec, input: unknown, commands: readonly Command[], stats?: FidelityStats): Promise<void> {
  const clock = tg.internals.context.clock;
  if (!(clock instanceof ManualClock)) throw new Error('runDifferential needs a runtime on a ManualClock');
  const t0 = clock.now();
  const sim = new SimulatedClock();
  const recorded: ExpectedEffect[] = [];
  // One actor and no children (tollgate refuses them): every action event is the machine's own.
  const actor = createActor(spec.definition.machine, {
    input,
    clock: sim,
    inspect: (event: InspectionEvent) => {
      if (event.type === '@xstate.action') recorded.push(...customActions([event.action]));
    },
  });
  actor.start();

  const id = `diff-${process.pid}-${++counter}`;
  await tg.create(spec.name, id, input as never);
  const log: string[] = [`create ${JSON.stringify(input)}`];
  let effectsSeen = 0;

  const compare = async (label: string, actorOutcome: string, runtimeOutcome: string) => {
    const snap = actor.getSnapshot() as AnyMachineSnapshot;
    stats?.states.add(JSON.stringify(snap.value));
    const entity = await tg.get(spec.name, id);
    const effects = await tg.effects(spec.name, id);
    const fresh = effects.slice(effectsSeen).map((e) => ({ type: e.type, params: jsonOf(e.params) }));
    effectsSeen = effects.length;
    const rows = (await tg.timers(spec.name, id)).filter((t) => t.status === 'scheduled');
    const expected: Observed = { outcome: actorOutcome, value: jsonOf(snap.value), context: jsonOf(snap.context), actions: [...recorded], timers: actorTimers(actor, sim) };
    const actual: Observed = {
      outcome: runtimeOutcome,
      value: jsonOf(entity.value),
      context: jsonOf(entity.context),
      actions: fresh,
      timers: { types: rows.map((t) => t.eventType).sort(), dues: rows.map((t) => Date.parse(t.dueAt) - t0).sort((a, b) => a - b) },
    };
    recorded.length = 0;
    for (const key of Object.keys(expected) as Array<keyof Observed>) {
      if (!isDeepStrictEqual(expected[key], actual[key])) {
        throw new Divergence(
          `${spec.name}: ${key} differs after ${label}\n  actor (XState): ${JSON.stringify(expected[key])}\n  runtime:        ${JSON.stringify(actual[key])}\n` +
            `  sequence so far: ${log.join(' | ')}\n  entity: ${id}`,
        );
      }
    }
  };

  await compare('create', 'accepted', 'accepted');
  for (const command of commands) {
    if (command.kind === 'send') {
      const { event } = command;
      log.push(`${event.type}${Object.keys(event).length > 1 ? JSON.stringify(event) : ''}`);
      const before = actor.getSnapshot() as AnyMachineSnapshot;
      const expected = !handles(before, event.type) ? 'TG_ILLEGAL_TRANSITION' : before.can(event) ? 'accepted' : 'TG_GUARD_REJECTED';
      // A stopped (final) actor ignores events and XState warns about it: nothing to send.
      if (before.status === 'active') actor.send(event);
      let outcome = 'accepted';
      try {
        await tg.send(spec.name, id, event as never);
      } catch (error) {
        if (!isTollgateError(error)) throw error;
        outcome = error.code;
      }
      await compare(`'${event.type}'`, expected, outcome);
      stats?.outcomes.add(outcome);
    } else {
      const due = nextDue(sim);
      log.push(due === undefined ? 'tick(nothing due)' : `tick(${due})`);
      if (due === undefined) {
        await compare('tick with no timer pending', 'none', 'none');
        continue;
      }
      sim.set(due);
      clock.set(t0 + due);
      const fired = await fireDue(tg, spec.name, id, t0 + due);
      await compare(`tick to +${due} ms`, 'fired', fired > 0 ? 'fired' : 'no timer row fell due');
      stats?.outcomes.add('timer fired');
    }
  }
  actor.stop();
}

/** What the timer worker does, deterministically: every scheduled row due by `now`, earliest first. */
async function fireDue(tg: Tollgate, machine: string, id: string, now: number): Promise<number> {
  let fired = 0;
  for (;;) {
    const due = (await tg.timers(machine, id))
      .filter((t) => t.status === 'scheduled' && Date.parse(t.dueAt) <= now)
      .sort((a, b) => Date.parse(a.dueAt) - Date.parse(b.dueAt) || a.createdAt.localeCompare(b.createdAt) || a.id.localeCompare(b.id));
    const timer = due[0];
    if (!timer) return fired;
    try {
      await tg.internals.send(machine, id, { type: timer.eventType }, { internal: true, firedTimerId: timer.id, idempotencyKey: timer.id });
    } catch (error) {
      // A timer whose state was left without cancelling it: the worker would count it stale. Surface it.
      throw new Divergence(`timer ${timer.sendId} was still scheduled but its event is refused: ${String(error)}`);
    }
    fired++;
  }
}

// SimulatedClock keeps its timeouts private; reading them is the only way to know what the actor will fire.
type SimTimeouts = Map<number, { start: number; timeout: number }>;

function nextDue(sim: SimulatedClock): number | undefined {
  const ends = [...(sim as unknown as { timeouts: SimTimeouts }).timeouts.values()].map((t) => t.start + t.timeout);
  return ends.length ? Math.min(...ends) : undefined;
}

/** Pending timers as two sorted lists (event types; due times relative to the start), which both sides can give. */
function actorTimers(actor: AnyActorRef, sim: SimulatedClock): { types: string[]; dues: number[] } {
  const system = actor.system as unknown as { getSnapshot(): { _scheduledEvents: Record<string, { event: EventObject }> } };
  const types = Object.values(system.getSnapshot()._scheduledEvents).map((s) => s.event.type).sort();
  const dues = [...(sim as unknown as { timeouts: SimTimeouts }).timeouts.values()].map((t) => t.start + t.timeout).sort((a, b) => a - b);
  return { types, dues };
}

/**
 * Runs the property with fast-check, printing the seed and path of a failure so it can be replayed with
 * `FC_SEED=<seed> FC_PATH=<path>`.
 */
export async function checkFidelity(tg: Tollgate, spec: DifferentialSpec, numRuns: number): Promise<FidelityStats> {
  const stats: FidelityStats = { states: new Set(), outcomes: new Set() };
  const property = fc.asyncProperty(fc.constantFrom(...spec.inputs), commandsArbitrary(spec), (input, commands) =>
    runDifferential(tg, spec, input, commands, stats),
  );
  const seed = process.env.FC_SEED === undefined ? undefined : Number(process.env.FC_SEED);
  const examples = (spec.scenarios ?? []).map((s): [unknown, Command[]] => [spec.inputs[s.input], scenarioCommands(spec, s.commands)]);
  // fast-check counts examples among numRuns: the random runs come on top of the scenarios.
  const details = await fc.check(property, { numRuns: examples.length + numRuns, seed, path: process.env.FC_PATH, examples });
  if (details.failed) {
    const message = `${spec.name}: differential fidelity failed. Replay with FC_SEED=${details.seed} FC_PATH=${details.counterexamplePath ?? ''}\n` +
      `counterexample: ${JSON.stringify(details.counterexample)}\n${details.errorInstance instanceof Error ? details.errorInstance.message : String(details.errorInstance)}`;
    console.error(message);
    throw new Error(message);
  }
  return stats;
}
