import { snapshotXmax, type TailPage } from '../store/history-tail.ts';
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
  /**
   * The history tail: transitions of these machines written by transactions `sinceXid` or later, but none of a
   * transaction that had committed in snapshot `committedIn`.
   */
  tail(machines: readonly string[], sinceXid: string, limit: number, committedIn?: string | null): Promise<TailPage>;
  /**
   * Where tailing starts: the oldest transaction running now, and the snapshot of what had committed (history
   * written before is not replayed, even when an old transaction elsewhere keeps the horizon far back).
   */
  horizon(): Promise<{ readonly xid: string; readonly snapshot: string }>;
  readMachineStats(machine: string): Promise<MachineStats>;
  readonly machines: readonly string[];
  now(): number;
  onError(error: unknown): void;
}

/** Options of the hub; the defaults are what the inspector's "within 2 s" rests on. */
export interface LiveHubOptions {
  /** How often the history is tailed and stale stats re-read while anyone watches. Default 1,000 ms. */
  readonly intervalMs?: number;
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
/** A commit of this process the tail never returned (another machine's, say) is forgotten after this long. */
const forgetLocalAfterMs = 60_000;

/**
 * One per runtime: the live view of commits for every SSE stream, `waitFor` and inspector page of the process.
 * Commits of this process arrive from the commit feed at once; other processes' commits from ONE history tail per
 * interval, shared by every watcher (DESIGN.md "Live updates": no NOTIFY inside the commit), read in the order of
 * the transactions that wrote them from the oldest one still running, so a late commit is read late, not missed.
 * A transition is delivered once: ids delivered are remembered until the tail has moved past them. Machine stats are read at most
 * once per interval per machine (when commits were seen, or when older than `statsMaxAgeMs`) and shared by all
 * their watchers, so a hundred open pages cost what one costs. Nothing runs while nobody watches.
 */
export class LiveHub {
  readonly #ports: LiveHubPorts;
  readonly #intervalMs: number;
  readonly #statsMaxAgeMs: number;
  readonly #watchers = new Set<Watcher>();
  readonly #stats = new Map<string, StatsWatch>();
  /** Delivered transition ids -> their transaction (once the tail saw them) and when (ms). */
  readonly #delivered = new Map<string, { xid: bigint | undefined; at: number }>();
  /** The next tail reads transactions from this one on; undefined until the first horizon is read. */
  #sinceXid: string | undefined;
  /** What had committed when tailing started; dropped once the horizon has passed all it can see. */
  #startSnapshot: string | null = null;
  #timer: NodeJS.Timeout | undefined;
  #unsubscribeFeed: (() => void) | undefined;
  #ticking = false;
  #starting: Promise<void> | undefined;
  #closed = false;

  constructor(ports: LiveHubPorts, options: LiveHubOptions = {}) {
    this.#ports = ports;
    this.#intervalMs = options.intervalMs ?? 1000;
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
    // Where tailing starts: the oldest transaction running now (what committed before anyone watched is not
    // replayed). Read at once, so a commit made right after the first watch is not taken for an old one.
    this.#sinceXid = undefined;
    this.#starting = this.#ports.horizon().then(
      (start) => this.#startAt(start),
      (error: unknown) => this.#ports.onError(error),
    );    this.#unsubscribeFeed = this.#ports.feed.subscribe(({ transition }) => this.#deliver(transition));
    this.#timer = setInterval(() => void this.#tick(), this.#intervalMs);
    this.#timer.unref();
  }

  #startAt(start: { readonly xid: string; readonly snapshot: string }): void {
    if (this.#sinceXid !== undefined) return;
    this.#sinceXid = start.xid;
    this.#startSnapshot = start.snapshot;
  }

  #stopIfIdle(): void {
    if (this.#watchers.size > 0 || this.#stats.size > 0) return;
    clearInterval(this.#timer);
    this.#timer = undefined;
    this.#unsubscribeFeed?.();
    this.#unsubscribeFeed = undefined;
    this.#delivered.clear();
  }

  #deliver(transition: TransitionView, xid?: bigint): void {
    const known = this.#delivered.get(transition.id);
    if (known) {
      known.xid ??= xid;
      return;
    }
    this.#delivered.set(transition.id, { xid, at: this.#ports.now() });
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
    await this.#starting;
    if (this.#sinceXid === undefined) {
      this.#startAt(await this.#ports.horizon());
      return;
    }
    for (let page = 0; page < maxPagesPerTick; page++) {
      const { rows, horizon } = await this.#ports.tail(machines, this.#sinceXid, tailPage, this.#startSnapshot);
      for (const row of rows) this.#deliver(toTransitionView({ ...row, snapshot: null, fingerprint: '', state_entered_at: row.created_at }), BigInt(row.xid));
      const last = rows.at(-1);
      if (rows.length < tailPage || !last) {
        // Every transaction older than the horizon had committed: all its rows were in this read.
        if (BigInt(horizon) > BigInt(this.#sinceXid)) this.#sinceXid = horizon;
        if (this.#startSnapshot !== null && BigInt(this.#sinceXid) >= snapshotXmax(this.#startSnapshot)) this.#startSnapshot = null;
        break;
      }
      this.#sinceXid = last.xid; // a full page: read on from its last transaction (repeats are dropped)
    }
    const since = BigInt(this.#sinceXid);
    const stale = this.#ports.now() - forgetLocalAfterMs;
    for (const [id, seen] of this.#delivered) {
      if (seen.xid === undefined ? seen.at < stale : seen.xid < since) this.#delivered.delete(id);
    }
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
