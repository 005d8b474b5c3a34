import type { AnyMachineDefinition, MachineRegistry } from '../engine/definition.ts';
import { afterTimersOf } from '../engine/after-timers.ts';
import { effectTypes } from '../engine/effect-types.ts';
import { migrationHops, restoresExactly } from '../engine/migrate-snapshot.ts';
import { restoreSnapshot } from '../engine/restore.ts';
import { stateToString } from '../engine/state-value.ts';
import { isTollgateError } from '../errors.ts';
import { resolvePolicy, type PolicyVersions } from '../policy/policies.ts';
import { planMigration, type TimerChange } from '../runtime/migration.ts';
import type { QueuedEvent } from '../jobs/queued-events.ts';
import { deployCheckReads, type DeployCheckReads, type LiveEntityRecord } from '../store/deploy-check-reads.ts';
import type { TimerRow } from '../store/rows.ts';
import type { SqlClient } from '../store/sql-client.ts';

/**
 * What keeps a live entity (or its pending work) from a path into the new release:
 * - `machine-removed`: entities of a machine the new registry does not register;
 * - `version-ahead`: entities written by a newer version than the new release's (a rollback too far);
 * - `unrestorable`: entities in a state the new version cannot restore (removed, renamed, made compound) and no
 *   migration from their version;
 * - `migration-fails`: the migration from their version throws or returns a snapshot that does not restore;
 * - `timer-removed`: scheduled `after` timers of entities that stay in their state whose delayed transition the new
 *   version no longer has (the timer would fire into nothing: the entity would stay put);
 * - `effect-undeclared`: pending effects of a type the new version no longer declares;
 * - `effect-no-handler`: pending or declared effect types without a handler (checked when handlers are given);
 * - `compensation-event-removed`: a failed effect's unsent compensation names an event the new version lacks;
 * - `queued-event-removed`: an effect's unsent follow-up event is of a type the new version lacks;
 * - `enqueued-event-removed`: events waiting in the event workers' queue (`tg.enqueue`) of a type the new version
 *   lacks, or for a machine it no longer registers (checked when the queue is given);
 * - `policy-unknown`: the active policy version is not among the new release's.
 */
export type DeployProblemKind =
  | 'machine-removed'
  | 'version-ahead'
  | 'unrestorable'
  | 'migration-fails'
  | 'timer-removed'
  | 'effect-undeclared'
  | 'effect-no-handler'
  | 'compensation-event-removed'
  | 'queued-event-removed'
  | 'enqueued-event-removed'
  | 'policy-unknown';

/** One problem: what, where, how many, and a few example entity ids. */
export interface DeployProblem {
  readonly machine: string;
  readonly kind: DeployProblemKind;
  /** The stored machine version concerned (entity problems). */
  readonly machineVersion?: number;
  /** The stored state concerned (entity problems). */
  readonly state?: string;
  /** The timer's sendId, the effect or event type, the policy version: what the problem is about. */
  readonly subject?: string;
  /** Why, in a sentence (the first entity's error for an unrestorable state or a failing migration). */
  readonly detail: string;
  /** Entities (or effects, timers) concerned. */
  readonly count: number;
  /** Up to three entity ids. */
  readonly examples: readonly string[];
}

/** How the live entities of one (stored version, state) enter the new release. */
export interface DeployPath {
  readonly machineVersion: number;
  readonly state: string;
  /** `restores`: as stored; `migrates`: through the migrations (to `toStates`); `blocked`: see the problems. */
  readonly path: 'restores' | 'migrates' | 'blocked';
  readonly count: number;
  /** For `migrates`: the states the migrations lead to, with counts. */
  readonly toStates?: Readonly<Record<string, number>>;
}

/** What the check found for one machine of the new registry. */
export interface MachineCheck {
  readonly machine: string;
  /** The new release's version of it. */
  readonly version: number;
  readonly entities: number;
  readonly paths: readonly DeployPath[];
  /** What migrating the older entities would do to their timers (the re-derivation of `tollgate entities migrate`). */
  readonly timers: Readonly<Record<TimerChange['action'], number>>;
  /**
   * The policy version the new release would run: the active one when it registers it, else (no active row yet) its
   * newest; null when it registers none.
   */
  readonly policyVersion: string | null;
}

/** Whether the events waiting in the event workers' queue were read, and how many. */
export type QueuedEventsCheck = { readonly checked: true; readonly jobs: number } | { readonly checked: false; readonly reason: string };

