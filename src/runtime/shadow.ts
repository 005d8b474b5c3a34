import { randomUUID } from 'node:crypto';
import type { EventObject, StateValue } from 'xstate';
import { z } from 'zod';
import type { AnyMachineDefinition, MachineMode } from '../engine/definition.ts';
import type { Accepted } from '../engine/decision.ts';
import { evaluate } from '../engine/evaluate.ts';
import { importedSnapshot, restingStateOf, toStateValue } from '../engine/imported-snapshot.ts';
import { stateToString } from '../engine/state-value.ts';
import { TollgateError, entityRef, isTollgateError } from '../errors.ts';
import { parseSince } from '../since.ts';
import type { CommitInput } from '../store/commit.ts';
import { importedEventType } from '../store/import-statement.ts';
import { observedEventType, shadowEventMember, type NewObservation, type ObservationRow, type Verdict } from '../store/shadow-store.ts';
import { fingerprint } from './fingerprint.ts';
import { commitInput, refusal } from './gate.ts';
import { loadEntity } from './load.ts';
import { checkIdentifier } from './identifier.ts';
import { machineOf, type RuntimeContext } from './runtime-context.ts';
import { modeStatus } from './machine-mode.ts';
import type { LoadedEntity } from './snapshot-cache.ts';

/** A transition the legacy system made, as it reports it to `tg.observe`. */
export interface Observation {
  /** The legacy system's name for what happened: an event type of the machine to be judged legal. */
  readonly event: string;
  /** Where the legacy system says the entity was (a dotted path or a state value). Default: not said (no check). */
  readonly from?: string | StateValue | null;
  /** Where the legacy system put it: a leaf state of the machine (dotted path or state value). */
  readonly to: string | StateValue;
  /** When it happened (ISO-8601 or a Date): the mirror's time of entry into `to`, from which its timers count. */
  readonly at: string | Date;
  /** The event's payload (what guards read), checked against the event's schema as a send would be. Default `{}`. */
  readonly payload?: Readonly<Record<string, unknown>>;
  /**
   * The entity's context after the move, as the legacy system holds it. Used where the mirror does not follow the
   * machine (illegal, diverged) and to start the mirror of an unknown entity; a legal move keeps the machine's.
   * Default: the mirror's context.
   */
  readonly context?: Readonly<Record<string, unknown>>;
  /** Makes the report safe to repeat: a second report under the key answers the first one's verdict. Default: none. */
  readonly key?: string;
  /** Who reports it (stored on the mirror's history row). Default `tollgate shadow`. */
  readonly actor?: string;
}

/** An observation as recorded, with tollgate's verdict. */
export interface ObservationView {
  readonly id: number;
  readonly machine: string;
  readonly entityId: string;
  readonly key: string | null;
  readonly event: string;
  readonly from: string | null;
  readonly to: string;
  /** Where tollgate's mirror was when the report came (null: no mirror). */
  readonly mirrorState: string | null;
  /** Where the machine would have gone from the mirror (null: it would have refused, or there was no mirror). */
  readonly expectedState: string | null;
  /**
   * `legal`: the machine makes the same move from the mirror. `illegal`: the machine would have refused the event
   * (`code`: TG_ILLEGAL_TRANSITION, TG_GUARD_REJECTED, TG_INVALID_EVENT, TG_MACHINE_FAULT). `diverged`: the legacy
   * `from` is not where the mirror is, or the machine would go elsewhere than `to`. `unknown-entity`: no mirror.
   */
  readonly verdict: Verdict;
  readonly code: string | null;
  readonly reason: string | null;
  readonly at: string;
  readonly recordedAt: string;
  /** True when answered from an earlier report under the same key (nothing written now). */
  readonly replayed: boolean;
}

/** One recorded mode switch. */
export interface ModeSwitchView {
  readonly id: number;
  readonly machine: string;
  readonly from: MachineMode;
  readonly to: MachineMode;
  readonly actor: string;
  readonly reason: string;
  readonly at: string;
}

/** One line of `shadowReport`: how often the legacy system made one (from, event, to) move the machine would not. */
export interface ShadowReportLine {
  readonly verdict: 'illegal' | 'diverged';
  readonly from: string | null;
  readonly event: string;
  readonly to: string;
  /** The code tollgate would have refused with (illegal lines). */
  readonly code: string | null;
  readonly count: number;
  /** Up to five entity ids, to look at. */
  readonly exampleIds: readonly string[];
  readonly firstAt: string;
  readonly lastAt: string;
}

