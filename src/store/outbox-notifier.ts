import type { SqlClient } from './sql-client.ts';

/** Wakes the relays after commits that wrote effects. */
export interface OutboxNotifier {
  /** A commit that wrote effects is done: make sure a NOTIFY goes out after it. Never waits, never throws. */
  poke(): void;
  /** Resolves when no NOTIFY is pending or in flight (before closing the connections). */
  drain(): Promise<void>;
}

/**
 * Sends the outbox NOTIFY after the commit, on its own, coalesced: at most one in flight per runtime, plus one more
 * if commits finished while it was in flight (so every commit is followed by a NOTIFY issued after it).
 *
 * Why not `pg_notify` inside the commit statement, which would be atomic with it: a transaction that has queued a
 * notification takes Postgres's global notify-queue lock at commit and holds it through its WAL flush, so every
 * committing transaction that notifies waits for the previous one's flush. That serialised the gate: at 32
 * concurrent writers it committed a third as many transitions as without the NOTIFY (bench/transitions.ts). The
 * NOTIFY is only a wake-up hint: one that is lost (a crash right after the commit, an error) costs the relay's poll
 * interval, never an effect.
 */
export function outboxNotifier(client: SqlClient, channel: string, onError: (error: unknown) => void = () => {}): OutboxNotifier {
  let inFlight: Promise<void> | undefined;
  let again = false;
  const send = (): void => {
    inFlight = client
      .query('SELECT pg_notify($1::text, $2::text)', [channel, ''])
      .then(
        () => {},
        (error: unknown) => onError(error),
      )
      .finally(() => {
        inFlight = undefined;
        if (again) {
          again = false;
          send();
        }
      });
  };
  return {
    poke() {
      if (inFlight) again = true;
      else send();
    },
    async drain() {
      while (inFlight) await inFlight;
    },
  };
}
