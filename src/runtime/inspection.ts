import type { AnyMachineSnapshot, AnyStateMachine, InspectionEvent, Observer } from 'xstate';
import type { CommitFeed, LocalCommit } from './commit-feed.ts';

/** What `createTollgate({ inspect })` takes: XState's inspection observer, or a function of each event. */
export type InspectObserver = Observer<InspectionEvent> | ((event: InspectionEvent) => void);

/** The actor a persisted entity stands for, as XState inspection tools read one. */
export interface EntityActorRef {
  /** `tollgate:<machine>:<entity id>`: stable across processes and restarts. */
  readonly sessionId: string;
  readonly id: string;
  /** The machine: inspection tools read its definition from `logic.config`. */
  readonly logic: AnyStateMachine;
  readonly _parent: undefined;
  getSnapshot(): AnyMachineSnapshot;
  /** Entities take events through the gate (`tg.send`), not through this ref: sending here is refused. */
  send(): void;
}

/** How many entities' actor refs are kept, so each is announced (`@xstate.actor`) once per process. */
const announcedLimit = 10_000;

/**
 * Calls `observer` after each commit of this process with the events an XState actor would emit for it:
 * `@xstate.actor` the first time this process commits for the entity (its creation, or its first event since the
 * process started), then `@xstate.event` (the event, no source) and `@xstate.snapshot` (the snapshot after it).
 * So `createWebSocketInspector().inspect`, or any XState inspection tool, can watch persisted entities.
 * The observer runs synchronously after the commit; what it throws is dropped. Returns the unsubscribe function.
 */
export function attachInspector(feed: CommitFeed, machines: ReadonlyMap<string, { readonly machine: AnyStateMachine }>, observer: InspectObserver): () => void {
  const next = typeof observer === 'function' ? observer : (event: InspectionEvent) => observer.next?.(event);
  const refs = new Map<string, { ref: EntityActorRef; snapshot: AnyMachineSnapshot }>();
  return feed.subscribe((commit: LocalCommit) => {
    const { machine, entityId, event } = commit.transition;
    const logic = machines.get(machine)?.machine;
    if (!logic) return;
    const sessionId = `tollgate:${machine}:${entityId}`;
    let known = refs.get(sessionId);
    const announce = known === undefined;
    if (!known) {
      const entry: { ref: EntityActorRef; snapshot: AnyMachineSnapshot } = {
        snapshot: commit.snapshot,
        ref: {
          sessionId,
          id: entityId,
          logic,
          _parent: undefined,
          getSnapshot: () => entry.snapshot,
          send: () => {
            throw new Error(`Send events to ${machine} '${entityId}' through tollgate (tg.send), not through its inspection ref.`);
          },
        },
      };
      known = entry;
      refs.set(sessionId, entry);
      if (refs.size > announcedLimit) refs.delete(refs.keys().next().value as string);
    } else {
      // Most recently used last, so the oldest is forgotten first.
      refs.delete(sessionId);
      refs.set(sessionId, known);
    }
    known.snapshot = commit.snapshot;
    const actorRef = known.ref;
    const rootId = sessionId;
    const xstateEvent = { ...event, type: commit.transition.eventType };
    if (announce) next({ type: '@xstate.actor', actorRef, rootId });
    next({ type: '@xstate.event', actorRef, rootId, sourceRef: undefined, event: xstateEvent });
    next({ type: '@xstate.snapshot', actorRef, rootId, event: xstateEvent, snapshot: commit.snapshot });
  });
}
