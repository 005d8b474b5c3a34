import type { Clock } from '../clock.ts';
import type { AnyMachineDefinition } from '../engine/definition.ts';
import { TollgateError } from '../errors.ts';
import { checkIdentifier } from './identifier.ts';
import type { Metrics } from '../observe/metrics.ts';
import type { Committer, EffectHandOff } from '../store/commit.ts';
import type { EffectHandlers, EventEnqueuer } from '../effects/registry.ts';
import type { FeedMetrics } from '../observe/feed-metrics.ts';
import type { JobMetrics } from '../observe/job-metrics.ts';
import type { CommitFeed } from './commit-feed.ts';
import type { Queries } from '../store/queries.ts';
import type { SqlClient } from '../store/sql-client.ts';
import type { PolicyVersions } from '../policy/policies.ts';
import type { GovernanceWatch } from '../policy/watch.ts';
import type { GovernanceStore } from '../store/governance-store.ts';
import type { ShadowStore } from '../store/shadow-store.ts';
import type { Policy } from '../policy/policy.ts';
import type { SnapshotCache } from './snapshot-cache.ts';
import type { RegisteredTransitionHandler } from './transition-handlers.ts';

/** What the gate and the other runtime functions share: built once by createTollgate. */
export interface RuntimeContext {
  readonly machines: ReadonlyMap<string, AnyMachineDefinition>;
  readonly client: SqlClient;
  readonly schema: string;
  readonly queries: Queries;
  readonly committer: Committer;
  readonly cache: SnapshotCache;
  readonly clock: Clock;
  readonly metrics: Metrics;
  readonly maxConflictRetries: number;
  /** The single policy of `createTollgate({ policy })`: the one version of every machine without `policies`. */
  readonly policy: Policy | undefined;
  /** The registered policy versions per machine (`createTollgate({ policies })`). */
  readonly policyVersions: PolicyVersions;
  /** How long a policy check may take before the event is refused with TG_POLICY_UNAVAILABLE. */
  readonly policyTimeoutMs: number;
  /** The active policy versions and freezes, as every process applies them. */
  readonly governance: GovernanceWatch;
  readonly governanceStore: GovernanceStore;
  /** Machine modes and shadow observations (runtime/shadow.ts). */
  readonly shadowStore: ShadowStore;
  /** Where the gate publishes each commit of this process, after it committed (live views, inspection). */
  readonly feed: CommitFeed;
  /** See TollgateOptions.acceptNewerMachineVersions. */
  readonly acceptNewerMachineVersions: boolean;
  /** In-process consumers of the lifecycle feed (`tg.onTransition`), delivered by the feed process (src/feed/runner.ts). */
  readonly transitionHandlers: Map<string, RegisteredTransitionHandler>;
  /** Effect handlers by type: filled by `tg.effect`, run by the effect workers (workers/effects.ts). */
  readonly effectHandlers: EffectHandlers;
  /** The producer behind `tg.enqueue`: provided by startProcesses (workers/index.ts) while it runs. */
  readonly enqueuer: Slot<EventEnqueuer>;
  /**
   * Where each commit gives its effects when a relay runs in this process with the direct hand-off: provided by
   * startRelay (src/outbox/relay.ts) while it runs; empty, the commit writes them pending and NOTIFYs.
   */
  readonly handOff: Slot<EffectHandOff>;
  /** The job processes' metrics (relay, sweepers, workers, timers), registered on `metrics.registry` on first use. */
  jobMetrics(): JobMetrics;
  /** The lifecycle feed's metrics (src/feed/runner.ts), registered on `metrics.registry` on first use. */
  feedMetrics(): FeedMetrics;
}

/** A place one component fills while it runs and others read; on the context, so its provider is named in one type. */
export interface Slot<T> {
  current: T | undefined;
}

/** The definition registered as `name`, or TG_UNKNOWN_MACHINE. */
export function machineOf(ctx: RuntimeContext, name: string): AnyMachineDefinition {
  const definition = ctx.machines.get(name);
  if (!definition) {
    throw new TollgateError(
      'TG_UNKNOWN_MACHINE',
      `No machine named '${name}' is registered. Registered: ${[...ctx.machines.keys()].join(', ') || '(none)'}.`,
      { machine: name },
    );
  }
  return definition;
}

/** The checked arguments every write (create, send) starts from. */
export interface WriteArgs {
  readonly definition: AnyMachineDefinition;
  readonly id: string;
  readonly key: string | null;
  readonly actor: string | null;
}

/** Resolves the machine and checks the entity id, idempotency key and actor of a create or send. */
export function writeArgs(ctx: RuntimeContext, machine: string, entityId: string, options: { idempotencyKey?: string; actor?: string }): WriteArgs {
  return {
    definition: machineOf(ctx, machine),
    id: checkIdentifier('entity id', entityId, machine),
    key: options.idempotencyKey === undefined ? null : checkIdentifier('idempotency key', options.idempotencyKey, machine),
    actor: options.actor === undefined ? null : checkIdentifier('actor', options.actor, machine),
  };
}
