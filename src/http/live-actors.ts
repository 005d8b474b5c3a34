import { graphOfConfig, type MachineGraph } from '../introspect/machine-graph.ts';

/** One event an inspected actor received. */
export interface LiveActorEvent {
  readonly type: string;
  readonly event: unknown;
  readonly sourceId: string | null;
  readonly at: string;
}

/** An in-memory XState actor reported by `@statelyai/inspect` over the inspector's WebSocket. */
export interface LiveActor {
  readonly sessionId: string;
  readonly name: string;
  readonly rootId: string | null;
  readonly parentId: string | null;
  /** Drawn from the definition it sent; null when it sent none that makes a machine. */
  readonly graph: MachineGraph | null;
  /** Its latest snapshot: `value`, `status`, `context` as sent. */
  readonly snapshot: unknown;
  /** The latest events, oldest first (at most 200). */
  readonly events: readonly LiveActorEvent[];
  /** Whether the socket that reported it is still open. */
  readonly connected: boolean;
  readonly updatedAt: string;
}

const maxActors = 200;
const maxEvents = 200;

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

/**
 * The live actors of one server: what `/inspector/ws` received, in memory only (a restart forgets them; they are
 * someone else's in-memory actors). Frames are `@statelyai/inspect` 0.7's: `@xstate.actor` (name, definition,
 * snapshot), `@xstate.event` (event, sourceId; the target is `sessionId`), `@xstate.snapshot` (event, snapshot).
 * Other frames are ignored. At most 200 actors (the least recently updated go first), 200 events each.
 */
export class LiveActors {
  readonly #actors = new Map<string, Mutable<LiveActor> & { events: LiveActorEvent[] }>();
  readonly #listeners = new Set<(actor: LiveActor) => void>();

  constructor(private readonly now: () => number) {}

  /** Applies one frame sent by `connection`; returns false when it is not an inspection frame. */
  apply(frame: unknown, connection: object): boolean {
    if (typeof frame !== 'object' || frame === null) return false;
    const f = frame as Record<string, unknown>;
    if (typeof f.sessionId !== 'string' || typeof f.type !== 'string') return false;
    const at = new Date(this.now()).toISOString();
    let actor = this.#actors.get(f.sessionId);
    if (f.type === '@xstate.actor' || !actor) {
      const name = typeof f.name === 'string' ? f.name : (actor?.name ?? f.sessionId);
      actor = {
        sessionId: f.sessionId,
        name,
        rootId: typeof f.rootId === 'string' ? f.rootId : (actor?.rootId ?? null),
        parentId: typeof f.parentId === 'string' ? f.parentId : (actor?.parentId ?? null),
        graph: f.definition === undefined ? (actor?.graph ?? null) : (graphOfConfig(name, f.definition) ?? actor?.graph ?? null),
        snapshot: f.snapshot ?? actor?.snapshot ?? null,
        events: actor?.events ?? [],
        connected: true,
        updatedAt: at,
      };
      this.#connections.set(f.sessionId, connection);
    }
    if (f.type === '@xstate.event' && typeof f.event === 'object' && f.event !== null) {
      const event = f.event as { type?: unknown };
      actor.events.push({ type: String(event.type), event: f.event, sourceId: typeof f.sourceId === 'string' ? f.sourceId : null, at });
      if (actor.events.length > maxEvents) actor.events.shift();
    } else if (f.type === '@xstate.snapshot' && f.snapshot !== undefined) {
      actor.snapshot = f.snapshot;
    } else if (f.type !== '@xstate.actor') {
      return false;
    }
    actor.updatedAt = at;
    actor.connected = true;
    this.#actors.delete(f.sessionId); // most recently updated last
    this.#actors.set(f.sessionId, actor);
    while (this.#actors.size > maxActors) this.#actors.delete(this.#actors.keys().next().value as string);
    this.#emit(actor);
    return true;
  }

  /** Marks the actors `connection` reported as disconnected (their last state stays visible). */
  disconnect(connection: object): void {
    for (const [sessionId, owner] of this.#connections) {
      if (owner !== connection) continue;
      this.#connections.delete(sessionId);
      const actor = this.#actors.get(sessionId);
      if (actor) {
        actor.connected = false;
        this.#emit(actor);
      }
    }
  }

  list(): LiveActor[] {
    return [...this.#actors.values()];
  }

  /** Calls `listener` with each actor that changed, until the returned function is called. */
  subscribe(listener: (actor: LiveActor) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  readonly #connections = new Map<string, object>();

  #emit(actor: LiveActor): void {
    for (const listener of this.#listeners) listener(actor);
  }
}