/** The whole report: exit 0 when `ok`. */
export interface DeployCheckReport {
  readonly ok: boolean;
  readonly machines: readonly MachineCheck[];
  readonly problems: readonly DeployProblem[];
  readonly queuedEvents: QueuedEventsCheck;
}

/** What to check against. */
export interface DeployCheckOptions {
  /** The new release's policy versions (the module's `policies`). Default: none. */
  readonly policies?: PolicyVersions;
  /** Effect types the new release has handlers for; when given, `effect-no-handler` is checked. */
  readonly handlerTypes?: readonly string[];
  /** Entities read per page. Default 500. */
  readonly batch?: number;
  /** Called after each page. */
  readonly onProgress?: (progress: { readonly done: number; readonly total: number }) => void;
  /**
   * The events waiting in the event workers' queue, page by page (jobs/queued-events.ts reads BullMQ's), or why they
   * are not read (no Redis configured: the report says they were not checked). Default: not checked.
   */
  readonly queuedEvents?: AsyncIterable<readonly QueuedEvent[]> | { readonly unchecked: string };
}

/**
 * Checks, against the live database and writing nothing, that every live entity of every machine has a path into
 * a new release's registry (`tollgate deploy-check`): each entity is restored as stored or carried through the
 * release's migrations exactly as `tollgate entities migrate` would (timers re-derived), and pending work (timers,
 * effects, unsent follow-ups and compensations) and the active policy version are checked against the release.
 * Runs on a read replica or a staging copy: it only reads.
 *
 * @example
 * const report = await deployCheck(portsOf(tg).database.client, 'tollgate', release2.machines, { policies: release2.policies });
 * if (!report.ok) for (const p of report.problems) console.log(p.machine, p.kind, p.state, p.count, p.examples);
 */
export async function deployCheck(client: SqlClient, schemaName: string, registry: MachineRegistry, options: DeployCheckOptions = {}): Promise<DeployCheckReport> {
  const reads = deployCheckReads(client, schemaName);
  const problems: DeployProblem[] = [];
  const stored = await reads.storedMachines();
  const total = stored.filter((r) => Object.hasOwn(registry, r.machine)).reduce((sum, r) => sum + r.n, 0);
  for (const row of stored) {
    if (Object.hasOwn(registry, row.machine)) continue;
    const examples = await reads.exampleIds(row.machine, 3);
    problems.push({ machine: row.machine, kind: 'machine-removed', detail: `the new release does not register machine '${row.machine}'`, count: row.n, examples });
  }
  const active = await reads.activePolicies();
  const progress = { done: 0, total };
  const machines: MachineCheck[] = [];
  for (const [machine, definition] of Object.entries(registry)) {
    machines.push(await checkEntities(reads, machine, definition, options, problems, progress));
    await checkPendingWork(reads, machine, definition, options, problems);
    const resolved = resolvePolicy(options.policies ?? {}, undefined, machine, active.get(machine));
    if (resolved.kind === 'unknown') {
      problems.push({
        machine,
        kind: 'policy-unknown',
        subject: resolved.version,
        detail: `policy version '${resolved.version}' is active and the new release registers ${resolved.known.length ? resolved.known.map((v) => `'${v}'`).join(', ') : 'none'}: every send would be TG_POLICY_UNAVAILABLE`,
        count: 0,
        examples: [],
      });
    }
    const last = machines.pop()!;
    machines.push({ ...last, policyVersion: resolved.kind === 'policy' ? resolved.policy.version : resolved.kind === 'unknown' ? resolved.version : null });
  }
  const queued = options.queuedEvents;
  const queuedEvents: QueuedEventsCheck =
    queued === undefined ? { checked: false, reason: 'no event queue given' } : 'unchecked' in queued ? { checked: false, reason: queued.unchecked } : await checkQueuedEvents(queued, registry, problems);
  return { ok: problems.length === 0, machines, problems, queuedEvents };
}

