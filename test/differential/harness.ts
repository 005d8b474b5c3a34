/**
 * Differential fidelity: one random command sequence applied (a) to ONE long-lived XState actor in memory and
 * (b) through the persisted runtime, one send per event, the snapshot re-read from the database every time
 * (`snapshotCacheSize: 0`). After every command these must agree: the accepted/refused outcome, the persisted
 * snapshot as stored (value, context, status, output, history), the tags and meta of the snapshot the runtime
 * restores from its row, the custom actions written as effects, and the pending timers (send ids, event types, due
 * times). (`tg.get`'s view of the same row is held to XState by the path tests and the runtime suites.)
 *
 * What an actor cannot do, the runtime answers as documented: an event whose evaluation throws (a guard, an
 * `assign`, an `output`) is refused as `TG_MACHINE_FAULT` and changes nothing, so the actor is not sent it (it
 * would stop with an error); a timer whose event throws is marked stale by the timer worker, so the actor's timer
 * is dropped unfired. A timer whose event the state no longer takes (or whose guard fails) is delivered to the actor,
 * which ignores it, and marked stale by the runtime.
 *
 * Time: the harness owns the actor's scheduler (the actor's `schedule`/`cancel`/`cancelAll` record timers in a
 * list instead of a clock), so that a `tick` fires exactly one timer, the earliest due (ties in the order XState
 * scheduled them), on both sides: the actor is sent that timer's event; the runtime's matching timer row is fired
 * by the timer worker's own function (`fireTimer`) at that instant on its ManualClock. Timers that fall due at the
 * same instant therefore fire in one known order on both sides (the real worker may fire them in either).
 */
import { isDeepStrictEqual } from 'node:util';
import fc from 'fast-check';
import { createActor, type AnyActorRef, type AnyMachineSnapshot, type EventObject, type InspectionEvent } from 'xstate';
import { ManualClock, isTollgateError, type AnyMachineDefinition, type Tollgate } from '../../src/index.ts';
import { restoreSnapshot } from '../../src/engine/restore.ts';
import { quoteIdent } from '../../src/store/sql-client.ts';
import { fireTimer } from '../../workers/timers.ts';
import { customActions, jsonOf, oracleStep, type ExpectedEffect } from '../../src/testing/oracle.ts';
import { testAccess } from '../../src/runtime/test-access.ts';
import { portsOf } from '../../src/runtime/ports.ts';

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
  /** Longest random sequence (default 20). */
  readonly maxLength?: number;
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
export function commandsArbitrary(spec: DifferentialSpec, maxLength = spec.maxLength ?? 20): fc.Arbitrary<Command[]> {
  const send = fc.constantFrom(...spec.events).map((event): Command => ({ kind: 'send', event }));
  const tick = fc.constant<Command>({ kind: 'tick' });
  return fc.array(fc.oneof({ weight: 3, arbitrary: send }, { weight: 1, arbitrary: tick }), { minLength: 1, maxLength, size: 'max' });
}

export class Divergence extends Error {
  override readonly name = 'Divergence';
}

/** What the runs exercised, so a test can insist the sequences reached deep enough to mean something. */
export interface FidelityStats {
  readonly states: Set<string>;
  readonly outcomes: Set<string>;
}

interface Observed {
  readonly outcome: string;
  readonly snapshot: unknown;
  readonly restored: unknown;
  readonly actions: readonly ExpectedEffect[];
  readonly timers: unknown;
}

/** A delayed event the actor asked its scheduler for. */
interface ActorTimer {
  readonly source: AnyActorRef;
  readonly key: string;
  readonly sendId: string;
  readonly event: EventObject;
  /** Due time, in ms from the start of the sequence. */
  readonly due: number;
  readonly seq: number;
}

interface SchedulerLike {
  schedule(source: AnyActorRef, target: AnyActorRef, event: EventObject, delay: number, id?: string): void;
  cancel(source: AnyActorRef, id: string): void;
  cancelAll(actorRef: AnyActorRef): void;
}

