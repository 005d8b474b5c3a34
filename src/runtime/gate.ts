import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { EventObject } from 'xstate';
import type { AnyMachineDefinition } from '../engine/definition.ts';
import type { Accepted, Refused } from '../engine/decision.ts';
import { evaluate } from '../engine/evaluate.ts';
import { TollgateError, entityRef, isTollgateError } from '../errors.ts';
import type { CommitInput } from '../store/commit.ts';
import type { TransitionRow } from '../store/rows.ts';
import { faultPoint } from '../jobs/faults.ts';
import { pgErrorCode } from '../store/sql-client.ts';
import { refusesVersion, throwIfWrittenByNewerVersion, versionAhead } from './deploy-skew.ts';
import { admit } from './admission.ts';
import { refuseIfShadowed } from './machine-mode.ts';
import { fingerprint } from './fingerprint.ts';
import { loadEntity, storedEntityView } from './load.ts';
import { migrationCommit, planMigration } from './migration.ts';
import { writeArgs, type RuntimeContext } from './runtime-context.ts';
import type { LoadedEntity } from './snapshot-cache.ts';
import { toEntityView, toTransitionView, type EntityView, type TransitionView } from './views.ts';
import { firstIssue } from '../zod-issue.ts';
import { backoffMs } from '../backoff.ts';

/** Options of one send. */
export interface SendOptions {
  /**
   * Makes the send safe to retry: the first commit under this key is the answer to every later send with the
   * same key and the same event (`replayed: true`); another event under the key is `TG_IDEMPOTENCY_KEY_REUSED`.
   * Scoped to the entity. At most 200 characters. Default: none (every send is new).
   */
  readonly idempotencyKey?: string;
  /** Who sent the event (user id, service name), stored in the history. Default: none. */
  readonly actor?: string;
}

/** The outcome of an accepted (or replayed) send. */
export interface SendResult<TContext = Record<string, unknown>> {
  /** The entity right after this transition (for a replay: as it was after the original commit). */
  readonly entity: EntityView<TContext>;
  readonly transition: TransitionView;
  /** True when the idempotency key had already committed and nothing was written now. */
  readonly replayed: boolean;
}

/** What only tollgate's own timers and workers may add to a send. */
export interface InternalSendOptions extends SendOptions {
  /** The event is internal (a delayed `xstate.after` event): skip the caller-event schema. */
  readonly internal?: boolean;
  /** The timer this event is the firing of: marked fired in the same commit. */
  readonly firedTimerId?: string;
  /**
   * The system's own work (a timer's firing, an effect's follow-up): a freeze defers it, so its TG_FROZEN is
   * counted as a deferral and not recorded as a rejection (the worker sends it again after the freeze).
   */
  readonly deferrable?: boolean;
}

/**
 * The gate (docs/architecture.md, "One event, from HTTP to effect"): the event checked once, then
 * load -> decide -> commit, round again on a fresher read when a cached snapshot cannot decide or a concurrent
 * writer won (with jitter, up to `maxConflictRetries` lost races). Nothing here runs an effect.
 */
export async function sendEvent(
  ctx: RuntimeContext,
  machine: string,
  entityId: string,
  rawEvent: unknown,
  options: InternalSendOptions = {},
): Promise<SendResult> {
  const request = await gateRequest(ctx, machine, entityId, rawEvent, options);
  let fresh = false; // true once the snapshot must come from the database, not the cache
  for (let lostRaces = 0; ; fresh = true) {
    const load = await loadForSend(ctx, request, fresh);
    if (load === AGAIN) continue;
    if (isResult(load)) return load;
    const loaded = load.entity;
    const decided = await decideForSend(ctx, request, loaded, load.fromDatabase);
    if (decided === AGAIN) continue;
    if (isResult(decided)) return decided;
    const committed = await commitAccepted(ctx, request, loaded, decided);
    if (committed) return committed;
    const replayed = await afterLostRace(ctx, request, loaded, decided.accepted, lostRaces);
    if (replayed) return replayed;
    lostRaces++;
  }
}

/** One send's checked arguments: what every step reads and none changes. */
interface GateRequest {
  readonly definition: AnyMachineDefinition;
  readonly machine: string;
  readonly id: string;
  readonly event: EventObject;
  readonly key: string | null;
  readonly actor: string | null;
  /** The event's fingerprint, stored with the key: a retry must carry the same event. */
  readonly print: string;
  readonly options: InternalSendOptions;
}

