import { TollgateError, entityRef } from '../errors.ts';
import { writeImportBatch, importedEventType, type ImportBatchOutcome } from '../store/import-statement.ts';
import { lineError, prepareImport, type ImportLineError, type ImportRecord, type PreparedImport } from './import-record.ts';
import { machineOf, type RuntimeContext } from './runtime-context.ts';

/** Where `import` reads entities from: records, or NDJSON lines (blank lines are skipped but counted). */
export type ImportSource = Iterable<ImportRecord | string> | AsyncIterable<ImportRecord | string>;

/** Options of an import. */
export interface ImportOptions {
  /** Entities written per statement. Default 1,000. */
  readonly batch?: number;
  /** Stop once more lines than this were refused (invalid or conflicting). Default 100. */
  readonly maxErrors?: number;
  /** Stored as the actor of every `$imported` history row. Default `tollgate import`. */
  readonly actor?: string;
  /** The number of lines, when known, for progress. Default: unknown. */
  readonly total?: number;
  /** Called after every batch written. */
  readonly onProgress?: (progress: { readonly done: number; readonly total: number; readonly failed: number }) => void;
}

/** What an import did. */
export interface ImportReport {
  readonly machine: string;
  /** Lines (or elements) read, blank ones included. */
  readonly lines: number;
  /** Entities written now. */
  readonly imported: number;
  /** Entities an earlier import wrote with the same data: nothing to do. */
  readonly skipped: number;
  /** Lines refused: invalid, or an entity that exists with other data (`TG_IMPORT_CONFLICT`). */
  readonly failed: number;
  /** True when the run stopped early on `maxErrors`; the lines after `lines` were not read. */
  readonly stopped: boolean;
  /** Imported entities per state. */
  readonly states: Readonly<Record<string, number>>;
  /** Timers armed for the imported entities, and how many of them were due already (they fire at once). */
  readonly timers: { readonly armed: number; readonly dueAtImport: number };
  /** The refused lines (at most `maxErrors + 1`), in line order. */
  readonly errors: readonly ImportLineError[];
}

interface Pending {
  readonly prepared: PreparedImport;
  readonly line: number;
}

/**
 * Imports entities that live elsewhere today into `machine`, in the state they are in: each record is checked
 * against the machine (prepareImport), and written in batches, each one statement that writes the entities with
 * their `$imported` history rows and the timers of their states, due from `stateEnteredAt` (store/import-statement.ts).
 * A refused line is reported with its number and does not stop the run, until more than `maxErrors` were refused.
 * Idempotent and so resumable: an entity already imported with the same record is skipped, one that exists with
 * other data is reported (`TG_IMPORT_CONFLICT`) and left as it is; a run killed at any point has written whole
 * batches only, and running it again on the same input finishes it. No effects are written: the legacy system did
 * the work of the states the entities are in. While one batch is written the next is checked.
 *
 * @example
 * const report = await tg.import('subscription', [{ id: 's1', state: 'grace', context, stateEnteredAt: '2026-11-20T10:00:00Z' }]);
 */
export async function importEntities(ctx: RuntimeContext, machine: string, source: ImportSource, options: ImportOptions = {}): Promise<ImportReport> {
  const definition = machineOf(ctx, machine);
  const batchSize = options.batch ?? 1000;
  const maxErrors = options.maxErrors ?? 100;
  if (!Number.isInteger(batchSize) || batchSize < 1 || !Number.isInteger(maxErrors) || maxErrors < 0) {
    throw new TollgateError('TG_INVALID_ARGUMENT', `import into '${machine}': batch must be a positive integer and maxErrors a non-negative one.`, { machine, argument: 'batch' });
  }
  const actor = options.actor ?? 'tollgate import';
  const states: Record<string, number> = {};
  const errors: ImportLineError[] = [];
  const timers = { armed: 0, dueAtImport: 0 };
  let lines = 0;
  let imported = 0;
  let skipped = 0;
  let failed = 0;
  const fail = (error: ImportLineError) => {
    failed++;
    if (errors.length <= maxErrors) errors.push(error);
  };

  const settle = (batch: readonly Pending[], outcome: ImportBatchOutcome) => {
    let moved = 0;
    for (const { prepared, line } of batch) {
      const { row } = prepared;
      if (outcome.written.has(row.id)) {
        imported++;
        moved++;
        states[row.state] = (states[row.state] ?? 0) + 1;
        timers.armed += row.timers.length;
        timers.dueAtImport += prepared.dueNow;
        ctx.metrics.transitions.inc({ machine, from: '(none)', to: row.state, event: importedEventType });
        continue;
      }
      const stored = outcome.existing.get(row.id);
      if (stored === row.fingerprint) skipped++;
      else {
        const why = stored === undefined ? 'was not written (it was deleted meanwhile?); run the import again' : stored === null ? 'exists already, created through the gate, not imported' : 'was imported earlier with other data';
        fail({
          line,
          id: row.id,
          code: 'TG_IMPORT_CONFLICT',
          message: `${entityRef(machine, row.id)} ${why}: left as it is. Nothing to do if the stored entity is right; otherwise send it events or repair it with an audited override.`,
        });
      }
    }
    return moved;
  };

  let inFlight: Promise<void> = Promise.resolve();
  let pending: Pending[] = [];
  let ids = new Set<string>();
  const flush = async () => {
    const batch = pending;
    pending = [];
    ids = new Set();
    await inFlight; // one write at a time, in order; the next batch is checked meanwhile
    if (batch.length === 0) return;
    const write = writeImportBatch(ctx.client, ctx.schema, { machine, rows: batch.map((p) => p.prepared.row), now: new Date(ctx.clock.now()), actor }).then((outcome) => {
      settle(batch, outcome);
      options.onProgress?.({ done: lines, total: options.total ?? 0, failed });
    });
    inFlight = write;
    // A failed write must surface at the next await of inFlight, not as an unhandled rejection meanwhile.
    write.catch(() => {});
  };

  let stopped = false;
  for await (const item of source as AsyncIterable<ImportRecord | string>) {
    if (failed > maxErrors) {
      stopped = true;
      break;
    }
    lines++;
    if (typeof item === 'string' && item.trim() === '') continue;
    let prepared: PreparedImport;
    try {
      prepared = prepareImport(definition, machine, item, new Date(ctx.clock.now()));
    } catch (error) {
      fail(lineError(lines, error, typeof item === 'object' && item !== null && typeof item.id === 'string' ? item.id : undefined));
      continue;
    }
    // A repeated id goes to the next statement, where it meets the first one's row (skipped or a conflict).
    if (ids.has(prepared.row.id)) await flush();
    pending.push({ prepared, line: lines });
    ids.add(prepared.row.id);
    if (pending.length >= batchSize) await flush();
  }
  await flush();
  await inFlight;
  return { machine, lines, imported, skipped, failed, stopped, states, timers, errors: errors.sort((a, b) => a.line - b.line) };
}