/**
 * Takes over the actor's scheduler. XState's own keeps one clock timeout per `${sessionId}.${id}`: scheduling the
 * same id again leaves the earlier timeout running, and `cancel` clears only the latest. The list below does the same.
 */
class ActorTimers {
  readonly pending: ActorTimer[] = [];
  now = 0;
  private seq = 0;

  constructor(actor: AnyActorRef) {
    const scheduler = (actor.system as unknown as { scheduler: SchedulerLike }).scheduler;
    scheduler.schedule = (source, _target, event, delay, id = `anonymous-${this.seq}`) => {
      this.pending.push({ source, key: `${source.sessionId}.${id}`, sendId: id, event, due: this.now + delay, seq: this.seq++ });
    };
    scheduler.cancel = (source, id) => {
      const key = `${source.sessionId}.${id}`;
      const latest = this.pending.findLastIndex((t) => t.key === key);
      if (latest >= 0) this.pending.splice(latest, 1);
    };
    scheduler.cancelAll = (ref) => {
      for (let i = this.pending.length - 1; i >= 0; i--) if (this.pending[i]?.source === ref) this.pending.splice(i, 1);
    };
  }

  /** Removes and returns the timer that fires next: the earliest due, then the first scheduled. */
  takeNext(): ActorTimer | undefined {
    const next = [...this.pending].sort((a, b) => a.due - b.due || a.seq - b.seq)[0];
    if (next) this.pending.splice(this.pending.indexOf(next), 1);
    return next;
  }

  view(): unknown {
    return this.pending.map((t) => `${t.due} ${t.sendId} ${t.event.type}`).sort();
  }
}

const silent = { error: () => {}, warn: () => {}, info: () => {} };
let counter = 0;

/**
 * An entity an older release created and drove (test/differential/migrated.ts): the sequence continues from it, after
 * its migration to `spec.definition`, and the actor is the new version's, sent the same events from the same input.
 */
export interface MigratedStart {
  readonly id: string;
  /** When the older release created it: the actor's time 0. */
  readonly t0: number;
  /** The events the older release was sent (the actor is sent those its own XState does not throw on). */
  readonly prefix: readonly SampleEvent[];
  /** Still stored at the older version: the first command is a send that migrates it (else it was migrated in bulk). */
  readonly lazy: boolean;
}

