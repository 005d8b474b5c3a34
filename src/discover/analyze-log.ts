/** One row of a legacy system's transition log: an entity moved from one status to another. */
export interface LoggedTransition {
  readonly entityId: string;
  /** The status before; null or absent for the entity's creation. */
  readonly from?: string | null;
  readonly to: string;
  /** What moved it, when the log says. */
  readonly event?: string | null;
  /** When (ISO-8601, or ms since the epoch). */
  readonly at: string | number;
}

/** A transition seen in the log, with how often. */
export interface SeenTransition {
  readonly from: string;
  readonly event: string;
  readonly to: string;
  readonly count: number;
  /** Its share of all transitions between states (creations excluded). */
  readonly share: number;
  /** Some entities that took it. */
  readonly examples: readonly string[];
}

/** What a log says about a lifecycle. */
export interface Discovery {
  readonly entities: number;
  readonly rows: number;
  /** The state most entities start in. */
  readonly initial: string;
  readonly states: readonly string[];
  /** States no entity ever left. */
  readonly finalStates: readonly string[];
  readonly transitions: readonly SeenTransition[];
  /** Time spent in each state before leaving it (ms), p50 and p99, over the stays that ended. */
  readonly dwell: Readonly<Record<string, { readonly stays: number; readonly p50: number; readonly p99: number }>>;
  /** Transitions under `rareShare` of all: likely bugs in the legacy system. */
  readonly rare: readonly SeenTransition[];
  /** Entities whose path breaks the majority's: a rare transition, a start elsewhere, or a row whose from is not where the previous row left it. */
  readonly outliers: ReadonlyArray<{ readonly entityId: string; readonly reason: string }>;
}

/** The event name given to a logged transition without one: `TO_<STATE>`. */
export function impliedEvent(to: string): string {
  return `TO_${to.replace(/[^A-Za-z0-9]+/g, '_').toUpperCase()}`;
}

/**
 * Reads a transition log into the lifecycle it shows: states, transitions with their frequencies, dwell times, rare
 * paths (share under `rareShare`, default 0.1%) and the entities whose path breaks the majority's. Pure.
 */
export function analyzeLog(rows: readonly LoggedTransition[], options: { readonly rareShare?: number } = {}): Discovery {
  const rareShare = options.rareShare ?? 0.001;
  const byEntity = new Map<string, Array<LoggedTransition & { t: number }>>();
  for (const row of rows) {
    const list = byEntity.get(row.entityId) ?? [];
    list.push({ ...row, t: typeof row.at === 'number' ? row.at : Date.parse(row.at) });
    byEntity.set(row.entityId, list);
  }
  const starts = new Map<string, number>();
  const counts = new Map<string, { from: string; event: string; to: string; count: number; examples: string[] }>();
  const stays = new Map<string, number[]>();
  const states = new Set<string>();
  const left = new Set<string>();
  const broken: Array<{ entityId: string; reason: string }> = [];
  const taken = new Map<string, Set<string>>();
  let moves = 0;
  for (const [entityId, list] of byEntity) {
    list.sort((a, b) => a.t - b.t);
    const first = list[0]!;
    const start = first.from ?? first.to;
    starts.set(start, (starts.get(start) ?? 0) + 1);
    let where: string | undefined;
    let since = first.t;
    for (const row of list) {
      states.add(row.to);
      if (row.from === null || row.from === undefined) {
        where = row.to;
        since = row.t;
        continue;
      }
      states.add(row.from);
      if (where !== undefined && row.from !== where) broken.push({ entityId, reason: `a row from '${row.from}' while the previous left it in '${where}'` });
      if (where === row.from) (stays.get(row.from) ?? stays.set(row.from, []).get(row.from)!).push(row.t - since);
      const event = row.event ?? impliedEvent(row.to);
      const key = `${row.from}\u0000${event}\u0000${row.to}`;
      const entry = counts.get(key) ?? { from: row.from, event, to: row.to, count: 0, examples: [] };
      entry.count++;
      if (entry.examples.length < 3) entry.examples.push(entityId);
      counts.set(key, entry);
      (taken.get(key) ?? taken.set(key, new Set()).get(key)!).add(entityId);
      left.add(row.from);
      moves++;
      where = row.to;
      since = row.t;
    }
  }
  const initial = [...starts].sort((a, b) => b[1] - a[1])[0]?.[0] ?? '';
  const transitions = [...counts.values()]
    .map((c) => ({ ...c, share: moves === 0 ? 0 : c.count / moves }))
    .sort((a, b) => b.count - a.count || a.from.localeCompare(b.from) || a.event.localeCompare(b.event));
  const rare = transitions.filter((t) => t.share < rareShare);
  for (const t of rare) for (const id of taken.get(`${t.from}\u0000${t.event}\u0000${t.to}`) ?? []) broken.push({ entityId: id, reason: `took the rare ${t.from} -${t.event}-> ${t.to}` });
  for (const [entityId, list] of byEntity) {
    const start = list[0]!.from ?? list[0]!.to;
    if (start !== initial) broken.push({ entityId, reason: `started in '${start}', most start in '${initial}'` });
  }
  const dwell: Record<string, { stays: number; p50: number; p99: number }> = {};
  for (const [state, list] of stays) {
    list.sort((a, b) => a - b);
    dwell[state] = { stays: list.length, p50: quantile(list, 0.5), p99: quantile(list, 0.99) };
  }
  return {
    entities: byEntity.size,
    rows: rows.length,
    initial,
    states: [...states].sort(),
    finalStates: [...states].filter((s) => !left.has(s)).sort(),
    transitions,
    dwell,
    rare,
    outliers: broken,
  };
}

function quantile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)]!;
}
