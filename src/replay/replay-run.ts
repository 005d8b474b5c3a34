import { performance } from 'node:perf_hooks';
import type { AnyMachineDefinition } from '../engine/definition.ts';
import { historyReads } from '../store/history-reads.ts';
import type { SqlClient } from '../store/sql-client.ts';
import { compareOutcomes, type ChangeKind } from './compare.ts';
import { recordedEntities } from './recorded-history.ts';
import { replayEntity } from './replay-entity.ts';

/** A changed outcome kind, or `stopped`: the replay could not go on (the new version threw, a snapshot does not restore). */
export type ReplayFindingKind = ChangeKind | 'stopped';

/** Every finding kind, in report order (what `--allow` takes). */
export const replayFindingKinds: readonly ReplayFindingKind[] = ['accepted-now-refused', 'refused-now-accepted', 'target', 'effects', 'timers', 'stopped'];

/** Changed outcomes of one (machine, state, event, kind), counted over the entities, with examples. */
export interface ReplayFinding {
  readonly machine: string;
  /** The recorded state the event met. */
  readonly state: string;
  readonly eventType: string;
  readonly kind: ReplayFindingKind;
  /** Steps with this change. */
  readonly count: number;
  /** Up to three entity ids. */
  readonly examples: readonly string[];
  /** The first example's two outcomes, e.g. `sendEmail{...}` / `sendEmail{...}, sendEmail{...}`. */
  readonly before: string;
  readonly after: string;
}

/** What a replay run did per machine. */
export interface ReplayMachineSummary {
  readonly machine: string;
  /** The version replayed through. */
  readonly version: number;
  readonly entities: number;
  /** Transitions the new version evaluated. */
  readonly transitions: number;
  /** Entities with at least one changed outcome (or a stop). */
  readonly changedEntities: number;
}

/** The report of `tollgate replay`. */
export interface ReplayRunReport {
  readonly machines: readonly ReplayMachineSummary[];
  readonly findings: readonly ReplayFinding[];
  readonly entities: number;
  readonly transitions: number;
  /** Wall time of the whole run (reading history included), ms. */
  readonly elapsedMs: number;
  /** Transitions replayed per second of the whole run. */
  readonly transitionsPerSecond: number;
}

/** Which histories to replay. */
export interface ReplayRunOptions {
  /** Machines to replay. Default: every machine of the registry. */
  readonly machines?: readonly string[];
  /** Only entities written since this time (their whole history is replayed). Default: all. */
  readonly since?: Date;
  /** At most this many entities per machine, a stable pseudo-random sample. Default: all. */
  readonly sample?: number;
  /** Entities read per batch. Default 200. */
  readonly batchSize?: number;
  /** Called after each batch. */
  readonly onProgress?: (progress: { readonly done: number; readonly total: number }) => void;
}

/**
 * Replays every selected entity's recorded history through a release's machines (the replay engine,
 * replay-entity.ts, and compare.ts), writing nothing, and counts where business outcomes would change per
 * (machine, state, event, kind of change), with example entity ids. What `tollgate replay` prints.
 *
 * @example
 * const report = await replayHistory(portsOf(tg).database.client, 'tollgate', release2.machines, { since: weekAgo });
 * if (report.findings.length) console.log(report.findings);
 */
export async function replayHistory(client: SqlClient, schemaName: string, registry: Readonly<Record<string, AnyMachineDefinition>>, options: ReplayRunOptions = {}): Promise<ReplayRunReport> {
  const started = performance.now();
  const names = options.machines ?? Object.keys(registry);
  const total = await countSelected(client, schemaName, names, options);
  const findings = new Map<string, { finding: Omit<ReplayFinding, 'count' | 'examples'>; count: number; examples: string[] }>();
  const machines: ReplayMachineSummary[] = [];
  let done = 0;
  const add = (f: Omit<ReplayFinding, 'count' | 'examples'>, entityId: string) => {
    const key = `${f.machine}\u0000${f.state}\u0000${f.eventType}\u0000${f.kind}`;
    const entry = findings.get(key) ?? { finding: f, count: 0, examples: [] };
    entry.count++;
    if (entry.examples.length < 3 && !entry.examples.includes(entityId)) entry.examples.push(entityId);
    findings.set(key, entry);
  };

  for (const machine of names) {
    const definition = registry[machine]!;
    let entities = 0;
    let transitions = 0;
    let changedEntities = 0;
    const selection = { machine, ...(options.since ? { since: options.since } : {}), ...(options.sample !== undefined ? { sample: options.sample } : {}), batchSize: options.batchSize ?? 200 };
    // The next batch is read while this one replays: the database works while this process evaluates.
    const batches = recordedEntities(client, schemaName, selection);
    let next = batches.next();
    for (;;) {
      const current = await next;
      if (current.done) break;
      const batch = current.value;
      next = batches.next();
      for (const recorded of batch) {
        const replay = replayEntity(definition, recorded);
        const comparison = compareOutcomes(definition, recorded, replay);
        entities++;
        transitions += replay.evaluated;
        for (const c of comparison.changes) add({ machine, state: c.state, eventType: c.eventType, kind: c.kind, before: c.before, after: c.after }, recorded.id);
        if (replay.stopped) {
          const step = recorded.steps[replay.stopped.index];
          add(
            {
              machine,
              state: step?.fromState ?? '(none)',
              eventType: step?.event.type ?? '(none)',
              kind: 'stopped',
              before: step?.outcome ? (step.outcome.accepted ? `accepted -> ${step.outcome.state}` : `refused in ${step.outcome.state}`) : '(unknown)',
              after: `${replay.stopped.code}: ${replay.stopped.message}`,
            },
            recorded.id,
          );
        }
        if (comparison.changes.length > 0 || replay.stopped) changedEntities++;
      }
      done += batch.length;
      options.onProgress?.({ done, total });
    }
    machines.push({ machine, version: definition.version, entities, transitions, changedEntities });
  }
  const elapsedMs = performance.now() - started;
  const transitions = machines.reduce((sum, m) => sum + m.transitions, 0);
  const order = (kind: ReplayFindingKind) => replayFindingKinds.indexOf(kind);
  return {
    machines,
    findings: [...findings.values()]
      .map(({ finding, count, examples }) => ({ ...finding, count, examples }))
      .sort((a, b) => a.machine.localeCompare(b.machine) || a.state.localeCompare(b.state) || a.eventType.localeCompare(b.eventType) || order(a.kind) - order(b.kind)),
    entities: machines.reduce((sum, m) => sum + m.entities, 0),
    transitions,
    elapsedMs,
    transitionsPerSecond: elapsedMs > 0 ? Math.round((transitions / elapsedMs) * 1000) : 0,
  };
}

/** How many entities the run will read (for the progress bar). */
async function countSelected(client: SqlClient, schemaName: string, machines: readonly string[], options: ReplayRunOptions): Promise<number> {
  const reads = historyReads(client, schemaName);
  let total = 0;
  for (const machine of machines) {
    const n = await reads.count({ machine, ...(options.since ? { since: options.since } : {}) });
    total += options.sample === undefined ? n : Math.min(options.sample, n);
  }
  return total;
}