/** What `shadowReport` answers. */
export interface ShadowReport {
  readonly machine: string;
  readonly mode: MachineMode;
  readonly since: string;
  /** Observations per verdict in the window. */
  readonly verdicts: Readonly<Record<Verdict, number>>;
  /** Illegal and diverged moves grouped by (verdict, from, event, to), most frequent first. */
  readonly lines: readonly ShadowReportLine[];
}

const stateShape = z.union([z.string().min(1).max(1000), z.record(z.string(), z.unknown())]);
const observationSchema = z.strictObject({
  event: z.string().min(1).max(200),
  from: stateShape.nullable().optional(),
  to: stateShape,
  at: z.union([z.string().min(1).max(100), z.date()]),
  payload: z.record(z.string(), z.unknown()).optional(),
  context: z.record(z.string(), z.unknown()).optional(),
  key: z.string().optional(),
  actor: z.string().optional(),
});

const defaultActor = 'tollgate shadow';

/** Switches `machine` to `mode` for every process (within a second); recorded with who, when, why, from and to. */
export async function setMode(ctx: RuntimeContext, machine: string, mode: MachineMode, by: { readonly actor: string; readonly reason: string }): Promise<ModeSwitchView> {
  const current = await modeStatus(ctx, machine);
  if (mode !== 'shadow' && mode !== 'enforce') {
    throw new TollgateError('TG_INVALID_ARGUMENT', `A machine's mode is 'shadow' or 'enforce'; got ${JSON.stringify(mode)?.slice(0, 60)}.`, { machine, argument: 'mode' });
  }
  const reason = typeof by.reason === 'string' ? by.reason.trim() : '';
  if (reason.length === 0 || reason.length > 1000) {
    throw new TollgateError('TG_INVALID_ARGUMENT', 'The reason must be a non-empty string of at most 1000 characters.', { machine, argument: 'reason' });
  }
  const row = await ctx.shadowStore.switchMode(machine, current.mode, mode, checkIdentifier('actor', by.actor, machine), reason, new Date(ctx.clock.now()));
  ctx.governance.invalidate();
  return { id: row.id, machine: row.machine, from: row.from_mode as MachineMode, to: row.to_mode as MachineMode, actor: row.actor, reason: row.reason, at: new Date(row.at).toISOString() };
}

/** Recorded mode switches, newest first. */
export async function modeSwitches(ctx: RuntimeContext, machine: string | undefined, limit = 20): Promise<ModeSwitchView[]> {
  if (machine !== undefined) machineOf(ctx, machine);
  const rows = await ctx.shadowStore.modeSwitches(machine, Math.min(Math.max(Math.trunc(limit), 1), 1000));
  return rows.map((r) => ({ id: r.id, machine: r.machine, from: r.from_mode as MachineMode, to: r.to_mode as MachineMode, actor: r.actor, reason: r.reason, at: new Date(r.at).toISOString() }));
}

/** A checked observation. */
interface Parsed {
  readonly event: string;
  readonly payload: Readonly<Record<string, unknown>>;
  /** The legacy `from`, normalized where it names a state (leaf paths joined by `,`). */
  readonly from: string | null;
  readonly to: string;
  readonly toGiven: string | StateValue;
  readonly at: Date;
  readonly context: Readonly<Record<string, unknown>> | undefined;
  readonly key: string | null;
  readonly actor: string;
}

/** What the verdict decided: the observation row and the mirror's move. */
interface Judged {
  readonly verdict: Verdict;
  readonly code: string | null;
  readonly reason: string | null;
  readonly mirrorState: string | null;
  readonly expectedState: string | null;
  readonly move: CommitInput | undefined;
}

/**
 * Records a transition the legacy system made on an entity of a machine in shadow mode: judges it against the
 * machine and tollgate's mirror of the entity (legal, illegal with the code tollgate would have refused with,
 * diverged, unknown-entity), stores the verdict, and moves the mirror to where the legacy system put the entity.
 * Never refused for legality: only a malformed report (TG_INVALID_OBSERVATION) or a machine in enforce mode
 * (TG_MACHINE_ENFORCED) is refused, and then nothing is written.
 *
 * @example
 * const seen = await tg.observe('subscription', 'sub-1', { event: 'PAYMENT_FAILED', from: 'grace', to: 'grace', at: '2026-11-29T10:00:00Z' });
 * seen.verdict; // 'illegal' (seen.code: 'TG_ILLEGAL_TRANSITION')
 */
