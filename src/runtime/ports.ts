import type { Clock } from '../clock.ts';
import type { AnyMachineDefinition } from '../engine/definition.ts';
import type { RegisteredHandler, EventEnqueuer } from '../effects/registry.ts';
import { TollgateError } from '../errors.ts';
import type { FeedMetrics } from '../observe/feed-metrics.ts';
import type { JobMetrics } from '../observe/job-metrics.ts';
import type { EffectHandOff } from '../store/commit.ts';
import type { ConsumerStore } from '../store/consumer-store.ts';
import type { EffectStore } from '../store/effect-store.ts';
import type { OutboxStore } from '../store/outbox-store.ts';
import type { SqlClient } from '../store/sql-client.ts';
import type { TimerStore } from '../store/timer-store.ts';
import type { EntityListOptions, EntityPage } from './entity-list.ts';
import type { InternalSendOptions, SendResult } from './gate.ts';
import type { BulkMigrationOptions, BulkMigrationReport } from './migrate-entities.ts';
import type { RuntimeContext, Slot } from './runtime-context.ts';
import type { RegisteredTransitionHandler } from './transition-handlers.ts';
import type { EntityView } from './views.ts';

/**
 * What a runtime gives tollgate's own processes: the workers, the timers, the relay, the feed, the HTTP layer and
 * the CLI. Each of them names the few members it needs as its own port type (`Pick<RuntimePorts, ...>`, e.g.
 * `EffectWorkerPort` in workers/effects.ts), so a reader sees from its signature what it may do. Every operation
 * is closed with the runtime: after `tg.close()` they fail with TG_CLOSED, as the public calls do.
 */
export interface RuntimePorts {
  /** The registered machines by name. */
  readonly machines: ReadonlyMap<string, AnyMachineDefinition>;
  /** The database schema, also the namespace of the runtime's queues. */
  readonly schema: string;
  /** The runtime's clock. */
  readonly clock: Clock;
  /** The definition registered as `machine`, or TG_UNKNOWN_MACHINE. */
  definition(machine: string): AnyMachineDefinition;
  /** The gate for the system's own events (a fired timer, an effect's follow-up, a queued event), with their provenance. */
  send(machine: string, id: string, event: unknown, options?: InternalSendOptions): Promise<SendResult>;
  /** The entity now (`tg.get`). */
  get(machine: string, id: string): Promise<EntityView>;
  /** Whether this runtime leaves work of machine version `version` to a newer release (deploy-skew.ts). */
  refusesVersion(definition: AnyMachineDefinition, version: number): boolean;
  /** The job processes' metrics, registered on the runtime's registry on first use. */
  jobMetrics(): JobMetrics;
  /** The lifecycle feed's metrics, registered on the runtime's registry on first use. */
  feedMetrics(): FeedMetrics;
  /** Effect handlers by type (`tg.effect`). */
  readonly effectHandlers: ReadonlyMap<string, RegisteredHandler>;
  /** In-process consumers of the lifecycle feed (`tg.onTransition`). */
  readonly transitionHandlers: ReadonlyMap<string, RegisteredTransitionHandler>;
  /** Filled by startProcesses: the producer `tg.enqueue` hands events to. */
  readonly enqueuer: Slot<EventEnqueuer>;
  /** Filled by a relay with the direct hand-off: where this runtime's commits give their effects. */
  readonly handOff: Slot<EffectHandOff>;
  readonly effectStore: EffectStore;
  readonly timerStore: TimerStore;
  readonly outboxStore: OutboxStore;
  readonly consumerStore: ConsumerStore;
  /** One page of a machine's entities (the HTTP list). */
  listEntities(machine: string, options: EntityListOptions): Promise<EntityPage>;
  /** Moves the machine's entities of older versions to the registered one (`tollgate entities migrate`). */
  migrateEntities(machine: string, options?: BulkMigrationOptions): Promise<BulkMigrationReport>;
  /** How often each (from, to, event) was committed for `machine` (creations excluded): path-test coverage. */
  transitionCounts(machine: string): Promise<Array<{ from: string; to: string; event: string; count: number }>>;
  /** Whether the history table exists (a database tollgate migrated). */
  hasHistory(): Promise<boolean>;
  /** Resolves when the database answers one statement. */
  ping(): Promise<void>;
  /**
   * The database, for the offline tools that read history in bulk with their own statements (replay, deploy-check,
   * audit): not for the gate's tables' writes, which go through the runtime.
   */
  readonly database: { readonly client: SqlClient; readonly schema: string };
}

// A runtime is taken as any object (not the `Tollgate` type) so this module does not import create-tollgate.ts,
// which imports it: the handle is checked at run time (TG_INVALID_ARGUMENT).
/** What createTollgate attaches to the runtime it returns, under a key only this module knows. */
interface RuntimeHandle {
  readonly ports: RuntimePorts;
  readonly context: RuntimeContext;
}

const handleKey = Symbol('tollgate.runtime');

/** The property createTollgate puts on the runtime (enumerable, so a `{ ...tg, send }` wrapper keeps it). */
export function runtimeHandle(ports: RuntimePorts, context: RuntimeContext): { readonly [handleKey]: RuntimeHandle } {
  return { [handleKey]: { ports, context } };
}

function handleOf(tg: object): RuntimeHandle {
  const handle = (tg as unknown as { [handleKey]?: RuntimeHandle })[handleKey];
  if (!handle) throw new TollgateError('TG_INVALID_ARGUMENT', 'Expected a runtime made by createTollgate.', { argument: 'tg' });
  return handle;
}

/** The ports of a runtime made by createTollgate (TG_INVALID_ARGUMENT for anything else). */
export function portsOf(tg: object): RuntimePorts {
  return handleOf(tg).ports;
}

/** The runtime's context: for src/runtime/ only (a lint rule keeps it there). */
export function contextOf(tg: object): RuntimeContext {
  return handleOf(tg).context;
}