/** "Read the database's current row and go round again": a cached snapshot cannot decide, or a migration committed alone. */
const AGAIN = Symbol('again');

function isResult(value: object): value is SendResult {
  return 'transition' in value && 'replayed' in value;
}

async function gateRequest(ctx: RuntimeContext, machine: string, entityId: string, rawEvent: unknown, options: InternalSendOptions): Promise<GateRequest> {
  const { definition, id, key, actor } = writeArgs(ctx, machine, entityId, options);
  const event = options.internal ? (rawEvent as EventObject) : await checkedEvent(ctx, definition, machine, id, rawEvent, { count: true });
  // A machine in shadow mode is written by a legacy system: every send is refused, the system's own timers and follow-ups too.
  await refuseIfShadowed(ctx, machine, id, event.type);
  return { definition, machine, id, event, key, actor, print: fingerprint(event), options };
}

/**
 * Load: the entity from the cache, or (when `fresh` or not cached) the answer of an already committed idempotency
 * key, else the database's row, migrated in memory when an older machine version wrote it.
 */
async function loadForSend(ctx: RuntimeContext, r: GateRequest, fresh: boolean): Promise<Loaded | SendResult | typeof AGAIN> {
  const { definition, machine, id } = r;
  if (fresh) ctx.cache.delete(machine, id);
  let loaded = fresh ? undefined : ctx.cache.get(machine, id);
  const fromDatabase = !loaded;
  if (!loaded) {
    const committed = await replayIfCommitted(ctx, r);
    if (committed) return committed;
    if (r.key) await faultPoint('gate.after-key-check');
    // A newer release wrote it: refused (TG_MACHINE_VERSION_AHEAD), after the key check above, so a retry of a
    // request that newer release committed still replays.
    loaded = await loadMigrating(ctx, r);
  } else if (refusesVersion(ctx, definition, loaded.machineVersion)) {
    // A cached entity a newer release wrote (cached by a read): decide on the database's row, as above.
    return AGAIN;
  }
  // A timer of the older version that the migration cancels or re-arms: commit the migration alone (its timers
  // take over) and settle this firing, instead of refusing an event the new version does not know.
  const timerId = r.options.firedTimerId;
  if (loaded.migratedFrom && timerId) {
    const alone = await lazyMigration(ctx, r, loaded, new Date(ctx.clock.now()), null);
    if (alone.settles.has(timerId)) {
      if (!(await tryCommit(ctx, alone.input))) return AGAIN;
      ctx.cache.delete(machine, id);
      await throwIfTimerSettled(ctx, r, alone.input.state);
      return { entity: loaded, fromDatabase: true };
    }
  }
  return { entity: loaded, fromDatabase };
}

/** A loaded entity, and whether it was read from the database now (only that may refuse an event). */
interface Loaded {
  readonly entity: LoadedEntity;
  readonly fromDatabase: boolean;
}

/** What the decide step accepted: the engine's transition and the policy version that allowed it. */
interface Decided {
  readonly accepted: Accepted;
  readonly policyVersion: string | null;
}

/**
 * Decide: freezes and the active policy, then the pure engine. A refusal decided on a cached snapshot goes round
 * again on the database's row; a refusal on the current row is recorded and thrown, unless this very request's
 * earlier attempt committed meanwhile (then its answer is returned).
 */
async function decideForSend(ctx: RuntimeContext, r: GateRequest, loaded: LoadedEntity, fromDatabase: boolean): Promise<Decided | SendResult | typeof AGAIN> {
  const decision = await decide(ctx, r.definition, r.machine, r.id, loaded, r.event);
  if (decision.kind === 'accepted') return decision;
  if (!fromDatabase) return AGAIN;
  // A timer's event refused because a transition that got in first cancelled the timer (and left its state):
  // not an illegal attempt, just a stale timer.
  if (decision.kind === 'refused') await throwIfTimerSettled(ctx, r, loaded.state);
  // The key was checked before the load: the state that refuses may be this very request's doing, an earlier
  // attempt with the same key (its answer lost) that committed between the key check and the load.
  const committed = await replayIfCommitted(ctx, r);
  if (committed) return committed;
  const rejection = { machine: r.machine, id: r.id, state: loaded.state, event: r.event, key: r.key, actor: r.actor, error: decision.error };
  if (decision.kind === 'not-admitted') return refuseAdmission(ctx, rejection, decision.record, r.options);
  return reject(ctx, rejection);
}