/** Runs one sequence on both sides; throws a Divergence naming the command that differed. */
export async function runDifferential(tg: Tollgate, spec: DifferentialSpec, input: unknown, commands: readonly Command[], stats?: FidelityStats, start?: MigratedStart): Promise<void> {
  const clock = testAccess(tg).context.clock;
  if (!(clock instanceof ManualClock)) throw new Error('runDifferential needs a runtime on a ManualClock');
  const machine = spec.definition.machine;
  const t0 = start?.t0 ?? clock.now();
  const recorded: ExpectedEffect[] = [];
  // One actor and no children (tollgate refuses them): every action event is the machine's own.
  const actor = createActor(machine, {
    input,
    logger: () => {},
    inspect: (event: InspectionEvent) => {
      if (event.type === '@xstate.action') recorded.push(...customActions([event.action]));
    },
  });
  const timers = new ActorTimers(actor);
  actor.start();

  const id = start?.id ?? `diff-${process.pid}-${++counter}`;
  const target = { machine: spec.name, entityId: id, machineVersion: spec.definition.version };
  const entitiesTable = `${quoteIdent(testAccess(tg).schema)}.entities`;
  const log: string[] = [`create ${JSON.stringify(input)}`];
  let effectsSeen = 0;
  if (start) {
    // The new version's actor lives the entity's recorded history; time went on until the deploy.
    for (const event of start.prefix) {
      const snapshot = actor.getSnapshot() as AnyMachineSnapshot;
      if (snapshot.status === 'active' && oracleStep(machine, snapshot, event).refusal !== 'TG_MACHINE_FAULT') actor.send(event);
      log.push(`${event.type} (older release)`);
    }
    recorded.length = 0;
    timers.now = clock.now() - t0;
    effectsSeen = (await tg.effects(spec.name, id)).length;
  } else {
    await tg.create(spec.name, id, input as never);
  }

  const compare = async (label: string, actorOutcome: string, runtimeOutcome: string) => {
    const snap = actor.getSnapshot() as AnyMachineSnapshot;
    stats?.states.add(JSON.stringify(snap.value));
    const [effects, timerRows, rows] = await Promise.all([
      tg.effects(spec.name, id),
      tg.timers(spec.name, id),
      testAccess(tg).client.query<{ snapshot: unknown }>(`SELECT snapshot FROM ${entitiesTable} WHERE machine = $1 AND id = $2`, [spec.name, id]),
    ]);
    const stored = rows[0]?.snapshot;
    const restored = restoreSnapshot(machine, stored, target);
    const fresh = effects.slice(effectsSeen).map((e) => ({ type: e.type, params: jsonOf(e.params) }));
    effectsSeen = effects.length;
    const scheduled = timerRows.filter((t) => t.status === 'scheduled').map((t) => `${Date.parse(t.dueAt) - t0} ${t.sendId} ${t.eventType}`).sort();
    const expected: Observed = {
      outcome: actorOutcome,
      snapshot: normalized(actor.getPersistedSnapshot()),
      restored: { tags: [...snap.tags].sort(), meta: jsonOf(snap.getMeta()) },
      actions: [...recorded],
      timers: timers.view(),
    };
    const actual: Observed = {
      outcome: runtimeOutcome,
      snapshot: normalized(stored),
      restored: { tags: [...restored.tags].sort(), meta: jsonOf(restored.getMeta()) },
      actions: fresh,
      timers: scheduled,
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

  if (!start) await compare('create', 'accepted', 'accepted');
  else if (!start.lazy) await compare('the bulk migration', 'migrated', 'migrated');
  for (const command of commands) {
    if (command.kind === 'send') {
      const { event } = command;
      log.push(`${event.type}${Object.keys(event).length > 1 ? JSON.stringify(event) : ''}`);
      const before = actor.getSnapshot() as AnyMachineSnapshot;
      // XState's own answer (its descriptors, can() and transition()); a throwing evaluation is TG_MACHINE_FAULT.
      const expected = oracleStep(machine, before, event).refusal ?? 'accepted';
      // A stopped (final) actor ignores events and XState warns about it; a throwing one would stop the actor.
      if (before.status === 'active' && expected !== 'TG_MACHINE_FAULT') actor.send(event);
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
      const timer = timers.takeNext();
      if (!timer) {
        log.push('tick(nothing due)');
        await compare('tick with no timer pending', 'none', 'none');
        continue;
      }
      // A timer already due (a migrated entity's, armed from when its state was entered) fires now, on both sides.
      const at = Math.max(timers.now, timer.due);
      log.push(`tick(+${at} ${timer.event.type})`);
      timers.now = at;
      const verdict = oracleStep(machine, actor.getSnapshot() as AnyMachineSnapshot, timer.event).refusal;
      const expected = verdict ? `stale: ${verdict}` : 'fired';
      if (verdict !== 'TG_MACHINE_FAULT') actor.send(timer.event);
      clock.set(t0 + at);
      const outcome = await fireRow(tg, spec.name, id, t0, timer);
      await compare(`tick to +${at} ms (${timer.event.type})`, expected, outcome);
      stats?.outcomes.add(`timer ${outcome}`);
    }
  }
  actor.stop();
}

/**
 * A persisted snapshot as JSON, its history entries sorted by state id: a history entry is the set of states to
 * re-enter, and XState enters them in document order whatever their order in the list (the runtime, which restores
 * the snapshot before each event, lists parallel regions' states in another order than a live actor does).
 */
function normalized(snapshot: unknown): unknown {
  const json = jsonOf(snapshot) as { historyValue?: Record<string, Array<{ id: string }>> } | undefined;
  if (json?.historyValue) {
    for (const entries of Object.values(json.historyValue)) entries.sort((a, b) => a.id.localeCompare(b.id));
  }
  return json;
}

/** Fires the runtime's row for the actor's timer with the timer worker's own function; says what became of it. */
async function fireRow(tg: Tollgate, machine: string, id: string, t0: number, timer: ActorTimer): Promise<string> {
  const row = (await tg.timers(machine, id))
    .filter((t) => t.status === 'scheduled' && t.sendId === timer.sendId && t.eventType === timer.event.type && Date.parse(t.dueAt) - t0 === timer.due)
    .sort((a, b) => a.createdAt.localeCompare(b.createdAt))[0];
  if (!row) return 'no such timer row';
  const clock = testAccess(tg).context.clock;
  await fireTimer(portsOf(tg), row.id, { clock, logger: silent });
  const status = (await tg.timers(machine, id)).find((t) => t.id === row.id)?.status;
  if (status !== 'stale') return String(status);
  const rejection = (await tg.rejections(machine, id)).at(-1);
  return `stale: ${rejection?.code ?? '(no rejection recorded)'}`;
}

/**
 * Runs the property: the scenarios, then `numRuns` random sequences drawn by fast-check. With several runtimes
 * (lanes, each on its own ManualClock) the sequences are shared out among them, so that one lane's database round
 * trips overlap another's work; a failure then names the seed, and `FC_SEED=<seed>` replays the same sequences one
 * at a time on the first lane, where fast-check shrinks the failure to its smallest sequence (`FC_PATH` replays
 * that one). `shrink: false` reports the first failure as is.
 */
export async function checkFidelity(
  lanes: Tollgate | readonly Tollgate[],
  spec: DifferentialSpec,
  numRuns: number,
  options: { shrink?: boolean } = {},
): Promise<FidelityStats> {
  const runtimes = Array.isArray(lanes) ? (lanes as readonly Tollgate[]) : [lanes as Tollgate];
  const first = runtimes[0];
  if (!first) throw new Error('checkFidelity needs a runtime');
  const stats: FidelityStats = { states: new Set(), outcomes: new Set() };
  const cases = fc.tuple(fc.constantFrom(...spec.inputs), commandsArbitrary(spec));
  const examples = (spec.scenarios ?? []).map((s): [unknown, Command[]] => [spec.inputs[s.input], scenarioCommands(spec, s.commands)]);
  const replay = process.env.FC_SEED !== undefined;
  const seed = replay ? Number(process.env.FC_SEED) : Math.floor(Math.random() * 0x7fffffff);

  if (runtimes.length > 1 && !replay && options.shrink !== false) {
    const queue = [...examples, ...fc.sample(cases, { seed, numRuns })];
    let next = 0;
    let failure: unknown;
    await Promise.all(
      runtimes.map(async (tg) => {
        while (failure === undefined && next < queue.length) {
          const [input, commands] = queue[next++] as [unknown, Command[]];
          await runDifferential(tg, spec, input, commands, stats).catch((error: unknown) => {
            failure ??= error;
          });
        }
      }),
    );
    if (failure !== undefined) {
      throw new Divergence(
        `${spec.name}: differential fidelity failed. Replay with FC_SEED=${seed} (one lane, shrunk)\n` +
          (failure instanceof Error ? failure.message : String(failure)),
      );
    }
    return stats;
  }

  const property = fc.asyncProperty(cases, ([input, commands]) => runDifferential(first, spec, input, commands, stats));
  // fast-check counts examples among numRuns: the random runs come on top of the scenarios.
  const details = await fc.check(property, {
    numRuns: examples.length + numRuns,
    seed,
    path: process.env.FC_PATH,
    examples: examples.map((example): [[unknown, Command[]]] => [example]),
    endOnFailure: options.shrink === false,
  });
  if (details.failed) {
    const message = `${spec.name}: differential fidelity failed. Replay with FC_SEED=${details.seed} FC_PATH=${details.counterexamplePath ?? ''}\n` +
      `counterexample: ${JSON.stringify(details.counterexample)}\n${details.errorInstance instanceof Error ? details.errorInstance.message : String(details.errorInstance)}`;
    throw new Divergence(message);
  }
  return stats;
}