export async function observe(ctx: RuntimeContext, machine: string, entityId: string, raw: unknown): Promise<ObservationView> {
  const definition = machineOf(ctx, machine);
  const id = checkIdentifier('entity id', entityId, machine);
  const status = await modeStatus(ctx, machine);
  if (status.mode !== 'shadow') {
    throw new TollgateError(
      'TG_MACHINE_ENFORCED',
      `Machine '${machine}' is in enforce mode: tollgate's gate writes its entities, so there is no legacy transition to observe ` +
        `for ${entityRef(machine, id)}. Send the event instead, or switch the machine to shadow (\`tollgate mode ${machine} shadow --reason ...\`).`,
      { machine, entityId: id },
    );
  }
  const o = parseObservation(definition, machine, id, raw);
  const print = fingerprint({ event: o.event, payload: o.payload, from: o.from, to: o.to, at: o.at.toISOString(), context: o.context ?? null });
  for (let attempt = 0; ; attempt++) {
    if (o.key !== null) {
      const prior = await ctx.shadowStore.observationByKey(machine, id, o.key);
      if (prior) {
        if (prior.fingerprint !== print) {
          throw new TollgateError(
            'TG_IDEMPOTENCY_KEY_REUSED',
            `Observation key '${o.key}' of ${entityRef(machine, id)} already recorded '${prior.event_type}' (${prior.verdict}) with other data. Use a new key for a new report.`,
            { machine, entityId: id, event: o.event },
          );
        }
        return toObservationView(prior, true);
      }
    }
    const judged = await judge(ctx, definition, machine, id, o, print);
    const now = new Date(ctx.clock.now());
    const row: NewObservation = {
      machine,
      entity_id: id,
      observation_key: o.key,
      fingerprint: print,
      event_type: o.event,
      event: { type: o.event, ...o.payload },
      from_state: o.from,
      to_state: o.to,
      mirror_state: judged.mirrorState,
      expected_state: judged.expectedState,
      verdict: judged.verdict,
      code: judged.code,
      reason: judged.reason,
      observed_at: o.at,
      recorded_at: now,
    };
    const outcome = await ctx.shadowStore.record(row, judged.move);
    if (outcome.kind === 'recorded') {
      ctx.cache.delete(machine, id);
      ctx.metrics.shadowObservations.inc({ machine, verdict: judged.verdict, from: judged.mirrorState ?? '(none)', event: eventLabel(definition, o.event) });
      return toObservationView(outcome.row, false);
    }
    // The mirror moved (another report, an import) or the key was taken meanwhile: judge again on what is there now.
    if (attempt >= ctx.maxConflictRetries) {
      throw new TollgateError(
        'TG_VERSION_CONFLICT',
        `${entityRef(machine, id)} changed ${attempt + 1} times while the observation of '${o.event}' was being recorded. Nothing was written; report it again (with the same key).`,
        { machine, entityId: id, event: o.event },
      );
    }
  }
}

/** The verdict on one observation and, where the mirror follows, its commit. */
async function judge(ctx: RuntimeContext, definition: AnyMachineDefinition, machine: string, id: string, o: Parsed, print: string): Promise<Judged> {
  const exists = await ctx.queries.loadEntity(machine, id);
  if (!exists) {
    const reason = o.context
      ? `no mirror of ${entityRef(machine, id)}: it starts in '${o.to}' from the reported context`
      : `no mirror of ${entityRef(machine, id)}: import it (tollgate import) or report a context to start one`;
    return { verdict: 'unknown-entity', code: null, reason, mirrorState: null, expectedState: null, move: o.context ? startMirror(definition, machine, id, o, print) : undefined };
  }
  const loaded = await loadEntity(ctx, definition, machine, id, { forWrite: true });
  const mirrorState = loaded.state;
  const event = parsedEvent(definition, o);
  const decision = event.kind === 'invalid' ? undefined : judgeEvent(definition, machine, id, loaded, event.event);
  let verdict: Verdict;
  let code: string | null = null;
  let reason: string | null = null;
  let expectedState: string | null = null;
  if (decision?.kind === 'accepted') expectedState = decision.accepted.state;
  if (o.from !== null && o.from !== mirrorState) {
    verdict = 'diverged';
    reason = `the legacy system says ${entityRef(machine, id)} was in '${o.from}'; tollgate's mirror is in '${mirrorState}'`;
  } else if (event.kind === 'invalid') {
    verdict = 'illegal';
    code = 'TG_INVALID_EVENT';
    reason = event.reason;
  } else if (decision?.kind === 'refused') {
    verdict = 'illegal';
    code = decision.error.code;
    reason = decision.error.message;
  } else if (expectedState !== o.to) {
    verdict = 'diverged';
    reason = `'${o.event}' in '${mirrorState}' leads to '${expectedState}'; the legacy system put ${entityRef(machine, id)} in '${o.to}'`;
  } else {
    verdict = 'legal';
  }
  const move =
    verdict === 'legal' && decision?.kind === 'accepted'
      ? followMachine(definition, machine, id, loaded, decision.accepted, decision.event, o, print)
      : await followLegacy(ctx, definition, machine, id, loaded, o, print, { verdict, code, reason });
  return { verdict, code, reason, mirrorState, expectedState, move };
}

