import { randomUUID } from 'node:crypto';
import type { StateValue } from 'xstate';
import type { AnyMachineDefinition } from '../engine/definition.ts';
import { importedSnapshot, toStateValue } from '../engine/imported-snapshot.ts';
import { stateToString } from '../engine/state-value.ts';
import { TollgateError, isTollgateError, type TollgateErrorCode } from '../errors.ts';
import { importedEventType, type ImportRow } from '../store/import-statement.ts';
import { fingerprint } from './fingerprint.ts';
import { checkIdentifier } from './identifier.ts';

/** One entity to import: a line of `tollgate import`'s NDJSON, or an element of `tg.import`'s source. */
export interface ImportRecord {
  /** The entity id (1 to 200 characters, no control characters). */
  readonly id: string;
  /**
   * Where the entity is: a dotted path (`paused.idle`), leaf paths joined by `,` (`paid.invoicing.draft,paid.shipment.awaiting`),
   * or a state value (`{ "paid": { "shipment": "awaiting", "invoicing": "draft" } }`).
   */
  readonly state: string | StateValue;
  /** The machine's context for it (checked against the definition's `context` schema when it has one). */
  readonly context: Readonly<Record<string, unknown>>;
  /** When it entered that state (ISO-8601 or a Date): its timers count from there. Default: the time of the import. */
  readonly stateEnteredAt?: string | Date;
  /** The machine version the state and context are written for; older ones go through its migrations. Default: the registered one. */
  readonly machineVersion?: number;
}

/** A line refused, and why. */
export interface ImportLineError {
  /** 1-based line (or element) number. */
  readonly line: number;
  /** The entity id, when the line had one. */
  readonly id?: string;
  readonly code: TollgateErrorCode;
  readonly message: string;
}

/** A record made ready to write. */
export interface PreparedImport {
  readonly row: ImportRow;
  /** How many of its timers were due already when prepared. */
  readonly dueNow: number;
}

/** The fields a line may have; any other is a mistake worth reporting (a misspelt `stateEnteredAt` would be lost). */
const fields = new Set(['id', 'state', 'context', 'stateEnteredAt', 'machineVersion']);

/**
 * Checks one record against the machine and builds its row (entity, `$imported` history row, timers), or throws
 * the coded refusal. The fingerprint covers the record as given (its state normalized, without a defaulted entry
 * time), so importing the same file again finds the same fingerprint and skips it.
 */
export function prepareImport(definition: AnyMachineDefinition, machine: string, raw: unknown, now: Date): PreparedImport {
  if (typeof raw === 'string') {
    try {
      raw = JSON.parse(raw);
    } catch (error) {
      throw invalidRecord(`not JSON (${(error as Error).message})`);
    }
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw invalidRecord('not a JSON object { id, state, context, stateEnteredAt?, machineVersion? }');
  const record = raw as Record<string, unknown>;
  const unknownField = Object.keys(record).find((k) => !fields.has(k));
  if (unknownField !== undefined) throw invalidRecord(`unknown field '${unknownField}' (fields: ${[...fields].join(', ')})`);
  let id: string;
  try {
    id = checkIdentifier('entity id', record.id, machine);
  } catch (error) {
    throw invalidRecord(isTollgateError(error) ? error.message : String(error));
  }
  if (record.state === undefined) throw invalidRecord('no state', id);
  if (record.context === undefined) throw invalidRecord('no context', id);
  const enteredAt = entryTime(record.stateEnteredAt, now, id);
  const machineVersion = record.machineVersion ?? definition.version;
  if (typeof machineVersion !== 'number' || !Number.isInteger(machineVersion) || machineVersion < 1 || machineVersion > definition.version) {
    throw invalidRecord(`machineVersion ${JSON.stringify(record.machineVersion)} is not a version from 1 to the registered ${definition.version}`, id);
  }
  const made = importedSnapshot(definition, { machine, id, state: record.state as string | StateValue, context: record.context, machineVersion });
  const transitionId = randomUUID();
  const given = toStateValue(record.state);
  const print = fingerprint({
    id,
    state: given === undefined ? record.state : stateToString(given),
    context: record.context,
    stateEnteredAt: record.stateEnteredAt === undefined ? null : enteredAt.toISOString(),
    machineVersion: record.machineVersion ?? null,
  });
  let dueNow = 0;
  const timers = made.timers.map((timer, i) => {
    const due = enteredAt.getTime() + timer.delayMs;
    if (due <= now.getTime()) dueNow++;
    return { id: `${transitionId}-t${i}`, send_id: timer.sendId, event: timer.event, due_at: new Date(due).toISOString() };
  });
  return {
    row: {
      id,
      machine_version: definition.version,
      snapshot: made.persisted,
      state: made.state,
      state_entered_at: enteredAt.toISOString(),
      transition_id: transitionId,
      event: { type: importedEventType, machineVersion, stateEnteredAt: enteredAt.toISOString(), timers: timers.map((t) => ({ sendId: t.send_id, dueAt: t.due_at })) },
      fingerprint: print,
      timers,
    },
    dueNow,
  };
}

/** The refusal of a record as a reported line error. */
export function lineError(line: number, error: unknown, id?: string): ImportLineError {
  if (isTollgateError(error)) {
    const entityId = typeof error.details.entityId === 'string' ? error.details.entityId : id;
    return { line, ...(entityId === undefined ? {} : { id: entityId }), code: error.code, message: error.message };
  }
  return { line, ...(id === undefined ? {} : { id }), code: 'TG_INTERNAL', message: error instanceof Error ? error.message : String(error) };
}

function entryTime(value: unknown, now: Date, id: string): Date {
  if (value === undefined) return now;
  const at = value instanceof Date ? value : typeof value === 'string' ? new Date(value) : undefined;
  if (at === undefined || Number.isNaN(at.getTime())) throw invalidRecord(`stateEnteredAt ${JSON.stringify(value)} is not an ISO-8601 time`, id);
  if (at.getTime() > now.getTime()) throw invalidRecord(`stateEnteredAt ${at.toISOString()} is in the future`, id);
  return at;
}

function invalidRecord(reason: string, id?: string): TollgateError {
  return new TollgateError('TG_IMPORT_INVALID_RECORD', `Import record${id === undefined ? '' : ` '${id}'`} is invalid: ${reason}.`, {
    ...(id === undefined ? {} : { entityId: id }),
    reason,
  });
}
