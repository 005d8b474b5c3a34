import { planEachRun, type SqlClient } from '../store/sql-client.ts';
import { faultPoint, type FaultPoint } from './faults.ts';
import type { NewJob, QueueKind, Transport } from './transport.ts';

/**
 * One claim-hand-off-mark round in one transaction: what the timer scheduler does with timers. (The relay claims
 * and marks in one statement that commits before the hand-off, so effect workers never wait on its row locks:
 * relay.ts.)
 */
export interface HandOff<R> {
  readonly client: SqlClient;
  readonly transport: Transport;
  readonly queue: QueueKind;
  /** Selects rows `FOR UPDATE SKIP LOCKED`, so concurrent relays claim disjoint sets. */
  readonly claimSql: string;
  readonly claimParams: readonly unknown[];
  /**
   * Marks the claimed rows; `$1` is the JSON array of their ids. The claim holds their row locks, so their status
   * cannot have moved: do not repeat the claim's status test. It matches the predicate of the partial index the
   * claim uses, and a generic plan made while that index was small walks all of it on every round (see ids.ts).
   */
  readonly markSql: string;
  readonly markParams?: readonly unknown[];
  readonly toJob: (row: R) => NewJob;
  readonly fault?: FaultPoint;
}

/**
 * Claims rows, adds their jobs, marks them, in one transaction. A crash after the add and before the commit
 * leaves the rows unmarked: the next round adds them again, and the transport ignores the ids it still holds
 * (or the worker's Postgres check makes the re-run a no-op). Never a lost row, at worst a duplicate job.
 *
 * @returns the rows handed off.
 */
export async function handOff<R extends { id: string }>(h: HandOff<R>): Promise<R[]> {
  return h.client.transaction(async (tx) => {
    const rows = await tx.query<R>(h.claimSql, h.claimParams, planEachRun);
    if (rows.length === 0) return rows;
    await h.transport.add(h.queue, rows.map(h.toJob));
    if (h.fault) await faultPoint(h.fault);
    await tx.query(h.markSql, [JSON.stringify(rows.map((r) => r.id)), ...(h.markParams ?? [])], planEachRun);
    return rows;
  });
}

/** A loop that runs `round` when woken or every `intervalMs`, and again at once while `round` says "more". */
export interface Loop {
  /** Runs a round soon (a NOTIFY arrived, the clock moved). */
  wake(): void;
  /** Stops after the current round. */
  stop(): Promise<void>;
}

export function startLoop(round: () => Promise<boolean>, intervalMs: number, onError: (error: unknown) => void): Loop {
  let running = true;
  let woken = false;
  let wakeUp: (() => void) | undefined;
  const sleep = () =>
    new Promise<void>((resolve) => {
      if (woken) return resolve();
      const timer = setTimeout(done, intervalMs);
      function done() {
        clearTimeout(timer);
        wakeUp = undefined;
        resolve();
      }
      wakeUp = done;
    });
  const finished = (async () => {
    while (running) {
      woken = false;
      let more = false;
      try {
        more = await round();
      } catch (error) {
        if (running) onError(error);
      }
      if (!more && running) await sleep();
    }
  })();
  return {
    wake() {
      woken = true;
      wakeUp?.();
    },
    async stop() {
      running = false;
      wakeUp?.();
      await finished;
    },
  };
}
