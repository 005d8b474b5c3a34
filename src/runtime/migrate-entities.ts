import { randomUUID } from 'node:crypto';
import { TollgateError, isTollgateError } from '../errors.ts';
import type { EntityRow } from '../store/rows.ts';
import { tryCommit } from './gate.ts';
import { migratedEventType, migrationCommit, planMigration, type MigrationPlan, type TimerChange } from './migration.ts';
import { machineOf, type RuntimeContext } from './runtime-context.ts';

/** Options of a bulk migration. */
export interface BulkMigrationOptions {
  /** The version to migrate to: must be the registered one (the only one whose machine can check the result). Default: it. */
  readonly to?: number;
  /** Entities read per page. Default 500. */
  readonly batch?: number;
  /** Plan and count every migration, write nothing. Default false. */
  readonly dryRun?: boolean;
  /** Stop once more entities than this failed to migrate. Default 10. */
  readonly maxFailures?: number;
  /** Entities migrated at once. Default 8 on Postgres, 1 on PGlite (one connection). */
  readonly concurrency?: number;
  /** Tries per entity when concurrent writers move it (each a reload). Default 20. */
  readonly maxConflictRetries?: number;
  /** Stored as the actor of every `$migrated` row. Default `tollgate entities migrate`. */
  readonly actor?: string;
  /** Called after every entity. */
  readonly onProgress?: (progress: { readonly done: number; readonly total: number; readonly failed: number }) => void;
}

/** What a bulk migration did. */
export interface BulkMigrationReport {
  readonly machine: string;
  readonly toVersion: number;
  readonly dryRun: boolean;
  /** Entities of an older version when the run started. */
  readonly total: number;
  /** Migrated now (or, in a dry run, that would be). */
  readonly migrated: number;
  /** Migrated meanwhile by their own next event (lazily): nothing to do. */
  readonly alreadyMigrated: number;
  readonly failed: number;
  /** True when the run stopped on `maxFailures`. */
  readonly stopped: boolean;
  readonly conflictRetries: number;
  /** Per (from version, from state, to state). */
  readonly counts: ReadonlyArray<{ fromVersion: number; fromState: string; toState: string; n: number }>;
  /** What happened to the entities' timers. */
  readonly timers: Readonly<Record<TimerChange['action'], number>>;
  readonly failures: ReadonlyArray<{ id: string; fromVersion: number; state: string; code: string; message: string }>;
}

/**
 * Migrates every entity of `machine` stored by an older version to the registered one, online: each entity is one
 * commit of its `$migrated` row through the gate's statement, under the optimistic lock (a concurrent event moves
 * the version: reload and plan again). Resumable: a run killed at any point leaves every entity either migrated or
 * not, and the next run picks up the ones still older. A migration that throws or returns an invalid snapshot
 * leaves its entity untouched, is recorded in its rejections (TG_MIGRATION_FAILED) and reported.
 *
 * @example
 * const report = await portsOf(tg).migrateEntities('subscription', { batch: 500, onProgress: console.log });
 */