type EventCheck = { readonly kind: 'ok'; readonly event: EventObject } | { readonly kind: 'invalid'; readonly reason: string };

/** The event as the gate would have parsed it: a type the machine does not list, or a payload its schema refuses, is invalid. */
function parsedEvent(definition: AnyMachineDefinition, o: Parsed): EventCheck {
  const schema = Object.hasOwn(definition.events, o.event) ? definition.events[o.event] : undefined;
  if (!schema) {
    // Delayed events are internal: a legacy timeout reported under its xstate.after id is judged as the timer would be.
    if (o.event.startsWith('xstate.after.')) return { kind: 'ok', event: { type: o.event } };
    return { kind: 'invalid', reason: `'${o.event}' is not an event of the machine (known: ${Object.keys(definition.events).join(', ')})` };
  }
  const parsed = schema.safeParse(o.payload);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    return { kind: 'invalid', reason: `'${o.event}' has an invalid payload: '${issue?.path.join('.') || '(payload)'}' ${issue?.message ?? 'is invalid'}` };
  }
  return { kind: 'ok', event: { ...(parsed.data as object), type: o.event } };
}

type EventDecision =
  | { readonly kind: 'accepted'; readonly accepted: Accepted; readonly event: EventObject }
  | { readonly kind: 'refused'; readonly error: TollgateError };

/** What the gate would have decided for `event` on the mirror (without policies and freezes). */
function judgeEvent(definition: AnyMachineDefinition, machine: string, id: string, loaded: LoadedEntity, event: EventObject): EventDecision {
  try {
    const decision = evaluate(definition.machine, loaded.snapshot, event, { machine, entityId: id });
    if (decision.kind === 'refused') return { kind: 'refused', error: refusal(machine, id, event, decision, true) };
    return { kind: 'accepted', accepted: decision, event };
  } catch (error) {
    if (isTollgateError(error)) return { kind: 'refused', error };
    throw error;
  }
}

const at = (o: Parsed) => o.at;

/** A legal move: the machine's own commit (its snapshot, timers, cancels), with only the effects shadow mode opts in to. */
function followMachine(
  definition: AnyMachineDefinition,
  machine: string,
  id: string,
  loaded: LoadedEntity,
  accepted: Accepted,
  event: EventObject,
  o: Parsed,
  print: string,
): CommitInput {
  const emitted = new Set(definition.shadow?.effects ?? []);
  return commitInput({
    machine,
    id,
    loaded,
    accepted: { ...accepted, effects: accepted.effects.filter((e) => emitted.has(e.type)) },
    definition,
    transitionId: randomUUID(),
    now: at(o),
    event: { ...event, [shadowEventMember]: true } as EventObject,
    key: o.key === null ? null : `${observedEventType}:${o.key}`,
    print,
    actor: o.actor,
    options: {},
    policyVersion: null,
  });
}