/** The decide step's outcome, shared by the send and the dry run (`would` phrases a refusal for a dry run). */
export type Decision =
  | { readonly kind: 'accepted'; readonly accepted: Accepted; readonly policyVersion: string | null }
  /** Refused by a freeze or the policy; `record`: a refusal the gate records. */
  | { readonly kind: 'not-admitted'; readonly error: TollgateError; readonly record: boolean }
  /** Refused by the machine (illegal, guarded, or a machine that threw). */
  | { readonly kind: 'refused'; readonly error: TollgateError };

/** Freezes and the active policy (a dry run skips freezes), then the pure evaluation. Writes nothing. */
export async function decide(
  ctx: RuntimeContext,
  definition: AnyMachineDefinition,
  machine: string,
  id: string,
  loaded: LoadedEntity,
  event: EventObject,
  dryRun = false,
): Promise<Decision> {
  const admission = await admit(ctx, { machine, id, loaded, event, ...(dryRun ? { dryRun } : {}) });
  if (!admission.allowed) return { kind: 'not-admitted', error: admission.error, record: admission.record };
  const decision = evaluate(definition.machine, loaded.snapshot, event, { machine, entityId: id });
  if (decision.kind === 'refused') return { kind: 'refused', error: refusal(machine, id, event, decision, dryRun) };
  return { kind: 'accepted', accepted: decision, policyVersion: admission.policyVersion };
}

/**
 * Commit: the accepted transition in one statement (after the `$migrated` row of an entity of an older machine
 * version, in the same transaction); the send's result, or undefined when a concurrent writer won.
 */
async function commitAccepted(ctx: RuntimeContext, r: GateRequest, loaded: LoadedEntity, d: Decided): Promise<SendResult | undefined> {
  const { definition, machine, id, event } = r;
  const { accepted, policyVersion } = d;
  const transitionId = randomUUID();
  const now = new Date(ctx.clock.now());
  const migration = loaded.migratedFrom ? (await lazyMigration(ctx, r, loaded, now, policyVersion)).input : undefined;
  const base = migration ? { ...loaded, version: loaded.version + 1 } : loaded;
  const input = commitInput({ machine, id, loaded: base, accepted, definition, transitionId, now, event, key: r.key, print: r.print, actor: r.actor, options: r.options, policyVersion });
  const stateEnteredAt = await tryCommit(ctx, input, migration);
  if (!stateEnteredAt) return undefined;
  const version = base.version + 1;
  ctx.cache.set(machine, id, { version, machineVersion: definition.version, snapshot: accepted.snapshot, state: accepted.state, stateEnteredAt });
  recordCommit(ctx, machine, loaded, accepted, event, now);
  const transition = transitionViewOf(input, accepted);
  ctx.feed.publish({ transition, snapshot: accepted.snapshot });
  return {
    entity: toEntityView({ machine, id, snapshot: accepted.snapshot, state: accepted.state, version, machineVersion: definition.version, stateEnteredAt }, definition.events),
    transition,
    replayed: false,
  };
}

/**
 * After a lost race (or a key taken meanwhile): this request's own commit answers if it was the winner; a stale
 * timer's firing is settled; past `maxConflictRetries` TG_VERSION_CONFLICT; otherwise a jittered wait before the
 * next round.
 */
async function afterLostRace(ctx: RuntimeContext, r: GateRequest, loaded: LoadedEntity, accepted: Accepted, lostRaces: number): Promise<SendResult | undefined> {
  const { machine, id, event } = r;
  const replayed = await replayIfCommitted(ctx, r);
  if (replayed) return replayed;
  // A timer's firing commits only while the timer is scheduled: cancelled by a transition that got in first
  // (even one that re-entered the same state and armed a new timer), its event must not apply.
  await throwIfTimerSettled(ctx, r, loaded.state);
  if (lostRaces >= ctx.maxConflictRetries) {
    ctx.metrics.conflicts.inc({ machine });
    throw new TollgateError(
      'TG_VERSION_CONFLICT',
      `${entityRef(machine, id)} changed ${lostRaces + 1} times while '${event.type}' was being applied ` +
        `(concurrent writers). Nothing was written; send it again (with the same idempotency key).`,
      { machine, entityId: id, state: loaded.state, event: event.type },
    );
  }
  ctx.metrics.conflictRetries.inc({ machine, from: loaded.state, to: accepted.state });
  await sleep(backoffMs(lostRaces + 1, { baseMs: 4, jitter: [0, 1] }));
  return undefined;
}

