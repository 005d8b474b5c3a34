import type { TailRow } from '../store/history-tail.ts';
import type { CommitFeed } from './commit-feed.ts';
import type { MachineStats } from './machine-stats.ts';
import { toTransitionView, type TransitionView } from './views.ts';

/** Which commits a watcher wants: all, one machine's, or one entity's. */
export interface WatchFilter {
  readonly machine?: string;
  readonly entityId?: string;
}

/** What the hub needs from the runtime. */
export interface LiveHubPorts {
  readonly feed: CommitFeed;
  /** The history tail: transitions of these machines created at or after `since`, oldest first. */
  tail(machines: readonly string[], since: Date, limit: number): Promise<TailRow[]>;
  readMachineStats(machine: string): Promise<MachineStats>;
  readonly machines: readonly string[];
  now(): number;
  onError(error: unknown): void;
}

/** Options of the hub; the defaults are what the inspector's "within 2 s" rests on. */
export interface LiveHubOptions {
  /** How often the history is tailed and stale stats re-read while anyone watches. Default 1,000 ms. */
  readonly intervalMs?: number;
  /**
   * How far back each tail reads again: a commit whose `created_at` (its writer's clock) is older than the newest
   * row already seen still shows, if within this window. Default 5,000 ms.
   */
  readonly lookbackMs?: number;
  /** Stats of a watched machine are re-read at least this often even with no commit seen. Default 10,000 ms. */
  readonly statsMaxAgeMs?: number;
}

interface Watcher {
  readonly filter: WatchFilter;
  readonly listener: (transition: TransitionView) => void;
}

interface StatsWatch {
  listeners: Set<(stats: MachineStats) => void>;
  latest?: MachineStats;
  readAt: number;
  dirty: boolean;
  reading?: Promise<void>;
}

const tailPage = 1000;
const maxPagesPerTick = 20;

/**
 * One per runtime: the live view of commits for every SSE stream, `waitFor` and inspector page of the process.
 * Commits of this process arrive from the commit feed at once; other processes' commits from ONE history tail per
 * interval, shared by every watcher (DESIGN.md "Live updates": no NOTIFY inside the commit). A transition is
 * delivered once: ids already delivered are remembered for the lookback window. Machine stats are read at most
 * once per interval per machine (when commits were seen, or when older than `statsMaxAgeMs`) and shared by all
 * their watchers, so a hundred open pages cost what one costs. Nothing runs while nobody watches.
 */
export class LiveHub {
  readonly #ports: LiveHubPorts;
  readonly #intervalMs: number;
  readonly #lookbackMs: number;
  readonly #statsMaxAgeMs: number;
  readonly #watchers = new Set<Watcher>();
  readonly #stats = new Map<string, StatsWatch>();
  /** Delivered transition ids -> their created_at (ms), forgotten after the lookback window. */
  readonly #delivered = new Map<string, number>();
  #cursor = 0;
  /** When watching began: the tail's lookback must not replay what committed before anyone watched. */
  #startedAt = 0;
  #timer: NodeJS.Timeout | undefined;
  #unsubscribeFeed: (() => void) | undefined;
  #ticking = false;
  #closed = false;

  constructor(ports: LiveHubPorts, options: LiveHubOptions = {}) {
    this.#ports = ports;
    this.#intervalMs = options.intervalMs ?? 1000;
    this.#lookbackMs = options.lookbackMs ?? 5000;
    this.#statsMaxAgeMs = options.statsMaxAgeMs ?? 10_000;
  }

  /** Calls `listener` with each committed transition matching `filter`, from now on, until the returned function is called. */
  watch(filter: WatchFilter, listener: (transition: TransitionView) => void): () => void {
    const watcher = { filter, listener };
    this.#watchers.add(watcher);
    this.#start();
    return () => {
      this.#watchers.delete(watcher);
      this.#stopIfIdle();
    };
  }

