import type { StateValue } from 'xstate';
import { systemClock } from '../clock.ts';
import { checkMachine } from '../engine/check-machine.ts';
import type { AnyMachineDefinition, EffectParamsOf, EffectTypeOf, EventOf, InputOf, MachineRegistry } from '../engine/definition.ts';
import { effectTypes } from '../engine/effect-types.ts';
import { createFeedMetrics, type FeedMetrics } from '../observe/feed-metrics.ts';
import { createJobMetrics, type JobMetrics } from '../observe/job-metrics.ts';
import { consumerStore } from '../store/consumer-store.ts';
import { effectStore } from '../store/effect-store.ts';
import { outboxStore } from '../store/outbox-store.ts';
import { timerStore } from '../store/timer-store.ts';
import { refusesVersion } from './deploy-skew.ts';
import { listEntities } from './entity-list.ts';
import { migrateEntities } from './migrate-entities.ts';
import { runtimeHandle, type RuntimePorts } from './ports.ts';
import {
  enqueueEvent,
  registerEffect,
  type EffectHandler,
  type EffectHandlerOptions,
  type EnqueuedEvent,
  type EnqueueOptions,
} from '../effects/registry.ts';
import { TollgateError, entityRef } from '../errors.ts';
import { dwellLimits, entityGauges } from '../observe/entity-gauges.ts';
import { createMetrics } from '../observe/metrics.ts';
import { createCommitter, outboxChannel } from '../store/commit.ts';
import { createHistoryTail } from '../store/history-tail.ts';
import { createStatsQueries } from '../store/stats.ts';
import { outboxNotifier } from '../store/outbox-notifier.ts';
import { pgliteClient } from '../store/drivers/pglite.ts';
import { postgresClient } from '../store/drivers/postgres.ts';
import { migrate } from '../store/migrate.ts';
import { createQueries } from '../store/queries.ts';
import type { SqlClient } from '../store/sql-client.ts';
import { governanceWatch } from '../policy/watch.ts';
import { policyVersionsProblem } from '../policy/policies.ts';
import { auditGauges } from '../observe/audit-gauges.ts';
import { governanceGauges } from '../observe/governance-gauges.ts';
import { auditStore } from '../store/audit-store.ts';
import { governanceStore } from '../store/governance-store.ts';
import { shadowStore } from '../store/shadow-store.ts';
import { writeLegalPairs, type LegalPairs } from '../store/legality.ts';
import { legalPairs } from '../engine/legal-pairs.ts';
import { createEntity, type CreateResult } from './create-entity.ts';
import { importEntities, type ImportOptions, type ImportReport, type ImportSource } from './import-entities.ts';
import { governance, type Governance } from './governance.ts';
import { entityObservations, observe, shadowReport, type Observation, type ObservationView, type ShadowReport, type ShadowReportOptions } from './shadow.ts';
import type { Policy } from '../policy/policy.ts';
import { CommitFeed } from './commit-feed.ts';
import { attachInspector } from './inspection.ts';
import { LiveHub, type WatchFilter } from './live-hub.ts';
import { machineStats, type MachineStats } from './machine-stats.ts';
import { versionStats, type VersionStats, type VersionStatsOptions } from './version-stats.ts';
import { waitForState } from './wait-for.ts';
import { dryRun, type DryRunResult } from './dry-run.ts';
import { sendEvent, type SendOptions, type SendResult } from './gate.ts';
import { loadEntity } from './load.ts';
import { validateOptions, type TollgateOptions } from './options.ts';
import { checkIdentifier } from './identifier.ts';
import { machineOf, type RuntimeContext } from './runtime-context.ts';
import { SnapshotCache } from './snapshot-cache.ts';
import { registerTransitionHandler, type TransitionHandler, type TransitionHandlerOptions } from './transition-handlers.ts';
import {
  toEffectView,
  toEntityView,
  toRejectionView,
  toTimerView,
  toTransitionView,
  type EffectView,
  type EntityView,
  type RejectionView,
  type TimerView,
  type TransitionView,
} from './views.ts';

/** Options of `history`. */
export interface HistoryOptions {
  /** Only transitions with a larger seq (for paging). Default 0: from the creation. */
  readonly afterSeq?: number;
  /** At most this many, 1 to 1,000. Default 100. */
  readonly limit?: number;
  /** Add each transition's `snapshot` after it (its `value`, `status` and `context`). Default false. */
  readonly withSnapshots?: boolean;
}

