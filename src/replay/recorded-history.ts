import type { EventObject } from 'xstate';
import { quoteIdent, type SqlClient } from '../store/sql-client.ts';
import { migratedEventType } from '../runtime/migration.ts';
import { overrideEventType } from '../store/legality-sql.ts';
import { observedEventType, shadowEventMember } from '../store/shadow-store.ts';
import { importedEventType } from '../store/import-statement.ts';
import { type RecordedEntity, type RecordedStep, type RecordedTimer, type StepKind } from './recorded.ts';

/** Which entities' histories to read. */
export interface HistorySelection {
  readonly machine: string;
  /** Only entities written since this time (their whole history is read). Default: all. */
  readonly since?: Date;
  /** At most this many entities, a stable pseudo-random sample (ordered by a hash of the id). Default: all. */
  readonly sample?: number;
  /** Only these entity ids. Default: all. */
  readonly ids?: readonly string[];
  /** Entities read per round trip set. Default 200. */
  readonly batchSize?: number;
  /** Also read refused attempts (TG_ILLEGAL_TRANSITION, TG_GUARD_REJECTED) still kept. Default true. */
  readonly rejections?: boolean;
  /**
   * Only entities whose version differs from the one `tollgate audit` last checked (`audit_checkpoints`, or none):
   * what changed since the last audit. Default false.
   */
  readonly unaudited?: boolean;
  /**
   * Which history rows' stored snapshots to read. `all` (default). `rebase-points`: only those a replay through the
   * entity's own version starts from or checks (imports, migrations, overrides, rows of another machine version, the
   * latest row): parsing every row's snapshot is most of the reading's cost, and an audit needs few.
   */
  readonly stepSnapshots?: 'all' | 'rebase-points';
}

/**
 * The WHERE clause and parameters that pick a selection's entities from `<schema>.entities` (`$1` is the machine),
 * shared by the reader and by counts of what it will read.
 */
export function entityFilter(schema: string, selection: HistorySelection): { where: string; params: unknown[] } {
  const filters = [`machine = $1::text`];
  const params: unknown[] = [selection.machine];
  if (selection.since) {
    params.push(selection.since);
    filters.push(`updated_at >= $${params.length}::timestamptz`);
  }
  if (selection.ids) {
    params.push(JSON.stringify(selection.ids));
    filters.push(`id IN (SELECT jsonb_array_elements_text($${params.length}::text::jsonb))`);
  }
  if (selection.unaudited) {
    filters.push(
      `NOT EXISTS (SELECT 1 FROM ${schema}.audit_checkpoints c WHERE c.machine = $1::text AND c.entity_id = ${schema}.entities.id AND c.version = ${schema}.entities.version)`,
    );
  }
  return { where: filters.join(' AND '), params };
}

interface EntityRecord {
  id: string;
  version: number;
  machine_version: number;
  state: string;
  snapshot: unknown;
}

interface TransitionRecord {
  id: string;
  entity_id: string;
  seq: number;
  event_type: string;
  event: EventObject;
  from_state: string | null;
  to_state: string;
  snapshot: unknown;
  machine_version: number;
  idempotency_key: string | null;
  actor: string | null;
  created_at: Date;
}

interface EffectRecord {
  transition_id: string;
  type: string;
  params: unknown;
}

interface TimerRecord {
  id: string;
  entity_id: string;
  transition_id: string;
  send_id: string;
  event: EventObject;
  created_at: Date;
  due_at: Date;
  status: RecordedTimer['status'];
  settled_at: Date | null;
}

interface RejectionRecord {
  entity_id: string;
  state: string | null;
  event: EventObject | null;
  event_type: string;
  code: string;
  at: Date;
}

const ms = (value: Date | string): number => new Date(value).getTime();

