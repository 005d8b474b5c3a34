import type { AnyMachineSnapshot } from 'xstate';

/** A resolved snapshot as of one version of an entity. */
export interface LoadedEntity {
  readonly version: number;
  readonly machineVersion: number;
  readonly snapshot: AnyMachineSnapshot;
  readonly state: string;
  readonly stateEnteredAt: Date;
  /**
   * Set when the stored snapshot is of an older machine version and was migrated in memory on load (`snapshot`,
   * `state` and `machineVersion` are the migrated ones): the next send commits the migration with its event.
   */
  readonly migratedFrom?: { readonly machineVersion: number; readonly state: string; readonly snapshot: unknown };
}

/**
 * Least-recently-used cache of resolved snapshots by entity. It only saves the read and the JSON restore on hot
 * entities: it is never trusted for a decision that writes nothing (a refusal re-reads the database first), and a
 * stale entry costs one failed version check at commit, never a wrong write. Other processes may write the same
 * entity; this cache does not need to hear about it.
 */
export class SnapshotCache {
  readonly #entries = new Map<string, LoadedEntity>();
  readonly #capacity: number;

  constructor(capacity: number) {
    this.#capacity = capacity;
  }

  get(machine: string, id: string): LoadedEntity | undefined {
    const key = cacheKey(machine, id);
    const entry = this.#entries.get(key);
    if (entry) {
      // Re-insert to mark as most recently used (Map keeps insertion order).
      this.#entries.delete(key);
      this.#entries.set(key, entry);
    }
    return entry;
  }

  set(machine: string, id: string, entry: LoadedEntity): void {
    if (this.#capacity <= 0) return;
    const key = cacheKey(machine, id);
    const current = this.#entries.get(key);
    if (current && current.version > entry.version) return;
    this.#entries.delete(key);
    this.#entries.set(key, entry);
    if (this.#entries.size > this.#capacity) {
      const oldest = this.#entries.keys().next().value;
      if (oldest !== undefined) this.#entries.delete(oldest);
    }
  }

  delete(machine: string, id: string): void {
    this.#entries.delete(cacheKey(machine, id));
  }

  get size(): number {
    return this.#entries.size;
  }
}

function cacheKey(machine: string, id: string): string {
  return `${machine}\u0000${id}`;
}
