import type { AnyMachineDefinition } from '../engine/definition.ts';
import { recordedEntities, type HistorySelection } from '../replay/recorded-history.ts';
import type { RecordedEntity } from '../replay/recorded.ts';
import type { AuditStore, Checkpoint } from '../store/audit-store.ts';
import { auditEntity } from './audit-entity.ts';
import { driftKinds, type DriftFinding, type DriftKind, type EntityDrift } from './drift.ts';

/** What to audit and how (`tollgate audit`'s flags). */
export interface AuditOptions {
  /** Only this machine. Default: every registered machine. */
  readonly machine?: string;
  /** Only entities written since this time. Default: all. */
  readonly since?: Date;
  /** Ignore the checkpoint: replay every entity again (and checkpoint it anew). Default false. */
  readonly full?: boolean;
  /** Entities read and replayed per batch. Default 500. */
  readonly batchSize?: number;
  /** A completed effect's follow-up unanswered for longer than this is drift. Default 600,000 (10 minutes). */
  readonly followUpGraceMs?: number;
  /** Called after each batch (for a progress bar). Default: none. */
  readonly onProgress?: (progress: AuditProgress) => void;
}

/** How far a run is. */
export interface AuditProgress {
  readonly machine: string;
  /** Entities of this machine replayed so far in this run. */
  readonly done: number;
  /** Entities of this machine this run replays (changed since their checkpoint, or all with `full`). */
  readonly total: number;
}

/** Drift of one kind in one machine. */
export interface DriftCount {
  readonly machine: string;
  readonly kind: DriftKind;
  /** Entities with drift of this kind. */
  readonly entities: number;
  /** Up to five of their ids. */
  readonly examples: readonly string[];
}

/** What one run found. */
export interface AuditReport {
  /** Entities replayed by this run. */
  readonly audited: number;
  /** Entities in scope left alone because their version had not moved since their checkpoint. */
  readonly unchanged: number;
  /** Entities of another machine version than the registered one (checked, not replayed). */
  readonly notReplayed: number;
  /** Transitions the replays evaluated. */
  readonly evaluated: number;
  readonly durationMs: number;
  /** Counts by machine and kind, non-zero only, in report order. */
  readonly drift: readonly DriftCount[];
  /** Every entity with drift and what was found, by machine and id (checkpointed findings included). */
  readonly entities: readonly EntityDrift[];
}

/** What a run needs from the runtime. */
export interface AuditContext {
  readonly machines: ReadonlyMap<string, AnyMachineDefinition>;
  readonly client: Parameters<typeof recordedEntities>[0];
  readonly schema: string;
  readonly store: AuditStore;
  /** The clock's now (ms). */
  readonly now: () => number;
}

/**
 * Runs `tollgate audit`: per machine, replays every entity whose version moved since its checkpoint (audit-entity.ts),
 * a batch at a time with the next batch read while this one replays, saves each batch's checkpoints, carries the
 * findings of the entities left alone, adds the effect and timer rows the set queries find, and records the counts
 * per kind for `tollgate_audit_drift_entities`. Writes nothing but `audit_checkpoints` and `audit_drift`.
 */
export async function runAudit(ctx: AuditContext, options: AuditOptions = {}): Promise<AuditReport> {
  const started = performance.now();
  const names = options.machine === undefined ? [...ctx.machines.keys()] : [options.machine];
  let audited = 0;
  let unchanged = 0;
  let notReplayed = 0;
  let evaluated = 0;
  const drift: DriftCount[] = [];
  const entities: EntityDrift[] = [];

  for (const machine of names) {
    const definition = ctx.machines.get(machine)!;
    const scope: HistorySelection = { machine, ...(options.since ? { since: options.since } : {}) };
    const selection: HistorySelection = { ...scope, rejections: false, stepSnapshots: 'rebase-points', unaudited: !options.full, batchSize: options.batchSize ?? 500 };
    const total = await ctx.store.count(selection);
    unchanged += (await ctx.store.count(scope)) - total;
    const held = options.full ? [] : await ctx.store.heldFindings(scope);

    const found = new Map<string, DriftFinding[]>();
    for (const checkpoint of held) found.set(checkpoint.entityId, [...(checkpoint.findings as DriftFinding[])]);
    let done = 0;
    const batches = recordedEntities(ctx.client, ctx.schema, selection);
    let next = batches.next();
    for (;;) {
      const batch = await next;
      if (batch.done) break;
      next = batches.next(); // read the next batch while this one replays
      const checkpoints = batch.value.map((recorded: RecordedEntity): Checkpoint => {
        const result = auditEntity(definition, recorded);
        evaluated += result.evaluated;
        if (!result.replayed) notReplayed++;
        if (result.findings.length > 0) found.set(recorded.id, [...result.findings]);
        return { entityId: recorded.id, version: recorded.current!.version, findings: result.findings };
      });
      await ctx.store.saveCheckpoints(machine, checkpoints, new Date(ctx.now()));
      done += checkpoints.length;
      options.onProgress?.({ machine, done, total });
    }
    audited += done;

    for (const row of await ctx.store.rowFindings(machine, new Date(ctx.now()), options.followUpGraceMs ?? 600_000)) {
      const list = found.get(row.entityId) ?? [];
      list.push({ kind: row.kind, detail: row.detail });
      found.set(row.entityId, list);
    }

    const byKind = new Map<DriftKind, string[]>(driftKinds.map((k) => [k, []]));
    for (const id of [...found.keys()].sort()) {
      const findings = found.get(id)!;
      entities.push({ machine, entityId: id, findings });
      for (const kind of new Set(findings.map((f) => f.kind))) byKind.get(kind)?.push(id);
    }
    for (const [kind, ids] of byKind) if (ids.length > 0) drift.push({ machine, kind, entities: ids.length, examples: ids.slice(0, 5) });
    await ctx.store.saveDrift(machine, new Map([...byKind].map(([kind, ids]) => [kind, ids.length])), new Date(ctx.now()));
  }
  return { audited, unchanged, notReplayed, evaluated, durationMs: Math.round(performance.now() - started), drift, entities };
}