/**
 * Reads recorded histories (replay-entity.ts's input) from the database, a batch of entities at a time, ordered by
 * id: five statements per batch, whatever its size. Writes nothing.
 *
 * @example
 * for await (const batch of recordedEntities(client, 'tollgate', { machine: 'subscription', sample: 1000 })) {
 *   for (const entity of batch) replayEntity(definition, entity);
 * }
 */
export async function* recordedEntities(client: SqlClient, schemaName: string, selection: HistorySelection): AsyncGenerator<RecordedEntity[]> {
  const s = quoteIdent(schemaName);
  const batchSize = selection.batchSize ?? 200;
  const { where, params } = entityFilter(s, selection);
  if (selection.sample !== undefined) {
    const rows = await client.query<EntityRecord>(
      `SELECT id, version, machine_version, state, snapshot FROM ${s}.entities WHERE ${where} ORDER BY md5(id), id LIMIT ${Math.trunc(selection.sample)}`,
      params,
    );
    rows.sort((a, b) => (a.id < b.id ? -1 : 1));
    for (let i = 0; i < rows.length; i += batchSize) yield loadBatch(client, s, selection, rows.slice(i, i + batchSize));
    return;
  }
  let after = '';
  for (;;) {
    const rows = await client.query<EntityRecord>(
      `SELECT id, version, machine_version, state, snapshot FROM ${s}.entities WHERE ${where} AND id > $${params.length + 1}::text ORDER BY id LIMIT ${batchSize}`,
      [...params, after],
    );
    if (rows.length === 0) return;
    yield loadBatch(client, s, selection, rows);
    after = rows.at(-1)!.id;
    if (rows.length < batchSize) return;
  }
}

