import { historyReads, migratedEventType, type EntityRecord, type HistoryBatchRows, type HistorySelection, type TimerRecord } from '../store/history-reads.ts';
import { overrideEventType } from '../store/legality-sql.ts';
import { observedEventType, shadowEventMember } from '../store/shadow-store.ts';
import { importedEventType } from '../store/import-statement.ts';
import type { SqlClient } from '../store/sql-client.ts';
import { type RecordedEntity, type RecordedStep, type RecordedTimer, type StepKind } from './recorded.ts';

export type { HistorySelection } from '../store/history-reads.ts';

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
  const reads = historyReads(client, schemaName);
  const batchSize = selection.batchSize ?? 200;
  const loadBatch = async (entities: EntityRecord[]) => assemble(selection, entities, await reads.batch(selection, entities));
  if (selection.sample !== undefined) {
    const rows = await reads.sample(selection, selection.sample);
    rows.sort((a, b) => (a.id < b.id ? -1 : 1));
    for (let i = 0; i < rows.length; i += batchSize) yield loadBatch(rows.slice(i, i + batchSize));
    return;
  }
  let after = '';
  for (;;) {
    const rows = await reads.page(selection, after, batchSize);
    if (rows.length === 0) return;
    yield loadBatch(rows);
    after = rows.at(-1)!.id;
    if (rows.length < batchSize) return;
  }
}

/** One batch's rows as recorded histories: each entity's steps (refused attempts in their place) and timers. */
function assemble(selection: HistorySelection, entities: readonly EntityRecord[], { transitions, effects, timers, rejections }: HistoryBatchRows): RecordedEntity[] {
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