/** A move the machine would not make: the mirror is placed where the legacy system says, like an import. */
async function followLegacy(
  ctx: RuntimeContext,
  definition: AnyMachineDefinition,
  machine: string,
  id: string,
  loaded: LoadedEntity,
  o: Parsed,
  print: string,
  verdict: { verdict: Verdict; code: string | null; reason: string | null },
): Promise<CommitInput> {
  const context = o.context ?? (loaded.snapshot.context as Record<string, unknown>);
  const made = placed(definition, machine, id, o.toGiven, context);
  const changed = made.state !== loaded.state;
  // Staying in its state, the entity keeps its timers (a second dunning charge in grace does not restart grace).
  const cancels = changed ? [...new Set((await ctx.queries.timers(machine, id)).filter((t) => t.status === 'scheduled').map((t) => t.send_id))] : [];
  const transitionId = randomUUID();
  return {
    machine,
    entityId: id,
    expectedVersion: loaded.version,
    machineVersion: definition.version,
    snapshot: made.persisted,
    state: made.state,
    stateChanged: changed,
    now: o.at,
    transitionId,
    event: { type: observedEventType, event: o.event, payload: o.payload, verdict: verdict.verdict, code: verdict.code, from: o.from, to: o.to, illegal: true, reason: verdict.reason } as EventObject,
    fromState: loaded.state,
    idempotencyKey: o.key === null ? null : `${observedEventType}:${o.key}`,
    fingerprint: print,
    actor: o.actor,
    policyVersion: null,
    effects: [],
    timers: changed ? timerRows(made.timers, transitionId, o.at) : [],
    cancels,
    firedTimerId: null,
  };
}

/** An unknown entity reported with its context: its mirror starts in `to`, written as an import is. */
function startMirror(definition: AnyMachineDefinition, machine: string, id: string, o: Parsed, print: string): CommitInput {
  const made = placed(definition, machine, id, o.toGiven, o.context ?? {});
  const transitionId = randomUUID();
  const timers = timerRows(made.timers, transitionId, o.at);
  return {
    machine,
    entityId: id,
    expectedVersion: 0,
    machineVersion: definition.version,
    snapshot: made.persisted,
    state: made.state,
    stateChanged: true,
    now: o.at,
    transitionId,
    event: { type: importedEventType, machineVersion: definition.version, stateEnteredAt: o.at.toISOString(), timers: timers.map((t) => ({ sendId: t.send_id, dueAt: t.due_at })), observed: o.event } as EventObject,
    fromState: null,
    idempotencyKey: importedEventType,
    fingerprint: print,
    actor: o.actor,
    policyVersion: null,
    effects: [],
    timers,
    cancels: [],
    firedTimerId: null,
  };
}

/** The snapshot of `state` with `context` (import's builder); a context the state cannot live with is a malformed report. */
function placed(definition: AnyMachineDefinition, machine: string, id: string, state: string | StateValue, context: Readonly<Record<string, unknown>>) {
  try {
    return importedSnapshot(definition, { machine, id, state, context, machineVersion: definition.version });
  } catch (error) {
    if (isTollgateError(error)) throw invalidObservation(machine, id, `the mirror cannot be placed in the reported state: ${error.message}`);
    throw error;
  }
}

function timerRows(timers: ReturnType<typeof importedSnapshot>['timers'], transitionId: string, from: Date) {
  return timers.map((t, i) => ({ id: `${transitionId}-t${i}`, send_id: t.sendId, event: t.event, due_at: new Date(from.getTime() + t.delayMs).toISOString() }));
}

/** Checks the report's shape and that `to` is a state the mirror can be in; TG_INVALID_OBSERVATION otherwise. */
function parseObservation(definition: AnyMachineDefinition, machine: string, id: string, raw: unknown): Parsed {
  const parsed = observationSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw invalidObservation(machine, id, `'${issue?.path.join('.') || '(observation)'}' ${issue?.message ?? 'is invalid'}`);
  }
  const r = parsed.data;
  const at = r.at instanceof Date ? r.at : new Date(r.at);
  if (Number.isNaN(at.getTime())) throw invalidObservation(machine, id, `'at' ${JSON.stringify(r.at)} is not an ISO-8601 time`);
  let to: string;
  try {
    to = restingStateOf(definition, machine, id, r.to);
  } catch (error) {
    throw invalidObservation(machine, id, `'to' is not a state the entity can be in: ${isTollgateError(error) ? String(error.details.reason) : String(error)}`);
  }
  let key: string | null = null;
  let actor = defaultActor;
  try {
    if (r.key !== undefined) key = checkIdentifier('idempotency key', r.key, machine);
    if (r.actor !== undefined) actor = checkIdentifier('actor', r.actor, machine);
  } catch (error) {
    throw invalidObservation(machine, id, isTollgateError(error) ? error.message : String(error));
  }
  return {
    event: r.event,
    payload: r.payload ?? {},
    from: r.from === undefined || r.from === null ? null : normalizedState(r.from),
    to,
    toGiven: r.to as string | StateValue,
    at,
    context: r.context,
    key,
    actor,
  };
}