async function loadBatch(client: SqlClient, s: string, selection: HistorySelection, entities: EntityRecord[]): Promise<RecordedEntity[]> {
  const ids = JSON.stringify(entities.map((e) => e.id));
  const inBatch = `machine = $1::text AND entity_id IN (SELECT jsonb_array_elements_text($2::text::jsonb))`;
  const args = [selection.machine, ids];
  const [transitions, effects, timers, rejections] = await Promise.all([
    client.query<TransitionRecord>(
      selection.stepSnapshots === 'rebase-points'
        ? `SELECT t.id, t.entity_id, t.seq, t.event_type, t.event, t.from_state, t.to_state, t.machine_version, t.idempotency_key, t.actor, t.created_at,
             CASE WHEN t.event_type IN ('${migratedEventType}', '${overrideEventType}', '${importedEventType}', '${observedEventType}') OR t.seq = b.version OR t.machine_version <> b.machine_version
               THEN t.snapshot END AS snapshot
           FROM ${s}.transitions t JOIN jsonb_to_recordset($3::text::jsonb) AS b(id text, version int, machine_version int) ON b.id = t.entity_id
           WHERE t.machine = $1::text AND t.entity_id IN (SELECT jsonb_array_elements_text($2::text::jsonb)) ORDER BY t.entity_id, t.seq`
        : `SELECT id, entity_id, seq, event_type, event, from_state, to_state, snapshot, machine_version, idempotency_key, actor, created_at
           FROM ${s}.transitions WHERE ${inBatch} ORDER BY entity_id, seq`,
      selection.stepSnapshots === 'rebase-points'
        ? [...args, JSON.stringify(entities.map((e) => ({ id: e.id, version: e.version, machine_version: e.machine_version })))]
        : args,
    ),
    client.query<EffectRecord>(`SELECT transition_id, type, params FROM ${s}.effects WHERE ${inBatch} ORDER BY entity_id, seq, idx`, args),
    client.query<TimerRecord>(
      `SELECT id, entity_id, transition_id, send_id, event, created_at, due_at, status, settled_at FROM ${s}.timers WHERE ${inBatch} ORDER BY created_at, id`,
      args,
    ),
    selection.rejections === false
      ? Promise.resolve([] as RejectionRecord[])
      : client.query<RejectionRecord>(
          `SELECT entity_id, state, event, event_type, code, at FROM ${s}.rejections
           WHERE ${inBatch} AND code IN ('TG_ILLEGAL_TRANSITION', 'TG_GUARD_REJECTED') AND event_type NOT LIKE 'xstate.%' ORDER BY id`,
          args,
        ),
  ]);
  const effectsOf = groupBy(effects, (e) => e.transition_id);
  const timersOf = groupBy(timers, (t) => t.entity_id);
  const armedBy = groupBy(timers, (t) => t.transition_id);
  const transitionsOf = groupBy(transitions, (t) => t.entity_id);
  const rejectionsOf = groupBy(rejections, (r) => r.entity_id);

  return entities.map((entity) => {
    const entityTimers = (timersOf.get(entity.id) ?? []).map(toTimer);
    const fired = new Map(entityTimers.filter((t) => t.status === 'fired').map((t) => [t.id, t.sendId]));
    const steps: RecordedStep[] = (transitionsOf.get(entity.id) ?? []).map((row) => {
      const timerSendId = row.idempotency_key === null ? undefined : fired.get(row.idempotency_key);
      const kind: StepKind =
        row.seq === 1
          ? row.event_type === importedEventType
            ? 'import'
            : 'create'
          : row.event_type === migratedEventType
            ? 'migration'
            : row.event_type === overrideEventType || row.event_type === observedEventType
              ? 'override'
              : timerSendId !== undefined || row.event_type.startsWith('xstate.after.')
                ? 'timer'
                : 'event';
      const at = ms(row.created_at);
      return {
        kind,
        seq: row.seq,
        transitionId: row.id,
        event: row.event,
        ...((row.event as Record<string, unknown>)[shadowEventMember] === true ? { shadow: true as const } : {}),
        ...(timerSendId !== undefined ? { timerSendId } : {}),
        ...(row.actor !== null ? { actor: row.actor } : {}),
        at,
        machineVersion: row.machine_version,
        fromState: row.from_state,
        ...(row.snapshot !== null ? { snapshot: row.snapshot } : {}),
        outcome: {
          accepted: true,
          state: row.to_state,
          effects: (effectsOf.get(row.id) ?? []).map((e) => ({ type: e.type, params: e.params })),
          timers: (armedBy.get(row.id) ?? []).map((t) => ({ sendId: t.send_id, delayMs: ms(t.due_at) - ms(t.created_at) })),
        },
      };
    });
    for (const rejection of rejectionsOf.get(entity.id) ?? []) {
      const at = ms(rejection.at);
      // After every transition committed by then: the attempt met the state those left.
      let position = steps.length;
      while (position > 0 && steps[position - 1]!.at > at) position--;
      const state = rejection.state ?? '(unknown)';
      steps.splice(position, 0, {
        kind: 'event',
        seq: null,
        transitionId: null,
        event: rejection.event ?? { type: rejection.event_type },
        at,
        machineVersion: steps[position - 1]?.machineVersion ?? entity.machine_version,
        fromState: state,
        outcome: { accepted: false, state, code: rejection.code, effects: [], timers: [] },
      });
    }
    return {
      machine: selection.machine,
      id: entity.id,
      steps,
      timers: entityTimers,
      current: { version: entity.version, machineVersion: entity.machine_version, state: entity.state, snapshot: entity.snapshot },
    };
  });
}

function toTimer(row: TimerRecord): RecordedTimer {
  return {
    id: row.id,
    transitionId: row.transition_id,
    sendId: row.send_id,
    event: row.event,
    createdAt: ms(row.created_at),
    dueAt: ms(row.due_at),
    status: row.status,
    settledAt: row.settled_at === null ? null : ms(row.settled_at),
  };
}

function groupBy<T>(rows: readonly T[], key: (row: T) => string): Map<string, T[]> {
  const groups = new Map<string, T[]>();
  for (const row of rows) {
    const k = key(row);
    const group = groups.get(k);
    if (group) group.push(row);
    else groups.set(k, [row]);
  }
  return groups;
}
