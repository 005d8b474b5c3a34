import { randomBytes } from 'node:crypto';
import { isDeepStrictEqual } from 'node:util';
import type { AnyMachineSnapshot, EventObject } from 'xstate';
import { ManualClock } from '../clock.ts';
import type { AnyMachineDefinition } from '../engine/definition.ts';
import { stateToString } from '../engine/state-value.ts';
import { isTollgateError } from '../errors.ts';
import type { Tollgate } from '../runtime/create-tollgate.ts';
import type { EffectView, EntityView, TimerView } from '../runtime/views.ts';
import { PathDivergence } from './divergence.ts';
import { eventLabel, isDelayedEvent, type GeneratedPath } from './generate.ts';
import { handles, jsonOf, oracleInitial, oracleStep, type OracleStep } from './oracle.ts';
import { sampleEvents, type EventSamples } from './samples.ts';
import { portsOf } from '../runtime/ports.ts';

/** How one step went. */
export interface StepResult {
  readonly index: number;
  readonly label: string;
  readonly outcome: 'created' | 'accepted' | 'fired' | 'refused';
  readonly state: string;
  readonly effects: number;
}

/** The outcome of one path that agreed with XState at every step. */
export interface PathRunResult {
  readonly path: string;
  readonly entityId: string;
  readonly steps: readonly StepResult[];
  /** Events sent to the end state that it must refuse, and refused. */
  readonly refusalsChecked: number;
  readonly ms: number;
}

export interface RunContext {
  readonly machineName: string;
  readonly definition: AnyMachineDefinition;
  readonly input: unknown;
  readonly events: EventSamples;
  readonly entityPrefix: string;
  /** Start from this existing entity instead of creating one (a path run on a migrated entity). */
  readonly start?: PathStart;
}

/**
 * An existing entity a path continues from: one an older machine version wrote, migrated (or about to be migrated by
 * the path's first step) to the definition's version, and what XState says that version would have reached with the
 * same history. The path's checks hold the migrated entity to it: state, context, history, timers and all.
 */
export interface PathStart {
  readonly entityId: string;
  /** The definition's own snapshot after the entity's recorded events (oracleInitial then oracleStep of each). */
  readonly snapshot: AnyMachineSnapshot;
  /** The state the older version stored (the `$migrated` row's from-state). */
  readonly storedState: string;
  /** The entity's version before the migration. */
  readonly version: number;
  /** Effects the entity has so far. */
  readonly effects: number;
  /** The timers the definition would have pending, due from when each was armed. */
  readonly scheduled: readonly ExpectedTimerRow[];
  /** True when the entity is still stored at the older version: the path's first step commits `$migrated` first. */
  readonly lazy: boolean;
}

export interface ExpectedTimerRow {
  readonly sendId: string;
  readonly eventType: string;
  readonly dueAt: string;
}

/**
 * Drives `path` through the real runtime on a fresh entity and compares every step with XState's pure
 * `initialTransition`/`transition` (the oracle): state value, context, history length and last row, the effects
 * written, the timers scheduled, cancelled and fired. Delayed events are delivered the way the timer worker does:
 * the entity's scheduled timer row is sent through the gate with its id as idempotency key (advancing the runtime's
 * ManualClock to the due time when it has one). Throws a PathDivergence at the first difference.
 */