/** The replay of this request's commit under its idempotency key, if one committed (before or during this send). */
async function replayIfCommitted(ctx: RuntimeContext, r: GateRequest): Promise<SendResult | undefined> {
  if (!r.key) return undefined;
  const prior = await ctx.queries.transitionByKey(r.machine, r.id, r.key);
  return prior ? replay(ctx, r.definition, prior, r.print, r.event) : undefined;
}

/** Loads the entity for a write; a failed snapshot migration is recorded as a rejection of the event, then thrown. */
async function loadMigrating(ctx: RuntimeContext, r: GateRequest): Promise<LoadedEntity> {
  try {
    return await loadEntity(ctx, r.definition, r.machine, r.id, { forWrite: true });
  } catch (error) {
    if (!isTollgateError(error, 'TG_MIGRATION_FAILED')) throw error;
    const row = await ctx.queries.loadEntity(r.machine, r.id);
    return reject(ctx, { machine: r.machine, id: r.id, state: row?.state ?? '(unknown)', event: r.event, key: r.key, actor: r.actor, error });
  }
}

/** The `$migrated` commit of an entity loaded migrated (load.ts), its timers re-derived from the stored ones. */
async function lazyMigration(
  ctx: RuntimeContext,
  r: GateRequest,
  loaded: LoadedEntity,
  now: Date,
  policyVersion: string | null,
): Promise<{ input: CommitInput; settles: ReadonlySet<string> }> {
  const { definition, machine, id, actor } = r;
  const from = loaded.migratedFrom!;
  const timers = await ctx.queries.timers(machine, id);
  const plan = planMigration(
    definition,
    { machine, id, machineVersion: from.machineVersion, state: from.state, snapshot: from.snapshot, stateEnteredAt: loaded.stateEnteredAt },
    timers,
  );
  return {
    input: migrationCommit(plan, { machine, id, expectedVersion: loaded.version, transitionId: randomUUID(), now, policyVersion, actor }),
    // The scheduled timers the migration cancels (or re-arms under a new id).
    settles: new Set(timers.filter((t) => t.status === 'scheduled' && plan.cancel.includes(t.send_id)).map((t) => t.id)),
  };
}

/** TG_TIMER_SETTLED if the timer this send fires (`firedTimerId`) is no longer scheduled. */
async function throwIfTimerSettled(ctx: RuntimeContext, r: GateRequest, state: string): Promise<void> {
  const timerId = r.options.firedTimerId;
  if (!timerId) return;
  const timerStatus = await ctx.queries.timerStatus(timerId);
  if (timerStatus === undefined || timerStatus === 'scheduled') return;
  throw new TollgateError(
    'TG_TIMER_SETTLED',
    `Timer '${timerId}' of ${entityRef(r.machine, r.id)} is ${timerStatus}: its event '${r.event.type}' was not applied.`,
    { machine: r.machine, entityId: r.id, state, event: r.event.type, timerId, timerStatus },
  );
}

/**
 * A caller's event checked against the machine's event schemas (the send and the dry run). An event type or field
 * only a newer release knows, for an entity that release already wrote, is left to it (TG_MACHINE_VERSION_AHEAD);
 * otherwise TG_INVALID_EVENT, counted when `count` (a send; a dry run counts nothing).
 */
export async function checkedEvent(ctx: RuntimeContext, definition: AnyMachineDefinition, machine: string, id: string, raw: unknown, o: { readonly count: boolean }): Promise<EventObject> {
  try {
    return parseEvent(definition, machine, id, raw);
  } catch (error) {
    await throwIfWrittenByNewerVersion(ctx, definition, machine, id);
    if (o.count && isTollgateError(error, 'TG_INVALID_EVENT')) {
      ctx.metrics.rejections.inc({ machine, state: '(unknown)', event: String(error.details.event), code: 'TG_INVALID_EVENT' });
    }
    throw error;
  }
}

function parseEvent(definition: AnyMachineDefinition, machine: string, id: string, raw: unknown): EventObject {
  const type = typeof raw === 'object' && raw !== null ? (raw as { type?: unknown }).type : undefined;
  const schema = typeof type === 'string' && Object.hasOwn(definition.events, type) ? definition.events[type] : undefined;
  if (!schema) {
    const known = Object.keys(definition.events).join(', ');
    const shown = typeof type === 'string' ? `'${type.slice(0, 60)}'` : `no string 'type'`;
    throw invalidEvent(machine, id, `Event with ${shown} is not an event of machine '${machine}' (for ${entityRef(machine, id)}). Known events: ${known}.`);
  }
  const { type: _type, ...payload } = raw as Record<string, unknown>;
  const parsed = schema.safeParse(payload);
  if (!parsed.success) {
    const { field, message } = firstIssue(parsed.error, '(payload)');
    throw invalidEvent(machine, id, `Event '${String(type)}' for ${entityRef(machine, id)} has an invalid payload: '${field}' ${message}.`, String(type));
  }
  return { ...(parsed.data as object), type: type as string };
}