/** Events waiting in the queue (never taken by this check) of a type the release's machine does not take at all. */
async function checkQueuedEvents(pages: AsyncIterable<readonly QueuedEvent[]>, registry: MachineRegistry, problems: DeployProblem[]): Promise<QueuedEventsCheck> {
  const found = new Map<string, { machine: string; type: string; count: number; examples: string[]; jobs: string[] }>();
  let jobs = 0;
  for await (const page of pages) {
    for (const job of page) {
      jobs++;
      const definition = Object.hasOwn(registry, job.machine) ? registry[job.machine] : undefined;
      if (definition && Object.hasOwn(definition.events, job.type)) continue;
      const key = `${job.machine}\u0000${job.type}`;
      const entry = found.get(key) ?? { machine: job.machine, type: job.type, count: 0, examples: [], jobs: [] };
      entry.count++;
      if (entry.examples.length < 3 && !entry.examples.includes(job.entityId)) entry.examples.push(job.entityId);
      if (entry.jobs.length < 3) entry.jobs.push(job.jobId);
      found.set(key, entry);
    }
  }
  for (const { machine, type, count, examples, jobs: ids } of found.values()) {
    const definition = Object.hasOwn(registry, machine) ? registry[machine] : undefined;
    problems.push({
      machine,
      kind: 'enqueued-event-removed',
      subject: type,
      detail:
        (definition
          ? `queued events '${type}', an event version ${definition.version} does not take: a worker of the release refuses them (TG_INVALID_EVENT)`
          : `queued events '${type}' for machine '${machine}', which the release no longer registers`) + ` (jobs ${ids.join(', ')})`,
      count,
      examples,
    });
  }
  return { checked: true, jobs };
}

async function checkEntities(
  reads: DeployCheckReads,
  machine: string,
  definition: AnyMachineDefinition,
  options: DeployCheckOptions,
  problems: DeployProblem[],
  progress: { done: number; total: number },
): Promise<MachineCheck> {
  const batch = options.batch ?? 500;
  const paths = new Map<string, { machineVersion: number; state: string; path: DeployPath['path']; count: number; toStates: Record<string, number> }>();
  const found = new Map<string, { problem: Omit<DeployProblem, 'count' | 'examples'>; count: number; examples: string[] }>();
  const timers: Record<TimerChange['action'], number> = { kept: 0, rearmed: 0, cancelled: 0, armed: 0 };
  // Restoring as stored depends on the state only (not the context): judged once per (version, state).
  const restorable = new Map<string, { error?: string; afterIds?: ReadonlySet<string> }>();
  let entities = 0;

  const problem = (id: string, p: Omit<DeployProblem, 'count' | 'examples' | 'machine'>, count = 1) => {
    const key = `${p.kind}\u0000${p.machineVersion}\u0000${p.state}\u0000${p.subject ?? ''}`;
    const entry = found.get(key) ?? { problem: { machine, ...p }, count: 0, examples: [] };
    entry.count += count;
    if (entry.examples.length < 3 && !entry.examples.includes(id)) entry.examples.push(id);
    found.set(key, entry);
  };
  const pathOf = (row: LiveEntityRecord, path: DeployPath['path'], toState?: string) => {
    const key = `${row.machine_version}\u0000${row.state}`;
    const entry = paths.get(key) ?? { machineVersion: row.machine_version, state: row.state, path, count: 0, toStates: {} };
    if (path === 'blocked') entry.path = 'blocked';
    entry.count++;
    if (toState !== undefined) entry.toStates[toState] = (entry.toStates[toState] ?? 0) + 1;
    paths.set(key, entry);
  };

  let after = '';
  for (;;) {
    const rows = await reads.entityPage(machine, after, batch);
    if (rows.length === 0) break;
    const timerRows = await reads.scheduledTimers(machine, rows.map((r) => r.id));
    const timersOf = new Map<string, TimerRow[]>();
    for (const t of timerRows) timersOf.set(t.entity_id, [...(timersOf.get(t.entity_id) ?? []), t]);

    for (const row of rows) {
      entities++;
      const base = { machineVersion: row.machine_version, state: row.state };
      if (row.machine_version > definition.version) {
        problem(row.id, { ...base, kind: 'version-ahead', detail: `written by version ${row.machine_version}, newer than the release's ${definition.version}` });
        pathOf(row, 'blocked');
        continue;
      }
      const target = { machine, entityId: row.id, machineVersion: row.machine_version };
      if (migrationHops(definition, row.machine_version).length > 0) {
        try {
          const plan = planMigration(definition, { machine, id: row.id, machineVersion: row.machine_version, state: row.state, snapshot: row.snapshot, stateEnteredAt: new Date(row.state_entered_at) }, timersOf.get(row.id) ?? []);
          for (const change of plan.timers) timers[change.action]++;
          pathOf(row, 'migrates', plan.toState);
        } catch (error) {
          if (!isTollgateError(error)) throw error;
          problem(row.id, { ...base, kind: 'migration-fails', detail: error.message });
          pathOf(row, 'blocked');
        }
        continue;
      }
      const key = `${row.machine_version}\u0000${row.state}`;
      let judged = restorable.get(key);
      if (!judged) {
        try {
          const snapshot = restoreSnapshot(definition.machine, row.snapshot, target);
          judged = restoresExactly(snapshot, row.snapshot)
            ? { afterIds: new Set(afterTimersOf(definition.machine, snapshot).map((t) => t.sendId)) }
            : { error: `version ${definition.version} restores state '${row.state}' only as '${stateToString(snapshot.value)}' (a compound state now): add a migration that names the leaf state` };
        } catch (error) {
          if (!isTollgateError(error)) throw error;
          judged = { error: `state '${row.state}' does not exist in version ${definition.version} and no migration from version ${row.machine_version} moves it (${String(error.details.reason ?? error.message)})` };
        }
        restorable.set(key, judged);
      }
      if (judged.error !== undefined) {
        problem(row.id, { ...base, kind: 'unrestorable', detail: judged.error });
        pathOf(row, 'blocked');
        continue;
      }
      let blocked = false;
      for (const timer of timersOf.get(row.id) ?? []) {
        if (!timer.send_id.startsWith('xstate.after.') || judged.afterIds!.has(timer.send_id)) continue;
        blocked = true;
        problem(row.id, {
          ...base,
          kind: 'timer-removed',
          subject: timer.send_id,
          detail: `a scheduled timer '${timer.send_id}' that no state of version ${definition.version} the entity is in has: it would fire into nothing and the entity stay in '${row.state}'`,
        });
      }
      pathOf(row, blocked ? 'blocked' : 'restores');
    }
    progress.done += rows.length;
    options.onProgress?.({ ...progress });
    after = rows.at(-1)!.id;
    if (rows.length < batch) break;
  }
  for (const { problem: p, count, examples } of found.values()) problems.push({ ...p, count, examples });
  return {
    machine,
    version: definition.version,
    entities,
    paths: [...paths.values()].map(({ toStates, ...p }) => (p.path === 'migrates' ? { ...p, toStates } : p)),
    timers,
    policyVersion: null,
  };
}