export async function runPath(tg: Tollgate, ctx: RunContext, path: GeneratedPath): Promise<PathRunResult> {
  const started = performance.now();
  const { machineName: name, definition } = ctx;
  const machine = definition.machine;
  const entityId = ctx.start?.entityId ?? `${ctx.entityPrefix}-${randomBytes(5).toString('hex')}`;
  const { clock, send: internalSend } = portsOf(tg);
  const results: StepResult[] = [];
  let stepLabel = 'create';
  let stepIndex = 0;
  const fail = (what: string, expected: unknown, actual: unknown): never => {
    throw new PathDivergence({ path: path.name, step: stepIndex, stepLabel, entityId, what, expected, actual });
  };
  const same = (what: string, expected: unknown, actual: unknown) => {
    if (!isDeepStrictEqual(expected, actual)) fail(what, expected, actual);
  };

  // Expected state of the database, maintained from the oracle alone.
  let expectedVersion = 1;
  let effectsSoFar = 0;
  let scheduled: ExpectedTimerRow[] = [];

  const check = async (oracle: OracleStep, eventType: string, fromState: string | null, timerRows: TimerView[] | undefined, firedId?: string, migratedToo = false) => {
    const entity = await tg.get(name, entityId);
    same('state value', jsonOf(oracle.snapshot.value), jsonOf(entity.value));
    same('context', jsonOf(oracle.snapshot.context), jsonOf(entity.context));
    same('version', expectedVersion, entity.version);
    const history = await tg.history(name, entityId, { limit: 1000 });
    same('history rows (one per accepted step)', expectedVersion, history.length);
    const last = history.at(-1);
    same('last history row', { eventType, fromState, toState: stateToString(oracle.snapshot.value) }, last && { eventType: last.eventType, fromState: last.fromState, toState: last.toState });
    const effects = await tg.effects(name, entityId);
    same('effects written by this step (type + params, in order)', oracle.effects, effects.slice(effectsSoFar).map(effectOf));
    effectsSoFar = effects.length;

    const createdAt = last?.createdAt ?? '';
    const timers = await tg.timers(name, entityId);
    const before = new Map((timerRows ?? []).map((t) => [t.id, t]));
    for (const sendId of oracle.cancels) {
      const wasScheduled = (timerRows ?? []).filter((t) => t.sendId === sendId && t.status === 'scheduled' && t.id !== firedId);
      for (const row of wasScheduled) {
        same(`timer '${sendId}' cancelled on leaving its state`, 'cancelled', timers.find((t) => t.id === row.id)?.status);
      }
      scheduled = scheduled.filter((t) => t.sendId !== sendId);
    }
    if (firedId) same('fired timer row status', 'fired', timers.find((t) => t.id === firedId)?.status);
    const added = oracle.timers.map((t) => ({ sendId: t.sendId, eventType: t.eventType, dueAt: new Date(Date.parse(createdAt) + t.delayMs).toISOString() }));
    // A migration in the same commit arms timers too: the full list below holds them to the expected ones.
    if (!migratedToo && timerRows) same('timers scheduled by this step', added, timers.filter((t) => !before.has(t.id)).map(timerOf));
    scheduled = [...scheduled, ...added];
    same('scheduled timers (every pending after, nothing left behind)', sortTimers(scheduled), sortTimers(timers.filter((t) => t.status === 'scheduled').map(timerOf)));
    return entity;
  };

  // Creation, or the migrated entity the path starts from: held to what this version would have reached.
  let oracle: OracleStep;
  let entity: EntityView;
  let lazyMigration = false;
  if (ctx.start) {
    const start = ctx.start;
    oracle = { accepted: true, snapshot: start.snapshot, effects: [], timers: [], cancels: [] };
    expectedVersion = start.version;
    effectsSoFar = start.effects;
    scheduled = [...start.scheduled];
    stepLabel = start.lazy ? 'stored by the older version' : 'migrated';
    if (start.lazy) {
      lazyMigration = true;
      entity = await tg.get(name, entityId); // reads show it migrated
      same('state value (read, migrated in memory)', jsonOf(oracle.snapshot.value), jsonOf(entity.value));
      same('context (read, migrated in memory)', jsonOf(oracle.snapshot.context), jsonOf(entity.context));
    } else {
      expectedVersion++;
      entity = await check(oracle, '$migrated', start.storedState, undefined);
    }
    results.push({ index: 0, label: stepLabel, outcome: 'created', state: entity.state, effects: 0 });
  } else {
    oracle = oracleInitial(machine, ctx.input);
    await tg.create(name, entityId, ctx.input as never);
    entity = await check(oracle, 'xstate.init', null, []);
    results.push({ index: 0, label: 'create', outcome: 'created', state: entity.state, effects: oracle.effects.length });
  }

  for (const [i, step] of path.steps.entries()) {
    stepIndex = i + 1;
    stepLabel = `step ${stepIndex} (${eventLabel(step.event)})`;
    const previous = oracle.snapshot;
    const next = oracleStep(machine, previous, step.event);
    if (!next.accepted) fail('the generated step is not accepted by XState (a bug in path generation)', 'accepted', next.refusal);
    same('state XState reached vs the generated path', step.state, stateToString(next.snapshot.value));
    const timersBefore = await tg.timers(name, entityId);
    let firedId: string | undefined;
    if (isInternal(definition, step.event)) {
      const due = timersBefore.filter((t) => t.status === 'scheduled' && t.eventType === step.event.type);
      if (due.length !== 1) fail(`one scheduled timer row for '${step.event.type}'`, 1, due.map(timerOf));
      const timer = due[0] as TimerView;
      if (clock instanceof ManualClock && Date.parse(timer.dueAt) > clock.now()) clock.set(Date.parse(timer.dueAt));
      firedId = timer.id;
      await send(() => internalSend(name, entityId, { type: timer.eventType }, { internal: true, firedTimerId: timer.id, idempotencyKey: timer.id }), fail);
    } else {
      await send(() => tg.send(name, entityId, step.event as never), fail);
    }
    if (lazyMigration) {
      // The step's commit carried the `$migrated` row (and the timers it re-derived) before the event's own.
      expectedVersion++;
      const migrated = (await tg.history(name, entityId, { limit: 1000 })).at(-2);
      same('the `$migrated` row committed before the first event', { eventType: '$migrated', fromState: ctx.start?.storedState, toState: stateToString(previous.value) }, migrated && { eventType: migrated.eventType, fromState: migrated.fromState, toState: migrated.toState });
    }
    expectedVersion++;
    entity = await check(next, step.event.type, stateToString(previous.value), timersBefore, firedId, lazyMigration);
    lazyMigration = false;
    oracle = next;
    results.push({ index: stepIndex, label: eventLabel(step.event), outcome: firedId ? 'fired' : 'accepted', state: entity.state, effects: next.effects.length });
  }

  let refusalsChecked = 0;
  if (path.checksRefusals) {
    stepIndex = -1;
    const snapshot = oracle.snapshot;
    for (const type of Object.keys(definition.events)) {
      for (const event of refusalCandidates(ctx, type, snapshot)) {
        const expected = oracleStep(machine, snapshot, event);
        if (expected.accepted) continue;
        stepLabel = `refusal check in '${entity.state}' (${event.type})`;
        const before = await footprint(tg, name, entityId);
        let code: unknown = 'accepted';
        try {
          await tg.send(name, entityId, event as never);
        } catch (error) {
          code = isTollgateError(error) ? error.code : error;
        }
        same(`'${event.type}' must be refused`, expected.refusal, code);
        same('a refused event writes nothing (version, history, effects, timers)', before, await footprint(tg, name, entityId));
        refusalsChecked++;
      }
    }
  }
  return { path: path.name, entityId, steps: results, refusalsChecked, ms: performance.now() - started };
}

