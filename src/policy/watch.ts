import type { GovernanceRows, GovernanceStore } from '../store/governance-store.ts';
import type { SqlClient } from '../store/sql-client.ts';

/** Options of the governance watch. */
export interface GovernanceWatchOptions {
  /**
   * Longest time a read of the policies and freezes is used before it is read again. A switch committed at t is
   * applied by every send that starts after t + maxAgeMs, NOTIFY or not (the age counts from when the read started).
   * Default 1,000 ms.
   */
  readonly maxAgeMs?: number;
  /** Run once before the first read succeeds (the first-registered policies), retried until it does. */
  readonly bootstrap?: () => Promise<void>;
}

/** The policies and freezes every process applies, kept fresh. */
export interface GovernanceWatch {
  /** The current rows: no older than `maxAgeMs`, and re-read after every NOTIFY of a change. */
  current(): Promise<GovernanceRows>;
  /** Re-read on next use: this process just changed the rules (its own NOTIFY may come later). */
  invalidate(): void;
  close(): Promise<void>;
}

/**
 * Reads the policies and freezes when a send needs them and the last read is older than `maxAgeMs`, or a NOTIFY
 * said they changed: a switch reaches every process within a second even when its NOTIFY is lost, and within a
 * round trip when it is not. No timer runs: an idle process reads nothing.
 */
export function governanceWatch(client: SqlClient, store: GovernanceStore, options: GovernanceWatchOptions = {}): GovernanceWatch {
  const maxAgeMs = options.maxAgeMs ?? 1000;
  let rows: GovernanceRows | undefined;
  let readStartedAt = -Infinity;
  let changed = false;
  let reading: Promise<GovernanceRows> | undefined;
  let bootstrapped = options.bootstrap === undefined;
  let listening: Promise<(() => Promise<void>) | undefined> | undefined;
  let closed = false;

  const listen = () => {
    listening ??= client
      .listen(store.channel, () => {
        changed = true;
      })
      // Without the NOTIFY the age limit still applies a change within maxAgeMs.
      .catch(() => undefined);
    return listening;
  };

  const read = (): Promise<GovernanceRows> => {
    reading ??= (async () => {
      try {
        await listen();
        if (!bootstrapped) {
          await options.bootstrap?.();
          bootstrapped = true;
        }
        const startedAt = performance.now();
        changed = false;
        const fresh = await store.read();
        rows = fresh;
        readStartedAt = startedAt;
        return fresh;
      } finally {
        reading = undefined;
      }
    })();
    return reading;
  };

  return {
    async current() {
      if (rows && !changed && performance.now() - readStartedAt < maxAgeMs) return rows;
      return read();
    },
    invalidate() {
      changed = true;
    },
    async close() {
      if (closed) return;
      closed = true;
      const unlisten = await listening;
      await unlisten?.().catch(() => {});
    },
  };
}