/**
 * The refusal of an event that fails its schema. Counted by the caller (once it is not a newer release's event), not
 * recorded: the entity may not exist and the payload is whatever a caller sent.
 */
function invalidEvent(machine: string, id: string, message: string, eventType = '(invalid)'): TollgateError {
  return new TollgateError('TG_INVALID_EVENT', message, { machine, entityId: id, event: eventType });
}

/** Throws the refusal of a freeze or a policy: recorded and counted, or for the system's deferred work only counted. */
async function refuseAdmission(ctx: RuntimeContext, r: Rejection, record: boolean, options: InternalSendOptions): Promise<never> {
  if (r.error.code === 'TG_FROZEN') {
    if (options.deferrable) {
      ctx.metrics.frozenDeferrals.inc({ machine: r.machine, event: r.event.type });
      throw r.error;
    }
    ctx.metrics.frozenRefusals.inc({ machine: r.machine, state: r.state, event: r.event.type });
  }
  if (record) return reject(ctx, r);
  ctx.metrics.rejections.inc({ machine: r.machine, state: r.state, event: r.event.type, code: r.error.code });
  throw r.error;
}

/** The coded error of an engine refusal; `would` phrases it for a dry run. */
export function refusal(machine: string, id: string, event: EventObject, decision: Refused, would = false): TollgateError {
  const accepted = decision.accepted.filter((t) => !t.startsWith('xstate.'));
  const where = `for ${entityRef(machine, id)} in state '${decision.state}'`;
  const details = { machine, entityId: id, state: decision.state, event: event.type, ...(would ? { dryRun: true } : {}) };
  if (decision.code === 'TG_MACHINE_FAULT') {
    return new TollgateError(
      decision.code,
      `Machine '${machine}' threw while evaluating '${event.type}' ${where}: ${decision.reason ?? 'unknown error'}. ` +
        `Nothing was written; the same event in the same state throws again: fix the machine (guards, assign, output ` +
        `and params must not throw).`,
      { ...details, reason: decision.reason },
    );
  }
  const message =
    decision.code === 'TG_ILLEGAL_TRANSITION'
      ? `'${event.type}' ${would ? 'would not be' : 'is not'} allowed ${where}. ` +
        (accepted.length ? `That state accepts: ${accepted.join(', ')}.` : 'That state accepts no events (it is final).')
      : `'${event.type}' ${where} ${would ? 'would be' : 'was'} refused by the machine's guards ` +
        `(the state handles it, but no guard passed for this context and payload).`;
  return new TollgateError(decision.code, message, details);
}

interface Rejection {
  readonly machine: string;
  readonly id: string;
  readonly state: string;
  readonly event: EventObject;
  readonly key: string | null;
  readonly actor: string | null;
  readonly error: TollgateError;
}

/** Records and counts a refusal, then throws it. Nothing else is written. */
async function reject(ctx: RuntimeContext, r: Rejection): Promise<never> {
  ctx.metrics.rejections.inc({ machine: r.machine, state: r.state, event: r.event.type, code: r.error.code });
  await ctx.queries.recordRejection({
    machine: r.machine,
    entityId: r.id,
    state: r.state,
    event: r.event,
    code: r.error.code,
    message: r.error.message,
    idempotencyKey: r.key,
    actor: r.actor,
    at: new Date(ctx.clock.now()),
  });
  throw r.error;
}

function replay(
  ctx: RuntimeContext,
  definition: AnyMachineDefinition,
  prior: TransitionRow,
  print: string,
  event: EventObject,
): SendResult {
  if (prior.fingerprint !== print) {
    throw new TollgateError(
      'TG_IDEMPOTENCY_KEY_REUSED',
      `Idempotency key '${prior.idempotency_key}' of ${entityRef(prior.machine, prior.entity_id)} already committed ` +
        `'${prior.event_type}' (transition ${prior.seq}) with a different payload than this '${event.type}'. ` +
        `Use a new key for a new request.`,
      { machine: prior.machine, entityId: prior.entity_id, event: event.type, transitionId: prior.id },
    );
  }
  let entity: EntityView;
  try {
    entity = entityAfter(definition, prior);
  } catch (error) {
    // Committed by a newer release into a state only it has: that release answers the retry (retryable), not a
    // final error for a request that did commit.
    if (isTollgateError(error, 'TG_SNAPSHOT_INCOMPATIBLE') && prior.machine_version > definition.version) {
      throw versionAhead(prior.machine, prior.entity_id, prior.machine_version, definition.version, 'The committed transition');
    }
    throw error;
  }
  ctx.metrics.replays.inc({ machine: prior.machine });
  return { entity, transition: toTransitionView(prior), replayed: true };
}

