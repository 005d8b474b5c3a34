import type { SqlClient } from './sql-client.ts';

/** Wakes the relays after commits that wrote effects. */
export interface OutboxNotifier {
  /** A commit that wrote effects is done: make sure a NOTIFY goes out after it. Never waits, never throws. */
  poke(): void;
  /** Resolves when no NOTIFY is pending or in flight (before closing the connections). */
  drain(): Promise<void>;
}

/** Options of the outbox notifier. */
export interface OutboxNotifierOptions {
  /**
   * Least time between two NOTIFYs. A poke while none was sent for this long notifies at once; pokes within it
   * share one NOTIFY at its end. Under load this caps the NOTIFYs (and the relay rounds they start) at one per
   * gap instead of one per commit's round trip. Default 5 ms.
   */
  readonly minGapMs?: number;
  readonly onError?: (error: unknown) => void;
}

/**
 * A NOTIFY commits a transaction of its own (Postgres gives it a transaction id), and by default that commit waits
 * for its WAL flush. Nothing in it needs to survive a crash (a lost NOTIFY costs a poll), so it commits without
 * waiting. `set_config(..., true)` applies to this statement's own transaction only.
 */
const notifySql = `SELECT set_config('synchronous_commit', 'off', true), pg_notify($1::text, $2::text)`;

/**
 * Sends the outbox NOTIFY after the commit, on its own, coalesced: every commit is followed by a NOTIFY issued
 * after it, at most one is in flight, and two start at least `minGapMs` apart.
 *
 * Why not `pg_notify` inside the commit statement, which would be atomic with it: a transaction that has queued a
 * notification takes Postgres's global notify-queue lock at commit and holds it through its WAL flush, so every
 * committing transaction that notifies waits for the previous one's flush. That serialised the gate: at 32
 * concurrent writers it committed a third as many transitions as without the NOTIFY (bench/transitions.ts). And a
 * NOTIFY costs the database about as much CPU as the commit it follows (measured at 1,000 commits/s), so sending
 * fewer matters. The NOTIFY is only a wake-up hint: one that is lost (a crash right after the commit, an error)
 * costs the relay's poll interval, never an effect.
 */
export function outboxNotifier(client: SqlClient, channel: string, options: OutboxNotifierOptions = {}): OutboxNotifier {
  const minGapMs = options.minGapMs ?? 5;
  const onError = options.onError ?? (() => {});
  let inFlight: Promise<void> | undefined;
  let scheduled: Promise<void> | undefined;
  let again = false;
  let lastSentAt = -Infinity;
  const send = (): void => {
    again = false;
    lastSentAt = performance.now();
    inFlight = client
      .query(notifySql, [channel, ''])
      .then(
        () => {},
        (error: unknown) => onError(error),
      )
      .finally(() => {
        inFlight = undefined;
        if (again) poke();
      });
  };
  const poke = (): void => {
    if (inFlight || scheduled) {
      again = true;
      return;
    }
    const wait = lastSentAt + minGapMs - performance.now();
    if (wait <= 0) return send();
    scheduled = new Promise<void>((resolve) =>
      setTimeout(() => {
        scheduled = undefined;
        send();
        resolve();
      }, wait),
    );
  };
  return {
    poke,
    async drain() {
      while (inFlight || scheduled) await (inFlight ?? scheduled);
    },
  };
}