/** Illegal types get one sample; a handled type gets every sample, so guard-false ones are checked too. */
function refusalCandidates(ctx: RunContext, type: string, snapshot: AnyMachineSnapshot): EventObject[] {
  const samples = sampleEvents(ctx.machineName, ctx.definition, ctx.events, type, snapshot);
  return handles(snapshot, type) ? samples : samples.slice(0, 1);
}

function isInternal(definition: AnyMachineDefinition, event: EventObject): boolean {
  return isDelayedEvent(event.type) || !Object.hasOwn(definition.events, event.type);
}

async function send(fn: () => Promise<unknown>, fail: (what: string, expected: unknown, actual: unknown) => never): Promise<void> {
  try {
    await fn();
  } catch (error) {
    fail('the runtime did not accept an event XState accepts', 'accepted', isTollgateError(error) ? `${error.code}: ${error.message}` : error);
  }
}

async function footprint(tg: Tollgate, name: string, id: string): Promise<unknown> {
  const [entity, history, effects, timers] = await Promise.all([tg.get(name, id), tg.history(name, id, { limit: 1000 }), tg.effects(name, id), tg.timers(name, id)]);
  return { version: entity.version, value: entity.value, context: entity.context, history: history.length, effects: effects.map((e) => e.id), timers: timers.map((t) => `${t.id}:${t.status}`) };
}

function effectOf(e: EffectView): { type: string; params: unknown } {
  return { type: e.type, params: jsonOf(e.params) };
}

function timerOf(t: TimerView): ExpectedTimerRow {
  return { sendId: t.sendId, eventType: t.eventType, dueAt: t.dueAt };
}

function sortTimers(rows: readonly ExpectedTimerRow[]): ExpectedTimerRow[] {
  return [...rows].sort((a, b) => `${a.sendId}|${a.dueAt}`.localeCompare(`${b.sendId}|${b.dueAt}`));
}