/** The entity as it was right after a stored transition: what a replay answers. */
export function entityAfter(definition: AnyMachineDefinition, row: TransitionRow): EntityView {
  // Written by an older version: shown migrated, as reads show the entity.
  return storedEntityView(definition, row.machine, row.entity_id, { ...row, state: row.to_state, version: row.seq });
}

interface CommitParts {
  readonly machine: string;
  readonly id: string;
  readonly loaded: LoadedEntity;
  readonly accepted: Accepted;
  readonly definition: AnyMachineDefinition;
  readonly transitionId: string;
  readonly now: Date;
  readonly event: EventObject;
  readonly key: string | null;
  readonly print: string;
  readonly actor: string | null;
  readonly options: InternalSendOptions;
  /** The policy version that allowed the event (null: no policy, or a create). */
  readonly policyVersion: string | null;
}

/** The rows of one accepted transition. Effect and timer ids derive from the transition id: stable on retry. */
export function commitInput(p: CommitParts): CommitInput {
  return {
    machine: p.machine,
    entityId: p.id,
    expectedVersion: p.loaded.version,
    machineVersion: p.definition.version,
    snapshot: p.accepted.persisted,
    state: p.accepted.state,
    // A creation always enters its state (a root-only machine's state string is '', like the placeholder's).
    stateChanged: p.loaded.version === 0 || p.accepted.state !== p.loaded.state,
    now: p.now,
    transitionId: p.transitionId,
    event: p.event,
    fromState: p.loaded.version === 0 ? null : p.loaded.state,
    idempotencyKey: p.key,
    fingerprint: p.print,
    actor: p.actor,
    policyVersion: p.policyVersion,
    effects: p.accepted.effects.map((e) => ({ id: `${p.transitionId}-e${e.index}`, idx: e.index, type: e.type, params: e.params })),
    timers: p.accepted.timers.map((t) => ({
      id: `${p.transitionId}-t${t.index}`,
      send_id: t.sendId,
      event: t.event,
      due_at: new Date(p.now.getTime() + t.delayMs).toISOString(),
    })),
    cancels: p.accepted.cancels,
    firedTimerId: p.options.firedTimerId ?? null,
  };
}

/**
 * Runs the commit (after `before`, in one transaction, when given); the entry time of the state if it committed,
 * undefined if the version or key was taken.
 */
export async function tryCommit(ctx: RuntimeContext, input: CommitInput, before?: CommitInput): Promise<Date | undefined> {
  try {
    const outcome = before ? await ctx.committer.commitAll([before, input]) : await ctx.committer.commit(input);
    return outcome.committed && outcome.stateEnteredAt ? outcome.stateEnteredAt : undefined;
  } catch (error) {
    // A unique violation means a concurrent writer took the seq or the key first: same as a lost version race.
    if (pgErrorCode(error) === '23505') return undefined;
    throw error;
  }
}

export function transitionViewOf(input: CommitInput, accepted: Accepted): TransitionView {
  return {
    id: input.transitionId,
    machine: input.machine,
    entityId: input.entityId,
    seq: input.expectedVersion + 1,
    eventType: input.event.type,
    event: input.event as Record<string, unknown>,
    fromState: input.fromState,
    toState: accepted.state,
    idempotencyKey: input.idempotencyKey,
    actor: input.actor,
    machineVersion: input.machineVersion,
    policyVersion: input.policyVersion,
    createdAt: input.now.toISOString(),
  };
}

function recordCommit(ctx: RuntimeContext, machine: string, loaded: LoadedEntity, accepted: Accepted, event: EventObject, now: Date): void {
  ctx.metrics.transitions.inc({ machine, from: loaded.state, to: accepted.state, event: event.type });
  if (accepted.state !== loaded.state) {
    ctx.metrics.timeInState.observe({ machine, state: loaded.state }, Math.max(0, now.getTime() - loaded.stateEnteredAt.getTime()) / 1000);
  }
}