/** A reported state as `entities.state` writes it, where it parses as one; as given otherwise (it then differs from the mirror). */
function normalizedState(state: unknown): string {
  const value = toStateValue(state);
  if (value !== undefined) {
    try {
      return stateToString(value);
    } catch {
      // fall through: shown as given
    }
  }
  return typeof state === 'string' ? state : JSON.stringify(state);
}

function invalidObservation(machine: string, id: string, reason: string): TollgateError {
  return new TollgateError('TG_INVALID_OBSERVATION', `Observation for ${entityRef(machine, id)} is invalid: ${reason}. Nothing was recorded.`, {
    machine,
    entityId: id,
    reason,
  });
}

/** The metric's event label: the machine's event types (and timers) as they are, anything else as `(other)` (bounded). */
function eventLabel(definition: AnyMachineDefinition, event: string): string {
  return Object.hasOwn(definition.events, event) || event.startsWith('xstate.after.') ? event : '(other)';
}

function toObservationView(row: ObservationRow, replayed: boolean): ObservationView {
  return {
    id: row.id,
    machine: row.machine,
    entityId: row.entity_id,
    key: row.observation_key,
    event: row.event_type,
    from: row.from_state,
    to: row.to_state,
    mirrorState: row.mirror_state,
    expectedState: row.expected_state,
    verdict: row.verdict,
    code: row.code,
    reason: row.reason,
    at: new Date(row.observed_at).toISOString(),
    recordedAt: new Date(row.recorded_at).toISOString(),
    replayed,
  };
}

/** Options of `shadowReport`. */
export interface ShadowReportOptions {
  /** Window start: a time, or a duration back from now (`'7d'`, `'12h'`, `'30m'`, `'2w'`) or an ISO time as text. Default `'7d'`. */
  readonly since?: Date | string;
}

/** `since` as a time: a Date, an ISO time, or a duration back from `now`; TG_INVALID_ARGUMENT otherwise. */
function sinceOf(machine: string, since: Date | string, now: number): Date {
  const at = typeof since === 'string' ? parseSince(since, now) : since;
  if (!at || Number.isNaN(at.getTime())) {
    throw new TollgateError('TG_INVALID_ARGUMENT', `'since' must be a duration ('7d', '12h') or an ISO time; got '${String(since).slice(0, 60)}'.`, { machine, argument: 'since' });
  }
  return at;
}

/** Illegal and diverged moves of `machine` since `since` (default: the last 7 days), grouped, with the verdict counts. */
export async function shadowReport(ctx: RuntimeContext, machine: string, options: ShadowReportOptions = {}): Promise<ShadowReport> {
  const status = await modeStatus(ctx, machine);
  const since = sinceOf(machine, options.since ?? '7d', ctx.clock.now());
  const [rows, counts] = await Promise.all([ctx.shadowStore.report(machine, since, 5), ctx.shadowStore.verdictCounts(machine, since)]);
  const verdicts: Record<Verdict, number> = { legal: 0, illegal: 0, diverged: 0, 'unknown-entity': 0 };
  for (const c of counts) verdicts[c.verdict] = c.count;
  return {
    machine,
    mode: status.mode,
    since: since.toISOString(),
    verdicts,
    lines: rows.map((r) => ({
      verdict: r.verdict as 'illegal' | 'diverged',
      from: r.from_state,
      event: r.event_type,
      to: r.to_state,
      code: r.code,
      count: r.count,
      exampleIds: r.example_ids,
      firstAt: new Date(r.first_at).toISOString(),
      lastAt: new Date(r.last_at).toISOString(),
    })),
  };
}

/** An entity's observations, newest first. */
export async function entityObservations(ctx: RuntimeContext, machine: string, id: string, limit = 100): Promise<ObservationView[]> {
  machineOf(ctx, machine);
  checkIdentifier('entity id', id, machine);
  return (await ctx.shadowStore.observations(machine, id, Math.min(Math.max(Math.trunc(limit), 1), 1000))).map((r) => toObservationView(r, false));
}