export async function migrateEntities(ctx: RuntimeContext, machine: string, options: BulkMigrationOptions = {}): Promise<BulkMigrationReport> {
  const definition = machineOf(ctx, machine);
  const to = options.to ?? definition.version;
  if (to !== definition.version) {
    throw new TollgateError(
      'TG_INVALID_ARGUMENT',
      `Machine '${machine}' is registered at version ${definition.version}, not ${to}: load the module of release ${to} to migrate to it.`,
      { machine, argument: 'to' },
    );
  }
  const batch = options.batch ?? 500;
  const maxFailures = options.maxFailures ?? 10;
  const concurrency = options.concurrency ?? (ctx.client.dialect === 'pglite' ? 1 : 8);
  const maxRetries = options.maxConflictRetries ?? 20;
  const actor = options.actor ?? 'tollgate entities migrate';
  const total = await ctx.queries.countOlder(machine, to);

  const counts = new Map<string, { fromVersion: number; fromState: string; toState: string; n: number }>();
  const timers: Record<TimerChange['action'], number> = { kept: 0, rearmed: 0, cancelled: 0, armed: 0 };
  const failures: Array<BulkMigrationReport['failures'][number]> = [];
  let migrated = 0;
  let alreadyMigrated = 0;
  let conflictRetries = 0;
  let done = 0;

  const count = (plan: MigrationPlan) => {
    const key = `${plan.fromVersion}\u0000${plan.fromState}\u0000${plan.toState}`;
    const entry = counts.get(key) ?? { fromVersion: plan.fromVersion, fromState: plan.fromState, toState: plan.toState, n: 0 };
    entry.n++;
    counts.set(key, entry);
    for (const change of plan.timers) timers[change.action]++;
    migrated++;
  };

  async function migrateOne(first: EntityRow): Promise<void> {
    let row: EntityRow | undefined = first;
    for (let attempt = 0; row && row.machine_version < to; attempt++) {
      let plan: MigrationPlan;
      try {
        plan = planMigration(definition, { machine, id: row.id, machineVersion: row.machine_version, state: row.state, snapshot: row.snapshot, stateEnteredAt: new Date(row.state_entered_at) }, await ctx.queries.timers(machine, row.id));
      } catch (error) {
        if (!isTollgateError(error, 'TG_MIGRATION_FAILED')) throw error;
        failures.push({ id: row.id, fromVersion: row.machine_version, state: row.state, code: error.code, message: error.message });
        if (!options.dryRun) {
          await ctx.queries.recordRejection({
            machine,
            entityId: row.id,
            state: row.state,
            event: { type: migratedEventType, from: row.machine_version, to } as { type: string },
            code: error.code,
            message: error.message,
            idempotencyKey: null,
            actor,
            at: new Date(ctx.clock.now()),
          });
        }
        return;
      }
      if (options.dryRun) return count(plan);
      const input = migrationCommit(plan, { machine, id: row.id, expectedVersion: row.version, transitionId: randomUUID(), now: new Date(ctx.clock.now()), policyVersion: ctx.policy?.version ?? null, actor });
      if (await tryCommit(ctx, input)) {
        ctx.cache.delete(machine, row.id);
        ctx.metrics.transitions.inc({ machine, from: plan.fromState, to: plan.toState, event: migratedEventType });
        return count(plan);
      }
      if (attempt >= maxRetries) {
        failures.push({ id: row.id, fromVersion: row.machine_version, state: row.state, code: 'TG_VERSION_CONFLICT', message: `${machine}/${row.id} changed on each of ${attempt + 1} tries; run again` });
        return;
      }
      conflictRetries++;
      row = await ctx.queries.loadEntity(machine, row.id);
    }
    alreadyMigrated++;
  }

  let after = '';
  let stopped = false;
  while (!stopped) {
    const page = await ctx.queries.olderEntities(machine, to, after, batch);
    if (page.length === 0) break;
    after = page.at(-1)!.id;
    let next = 0;
    await Promise.all(
      Array.from({ length: Math.min(concurrency, page.length) }, async () => {
        while (!stopped && next < page.length) {
          await migrateOne(page[next++]!);
          done++;
          options.onProgress?.({ done, total, failed: failures.length });
          if (failures.length > maxFailures) stopped = true;
        }
      }),
    );
    if (page.length < batch) break;
  }
  return {
    machine,
    toVersion: to,
    dryRun: options.dryRun ?? false,
    total,
    migrated,
    // An entity its own event migrated before a page reached it never shows up in a page: when the run went through,
    // every older entity counted at the start that it did not migrate or fail was migrated by its own event.
    alreadyMigrated: stopped ? alreadyMigrated : Math.max(alreadyMigrated, total - migrated - failures.length),
    failed: failures.length,
    stopped,
    conflictRetries,
    counts: [...counts.values()].sort((a, b) => a.fromVersion - b.fromVersion || a.fromState.localeCompare(b.fromState) || a.toState.localeCompare(b.toState)),
    timers,
    failures,
  };
}