type Name<R> = keyof R & string;

/** A running tollgate: the gate and the reads over one database. */
export interface Tollgate<R extends MachineRegistry = MachineRegistry> {
  /** The registered machines. */
  readonly machines: R;
  /** Applies pending migrations (idempotent; safe to call from several processes at once). */
  migrate(): Promise<string[]>;
  /** Creates an entity in its machine's initial state. */
  create<M extends Name<R>>(machine: M, id: string, input: InputOf<R[M]>, options?: SendOptions): Promise<CreateResult>;
  /**
   * Imports entities that live in another system today, each in the state it is in there: checked against the
   * machine, written with a `$imported` history row and the timers of its state counted from `stateEnteredAt`, in
   * batches. Idempotent (identical records skipped, differing ones reported); refused records are reported with
   * their number and do not stop the run up to `maxErrors`. See docs/adoption.md.
   *
   * @example
   * const report = await tg.import('subscription', [{ id: 's1', state: 'grace', context, stateEnteredAt: '2026-11-28T09:00:00Z' }]);
   */
  import(machine: Name<R>, source: ImportSource, options?: ImportOptions): Promise<ImportReport>;
  /**
   * Reports a transition a legacy system made on an entity of a machine in shadow mode (docs/adoption.md): tollgate
   * judges it against the machine and its mirror of the entity (`legal`, `illegal` with the code it would have
   * refused with, `diverged`, `unknown-entity`), records the verdict, and moves the mirror where the legacy system
   * put the entity. Never refused for legality; TG_INVALID_OBSERVATION for a malformed report, TG_MACHINE_ENFORCED
   * for a machine in enforce mode (nothing written).
   *
   * @example
   * const seen = await tg.observe('subscription', 'sub-1', { event: 'RESUME', from: 'paused.idle', to: 'active', at: '2026-11-30T08:00:00Z' });
   * if (seen.verdict === 'illegal') console.log(seen.code, seen.reason);
   */
  observe(machine: Name<R>, id: string, observation: Observation): Promise<ObservationView>;
  /** An entity's shadow observations with their verdicts, newest first (at most `limit`, default 100). */
  observations(machine: Name<R>, id: string, options?: { readonly limit?: number }): Promise<ObservationView[]>;
  /**
   * The drift shadow mode found: illegal and diverged transitions since `since` (default: 7 days ago) grouped by
   * (from, event, to) with counts and example ids, and the observations per verdict (`tollgate shadow-report`).
   */
  shadowReport(machine: Name<R>, options?: ShadowReportOptions): Promise<ShadowReport>;
  /** Sends one event through the gate. */
  send<M extends Name<R>>(machine: M, id: string, event: EventOf<R[M]>, options?: SendOptions): Promise<SendResult>;
  /**
   * What `send` would do now, without doing it: the gate's own steps up to the commit (event check, load, policy
   * and freezes, evaluation) and the would-be target state, effects and timers, or the coded refusal `send` would
   * throw (TG_ILLEGAL_TRANSITION with `dryRun: true` in its details, ...). Nothing is written, recorded or counted.
   *
   * @example
   * const { to, effects } = await tg.dryRun('subscription', 'sub-1', { type: 'CANCEL' });
   */
  dryRun<M extends Name<R>>(machine: M, id: string, event: EventOf<R[M]>): Promise<DryRunResult>;
  /** The entity now. */
  get(machine: Name<R>, id: string): Promise<EntityView>;
  /** Committed transitions, oldest first. */
  history(machine: Name<R>, id: string, options?: HistoryOptions): Promise<TransitionView[]>;
  /** The entity's side effects and their status. */
  effects(machine: Name<R>, id: string): Promise<EffectView[]>;
  /** The entity's durable timers. */
  timers(machine: Name<R>, id: string): Promise<TimerView[]>;
  /**
   * How many entities of the machine are in each state, now: keys are state strings as `EntityView.state` writes
   * them (`paused.idle`; parallel states as their leaf paths joined by `,`). The inspector draws these.
   */
  stateCounts(machine: Name<R>): Promise<Record<string, number>>;
  /** Refused attempts recorded for the entity (illegal, guard-rejected, policy-denied). */
  rejections(machine: Name<R>, id: string): Promise<RejectionView[]>;
  /** Run-time rules shared by every process: the active policy version per machine, and freezes (docs/governance.md). */
  readonly governance: Governance;
  /**
   * Calls `listener` with each transition committed from now on (by this process at once, by any other within
   * about a second: one history tail per process, shared by all watchers), optionally of one machine or entity,
   * until the returned function is called. Delivery is best effort: a watcher that must not miss a transition
   * reads the history (`history`), which this only signals.
   *
   * @example
   * const stop = tg.watch({ machine: 'order' }, (t) => console.log(t.entityId, t.fromState, '->', t.toState));
   */
  watch(filter: WatchFilter, listener: (transition: TransitionView) => void): () => void;
  /**
   * The fleet of one machine now: entities per state, stuck ones, refusals of the last 15 minutes, effects not
   * settled or failed per state, conflict retries per edge (this process). What the inspector draws.
   */
  machineStats(machine: Name<R>): Promise<MachineStats>;
  /** Calls `listener` with the machine's stats now and whenever they change (read at most once a second per process, shared). */
  watchStats(machine: Name<R>, listener: (stats: MachineStats) => void): () => void;
  /**
   * The canary comparison: per machine version, the share of transitions per (state, event) and the entities per
   * state, flagging shares that differ between versions by more than `threshold` (default 0.05).
   */
  versionStats(machine: Name<R>, options?: VersionStatsOptions): Promise<VersionStats>;
  /** Resolves with the entity once it is in `state` (or inside it); TG_WAIT_TIMEOUT after `timeoutMs` (default 30,000). */
  waitFor(machine: Name<R>, id: string, state: string, options?: { readonly timeoutMs?: number }): Promise<EntityView>;
  /**
   * Sends a `failed` effect back to `pending` for the relay to run again, recorded on the effect with who and why
   * (`retries`). The compensation its failure sent stays in the history. TG_EFFECT_NOT_FAILED unless it failed.
   */
  retryEffect(machine: Name<R>, id: string, effectId: string, options: { readonly reason: string; readonly actor?: string }): Promise<EffectView>;
  /** Deletes rejection records older than `olderThanMs`; returns how many. */
  pruneRejections(olderThanMs: number): Promise<number>;
  /**
   * Registers the handler of an effect type (a custom action one of the machines declares; `ctx.params` has the
   * type of that action's params), run by the effect workers that `startProcesses` (`tollgate/workers`) starts.
   * Register before starting them. An effect type no machine declares, or one registered twice, is
   * `TG_INVALID_ARGUMENT`. See docs/effects.md.
   *
   * @example
   * tg.effect('chargePayment', async (ctx) => {
   *   const charge = await payments.charge({ amountCents: ctx.params.amountCents, idempotencyKey: ctx.effectId });
   *   return { result: { chargeId: charge.id }, event: { type: 'PAYMENT_SUCCEEDED', chargeId: charge.id } };
   * });
   */
  effect<T extends EffectTypeOf<R>>(type: T, handler: EffectHandler<EffectParamsOf<R, T>>, options?: EffectHandlerOptions): void;
  /** The effect types the machines declare (custom actions), sorted; each needs a handler where effects run. */
  effectTypes(): string[];
  /**
   * Queues an event for the entity instead of sending it now: the ingestion worker sends it through the gate
   * (conflicts retried, coded rejections final). Needs a transport attached by `startProcesses`.
   */
  enqueue<M extends Name<R>>(machine: M, id: string, event: EventOf<R[M]>, options?: EnqueueOptions): Promise<EnqueuedEvent>;
  /**
   * Subscribes `handler` to the lifecycle feed as the durable consumer `name`: every committed transition it
   * selects, at least once, each entity's in seq order, with a cursor in the database (a restart resumes where it
   * stopped). Delivered by the feed that `startProcesses` runs (`tollgate dev`, `tollgate worker`); a handler that
   * throws is retried with backoff and dead-lettered after its attempts. See docs/events.md.
   */
  onTransition(name: string, handler: TransitionHandler, options?: TransitionHandlerOptions): void;
  /** Prometheus text exposition of this runtime's metrics (entity gauges are read from the database now). */
  metricsText(): Promise<string>;
  /** Closes the database connection(s). Further calls fail with TG_CLOSED. */
  close(): Promise<void>;
}

