import type { AnyMachineSnapshot } from 'xstate';
import type { TransitionView } from './views.ts';

/** One committed transition as this process saw it commit: the history row and the snapshot after it. */
export interface LocalCommit {
  readonly transition: TransitionView;
  readonly snapshot: AnyMachineSnapshot;
}

/**
 * Commits made in this process, published right after they commit (the gate and create call `publish`). Listeners
 * run synchronously and must not throw into the gate: an exception is caught and dropped, a commit is never undone.
 * Other processes' commits reach watchers through the history tail (live-hub.ts), never through here.
 */
export class CommitFeed {
  readonly #listeners = new Set<(commit: LocalCommit) => void>();

  /** Calls `listener` after each commit of this process until the returned function is called. */
  subscribe(listener: (commit: LocalCommit) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  publish(commit: LocalCommit): void {
    for (const listener of this.#listeners) {
      try {
        listener(commit);
      } catch {
        // A watcher's fault is its own; the commit stands.
      }
    }
  }
}