/** Pending effects, unsent follow-ups and compensations, against the release's declared effect types and events. */
async function checkPendingWork(reads: DeployCheckReads, machine: string, definition: AnyMachineDefinition, options: DeployCheckOptions, problems: DeployProblem[]): Promise<void> {
  const declared = new Set(effectTypes(definition.machine));
  const events = new Set(Object.keys(definition.events));
  const handlers = options.handlerTypes ? new Set(options.handlerTypes) : undefined;
  const open = await reads.openEffects(machine);
  const openTypes = new Set<string>();
  for (const row of open) {
    openTypes.add(row.type);
    if (!declared.has(row.type)) {
      problems.push({ machine, kind: 'effect-undeclared', subject: row.type, detail: `pending effects of type '${row.type}', which version ${definition.version} no longer declares`, count: Number(row.n), examples: row.examples });
    } else if (handlers && !handlers.has(row.type)) {
      problems.push({ machine, kind: 'effect-no-handler', subject: row.type, detail: `pending effects of type '${row.type}' and no handler for it in the release`, count: Number(row.n), examples: row.examples });
    }
  }
  if (handlers) {
    for (const type of declared) {
      if (handlers.has(type) || openTypes.has(type)) continue;
      problems.push({ machine, kind: 'effect-no-handler', subject: type, detail: `version ${definition.version} declares effect '${type}' and the release has no handler for it`, count: 0, examples: [] });
    }
  }
  const unsent = await reads.unsentFollowUps(machine);
  for (const row of unsent) {
    if (events.has(row.type)) continue;
    problems.push({
      machine,
      kind: row.compensation ? 'compensation-event-removed' : 'queued-event-removed',
      subject: row.type,
      detail: `${row.compensation ? 'unsent compensations' : 'unsent follow-up events'} '${row.type}', an event version ${definition.version} no longer declares`,
      count: Number(row.n),
      examples: row.examples,
    });
  }
}