/**
 * Starts a tollgate runtime over Postgres (`database: { url }`) or embedded PGlite (`database: { dataDir }`).
 *
 * @example
 * import { createTollgate } from 'tollgate';
 * import { machines } from './machines/index.ts';
 * const tg = await createTollgate({ machines, database: { url: process.env.DATABASE_URL! } });
 * await tg.migrate();
 * await tg.create('subscription', 'sub-1', { customerId: 'c-1', plan: 'pro' });
 * await tg.send('subscription', 'sub-1', { type: 'UPGRADE', paymentMethodId: 'pm_1' }, { idempotencyKey: 'req-1' });
 */
export async function createTollgate<R extends MachineRegistry>(options: TollgateOptions<R>): Promise<Tollgate<R>> {
  validateOptions(options);
  const machines = new Map<string, AnyMachineDefinition>();
  for (const [name, definition] of Object.entries(options.machines)) {
    checkMachine(name, definition);
    machines.set(name, definition);
  }
  const declared = [...new Set([...machines.values()].flatMap((definition) => effectTypes(definition.machine)))].sort();
  const policyVersions = options.policies ?? {};
  const policyProblem = policyVersionsProblem(policyVersions, new Set(machines.keys()));
  if (policyProblem) throw new TollgateError('TG_INVALID_OPTIONS', `createTollgate: ${policyProblem}.`, { field: 'policies' });
  const schema = options.schema ?? 'tollgate';
  const client = await connect(options);
  const clock = options.clock ?? systemClock;
  const rulesStore = governanceStore(client, schema);
  // Each registered machine version's legal state pairs, for the trigger that checks overrides (store/legality-sql.ts).
  let pairs: LegalPairs[] | undefined;
  const legal = () => (pairs ??= [...machines].map(([name, d]) => ({ machine: name, machineVersion: d.version, pairs: legalPairs(d.machine) })));
  const firstPolicies = Object.entries(policyVersions).map(([machine, list]) => ({ machine, version: (list.at(-1) as Policy).version }));
  const metrics = createMetrics();
  const notifier = outboxNotifier(client, outboxChannel(schema));
  let jobMetrics: JobMetrics | undefined;
  let feedMetrics: FeedMetrics | undefined;
  const ctx: RuntimeContext = {
    machines,
    client,
    schema,
    queries: createQueries(client, schema),
    committer: createCommitter(client, schema, { notifier, handOff: () => ctx.handOff.current }),
    cache: new SnapshotCache(options.snapshotCacheSize ?? 10_000),
    clock,
    metrics,
    maxConflictRetries: options.maxConflictRetries ?? 5,
    policy: options.policy,
    policyVersions,
    policyTimeoutMs: options.policyTimeoutMs ?? 2000,
    governanceStore: rulesStore,
    shadowStore: shadowStore(client, schema, rulesStore.channel),
    governance: governanceWatch(client, rulesStore, {
      bootstrap: async () => {
        await rulesStore.ensureActive(firstPolicies, 'tollgate (first registered)', new Date(clock.now()));
        await writeLegalPairs(client, schema, legal());
      },
    }),
    feed: new CommitFeed(),
    acceptNewerMachineVersions: options.acceptNewerMachineVersions ?? false,
    transitionHandlers: new Map(),
    effectHandlers: new Map(),
    enqueuer: { current: undefined },
    handOff: { current: undefined },
    jobMetrics: () => (jobMetrics ??= createJobMetrics(metrics.registry)),
    feedMetrics: () => (feedMetrics ??= createFeedMetrics(metrics.registry)),
  };

  const statsQueries = createStatsQueries(client, schema);
  const hub = new LiveHub({
    feed: ctx.feed,
    ...createHistoryTailPorts(client, schema),
    readMachineStats: (machine) => machineStats(ctx, statsQueries, machine),
    machines: [...machines.keys()],
    now: () => ctx.clock.now(),
    onError: () => {}, // the next tick reads again; a watcher sees nothing new meanwhile
  });
  const detachInspector = options.inspect ? attachInspector(ctx.feed, machines, options.inspect) : undefined;

  const refreshEntityGauges = entityGauges(metrics.registry, ctx.queries, dwellLimits(machines), () => ctx.clock.now());
  const refreshGovernanceGauges = governanceGauges(metrics.registry, [...machines.keys()], () => ctx.governance.current(), () => ctx.clock.now());
  const refreshAuditGauges = auditGauges(metrics.registry, auditStore(client, schema).drift);
  const rules = governance(ctx);

  let closed = false;
  const open = <A extends unknown[], T>(fn: (...args: A) => Promise<T>) =>
    (...args: A): Promise<T> => {
      if (closed) return Promise.reject(new TollgateError('TG_CLOSED', 'This tollgate runtime was closed; create a new one.'));
      return fn(...args);
    };
  const entityArgs = (machine: string, id: string) => {
    machineOf(ctx, machine);
    checkIdentifier('entity id', id, machine);
  };

  const tollgate: Tollgate<R> = {
    machines: options.machines,
    migrate: open(async () => {
      const applied = await migrate(client, schema);
      await writeLegalPairs(client, schema, legal());
      return applied;
    }),
    create: open((machine, id, input, opts) => createEntity(ctx, machine, id, input, opts)),
    send: open((machine, id, event, opts) => sendEvent(ctx, machine, id, event, opts)),
    dryRun: open((machine, id, event) => dryRun(ctx, machine, id, event)),
    import: open((machine, source, opts) => importEntities(ctx, machine, source, opts)),
    observe: open((machine, id, observation) => observe(ctx, machine, id, observation)),
    observations: open((machine, id, opts = {}) => entityObservations(ctx, machine, id, opts.limit)),
    shadowReport: open((machine, opts) => shadowReport(ctx, machine, opts)),
    get: open(async (machine, id) => {
      entityArgs(machine, id);
      const definition = machineOf(ctx, machine);
      const loaded = await loadEntity(ctx, definition, machine, id);
      return toEntityView({ machine, id, ...loaded }, definition.events);
    }),
    history: open(async (machine, id, opts = {}) => {
      entityArgs(machine, id);
      const limit = Math.min(Math.max(Math.trunc(opts.limit ?? 100), 1), 1000);
      const rows = await ctx.queries.history(machine, id, Math.max(Math.trunc(opts.afterSeq ?? 0), 0), limit);
      return rows.map((row) => (opts.withSnapshots ? { ...toTransitionView(row), snapshot: snapshotSummary(row.snapshot) } : toTransitionView(row)));
    }),
    effects: open(async (machine, id) => {
      entityArgs(machine, id);
      return (await ctx.queries.effects(machine, id)).map(toEffectView);
    }),
    timers: open(async (machine, id) => {
      entityArgs(machine, id);
      return (await ctx.queries.timers(machine, id)).map(toTimerView);
    }),
    stateCounts: open(async (machine) => {
      machineOf(ctx, machine);
      return Object.fromEntries((await ctx.queries.stateCounts(machine)).map((r) => [r.state, r.n]));
    }),
    rejections: open(async (machine, id) => {
      entityArgs(machine, id);
      return (await ctx.queries.rejections(machine, id)).map(toRejectionView);
    }),
    governance: {
      policies: open(rules.policies),
      policySwitches: open(rules.policySwitches),
      activatePolicy: open(rules.activatePolicy),
      freeze: open(rules.freeze),
      unfreeze: open(rules.unfreeze),
      freezes: open(rules.freezes),
      override: open(rules.override),
      audit: open(rules.audit),
      modes: open(rules.modes),
      setMode: open(rules.setMode),
      modeSwitches: open(rules.modeSwitches),
    },
    watch: (filter, listener) => hub.watch(filter, listener),
    machineStats: open(async (machine) => machineStats(ctx, statsQueries, machine)),
    versionStats: open(async (machine, options) => versionStats(ctx, machine, options)),
    watchStats: (machine, listener) => {
      machineOf(ctx, machine);
      return hub.watchStats(machine, listener);
    },
    waitFor: open(async (machine, id, state, opts = {}) => {
      entityArgs(machine, id);
      return waitForState(() => tollgate.get(machine, id), hub, { machine, id }, state, opts.timeoutMs ?? 30_000);
    }),
    retryEffect: open(async (machine, id, effectId, opts) => {
      entityArgs(machine, id);
      const actor = opts.actor === undefined ? null : checkIdentifier('actor', opts.actor, machine);
      const row = await ctx.queries.retryFailedEffect(machine, id, effectId, actor, opts.reason, new Date(ctx.clock.now()));
      if (row) return toEffectView(row);
      const existing = await ctx.queries.effect(machine, id, effectId);
      if (!existing) {
        await tollgate.get(machine, id); // TG_ENTITY_NOT_FOUND first, when the entity is not there either
        throw new TollgateError('TG_EFFECT_NOT_FOUND', `${entityRef(machine, id)} has no effect '${effectId.slice(0, 100)}'. GET its effects for their ids.`, {
          machine,
          entityId: id,
          effectId,
        });
      }
      throw new TollgateError(
        'TG_EFFECT_NOT_FAILED',
        `Effect '${effectId}' (${existing.type}) of ${entityRef(machine, id)} is ${existing.status}, not failed: only a failed effect can be retried.`,
        { machine, entityId: id, effectId, status: existing.status },
      );
    }),
    pruneRejections: open((olderThanMs) => ctx.queries.pruneRejections(new Date(ctx.clock.now() - olderThanMs))),
    effect: (type, handler, opts) => {
      if (!declared.includes(type)) {
        throw new TollgateError(
          'TG_INVALID_ARGUMENT',
          `tg.effect('${String(type)}'): no registered machine declares an effect (custom action) '${String(type)}'. ` +
            `Effect types: ${declared.join(', ') || '(none)'}.`,
          { effectType: String(type) },
        );
      }
      registerEffect(ctx.effectHandlers, type, handler as EffectHandler, opts);
    },
    effectTypes: () => [...declared],
    enqueue: open(async (machine, id, event, opts) => {
      entityArgs(machine, id);
      return enqueueEvent(ctx.enqueuer.current, machine, id, event, opts);
    }),
    onTransition: (name, handler, opts) => registerTransitionHandler(ctx.transitionHandlers, name, handler, opts),
    metricsText: open(async () => {
      await refreshEntityGauges();
      await refreshGovernanceGauges();
      await refreshAuditGauges();
      return metrics.registry.metrics();
    }),
    close: async () => {
      if (closed) return;
      closed = true;
      hub.close();
      detachInspector?.();
      await notifier.drain();
      await ctx.governance.close();
      await client.close();
    },
  };
  const ports: RuntimePorts = {
    machines,
    schema,
    clock,
    definition: (machine) => machineOf(ctx, machine),
    send: open((machine, id, event, opts) => sendEvent(ctx, machine, id, event, opts)),
    get: (machine, id) => tollgate.get(machine, id),
    refusesVersion: (definition, version) => refusesVersion(ctx, definition, version),
    jobMetrics: ctx.jobMetrics,
    feedMetrics: ctx.feedMetrics,
    effectHandlers: ctx.effectHandlers,
    transitionHandlers: ctx.transitionHandlers,
    enqueuer: ctx.enqueuer,
    handOff: ctx.handOff,
    effectStore: effectStore(client, schema),
    timerStore: timerStore(client, schema),
    outboxStore: outboxStore(client, schema),
    consumerStore: consumerStore(client, schema),
    listEntities: open((machine, opts) => listEntities(ctx, machine, opts)),
    migrateEntities: open((machine, opts) => migrateEntities(ctx, machine, opts)),
    transitionCounts: open(async (machine) =>
      (await ctx.queries.transitionCounts(machine)).map((r) => ({ from: r.from_state, to: r.to_state, event: r.event_type, count: Number(r.n) })),
    ),
    hasHistory: open(() => ctx.queries.hasHistory()),
    ping: open(() => ctx.queries.ping()),
    database: { client, schema },
  };
  Object.assign(tollgate, runtimeHandle(ports, ctx));
  return tollgate;
}

function createHistoryTailPorts(client: SqlClient, schema: string) {
  const tail = createHistoryTail(client, schema);
  return {
    tail,
    horizon: async () => {
      const { horizon, snapshot } = await tail([], '0', 1);
      return { xid: horizon, snapshot };
    },
  };
}

/** What the inspector shows of a persisted snapshot: its state value, status and context. */
function snapshotSummary(persisted: unknown): TransitionView['snapshot'] {
  const { value, status, context } = persisted as { value: StateValue; status: string; context: unknown };
  return { value, status, context };
}

async function connect(options: TollgateOptions): Promise<SqlClient> {
  const db = options.database;
  if ('url' in db) return postgresClient({ url: db.url, maxConnections: db.maxConnections });
  return pgliteClient({ dataDir: db.dataDir });
}