  /** Calls `listener` with the machine's stats now (once read) and again whenever they are re-read. */
  watchStats(machine: string, listener: (stats: MachineStats) => void): () => void {
    let entry = this.#stats.get(machine);
    if (!entry) {
      entry = { listeners: new Set(), readAt: 0, dirty: true };
      this.#stats.set(machine, entry);
    }
    entry.listeners.add(listener);
    if (entry.latest) listener(entry.latest);
    else void this.#readStats(machine, entry);
    this.#start();
    return () => {
      entry.listeners.delete(listener);
      if (entry.listeners.size === 0) this.#stats.delete(machine);
      this.#stopIfIdle();
    };
  }

  /** Stops tailing and drops every watcher. */
  close(): void {
    this.#closed = true;
    this.#watchers.clear();
    this.#stats.clear();
    this.#stopIfIdle();
  }

  #start(): void {
    if (this.#timer || this.#closed) return;
    this.#cursor = this.#ports.now();
    this.#startedAt = this.#cursor;
    this.#unsubscribeFeed = this.#ports.feed.subscribe(({ transition }) => this.#deliver(transition));
    this.#timer = setInterval(() => void this.#tick(), this.#intervalMs);
    this.#timer.unref();
  }

  #stopIfIdle(): void {
    if (this.#watchers.size > 0 || this.#stats.size > 0) return;
    clearInterval(this.#timer);
    this.#timer = undefined;
    this.#unsubscribeFeed?.();
    this.#unsubscribeFeed = undefined;
    this.#delivered.clear();
  }

  #deliver(transition: TransitionView): void {
    if (this.#delivered.has(transition.id)) return;
    const at = Date.parse(transition.createdAt);
    this.#delivered.set(transition.id, at);
    this.#cursor = Math.max(this.#cursor, at);
    const stats = this.#stats.get(transition.machine);
    if (stats) stats.dirty = true;
    for (const { filter, listener } of this.#watchers) {
      if (filter.machine !== undefined && filter.machine !== transition.machine) continue;
      if (filter.entityId !== undefined && filter.entityId !== transition.entityId) continue;
      try {
        listener(transition);
      } catch (error) {
        this.#ports.onError(error);
      }
    }
  }

  async #tick(): Promise<void> {
    if (this.#ticking) return; // a slow database: skip a beat rather than pile up reads
    this.#ticking = true;
    try {
      await this.#tail();
      const now = this.#ports.now();
      await Promise.all(
        [...this.#stats].map(([machine, entry]) =>
          entry.dirty || now - entry.readAt >= this.#statsMaxAgeMs ? this.#readStats(machine, entry) : undefined,
        ),
      );
    } catch (error) {
      this.#ports.onError(error);
    } finally {
      this.#ticking = false;
    }
  }

  async #tail(): Promise<void> {
    const machines = this.#tailedMachines();
    if (machines.length === 0) return;
    let since = this.#cursor - this.#lookbackMs;
    // A full page: read on from its last row at once (the rows of that instant again; delivery drops repeats).
    for (let page = 0; page < maxPagesPerTick; page++) {
      const rows = await this.#ports.tail(machines, new Date(since), tailPage);
      for (const row of rows) if (new Date(row.created_at).getTime() >= this.#startedAt) this.#deliver(toTransitionView({ ...row, snapshot: null, fingerprint: '', state_entered_at: row.created_at }));
      const last = rows.at(-1);
      if (rows.length < tailPage || !last) break;
      since = new Date(last.created_at).getTime();
    }
    // Forget ids that the next tail can no longer return.
    const horizon = this.#cursor - 2 * this.#lookbackMs;
    for (const [id, at] of this.#delivered) if (at < horizon) this.#delivered.delete(id);
  }

  #tailedMachines(): string[] {
    const wanted = new Set(this.#stats.keys());
    for (const { filter } of this.#watchers) {
      if (filter.machine === undefined) return [...this.#ports.machines];
      wanted.add(filter.machine);
    }
    return [...wanted];
  }

  #readStats(machine: string, entry: StatsWatch): Promise<void> {
    entry.reading ??= (async () => {
      entry.dirty = false;
      try {
        const stats = await this.#ports.readMachineStats(machine);
        entry.latest = stats;
        entry.readAt = this.#ports.now();
        for (const listener of entry.listeners) listener(stats);
      } catch (error) {
        entry.dirty = true;
        this.#ports.onError(error);
      } finally {
        entry.reading = undefined;
      }
    })();
    return entry.reading;
  }
}
