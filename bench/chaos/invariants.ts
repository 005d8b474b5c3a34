/**
 * What must hold after the chaos: read back from Postgres and compared with what the clients were told.
 */
import type postgres from 'postgres';
import type { EventObject } from 'xstate';
import { machines } from '../../machines/index.ts';
import type { AnyMachineDefinition } from '../../src/engine/definition.ts';
import { evaluate, evaluateInitial } from '../../src/engine/evaluate.ts';
import type { Ledger } from './traffic.ts';

export type { Ledger } from './traffic.ts';

export interface InvariantResult {
  readonly name: string;
  readonly figure: string;
  readonly ok: boolean;
  readonly details?: readonly string[];
}

interface Facts {
  readonly faults: ReadonlyMap<string, number>;
  /**
   * Faults after which a handler in flight may run again (the window tollgate documents: the effect id is the
   * provider's idempotency key for it): a worker's SIGKILL or SIGSTOP (its jobs are taken over), Redis losing or
   * stalling its jobs (the sweeper or the stalled check hands out a job whose handler is still running), Postgres
   * going away between the handler's end and the recording of its outcome (the job is retried). Each may repeat up
   * to a worker's concurrency of runs, on each worker.
   */
  readonly redeliveryFaults: number;
}

const WORKER_CONCURRENCY = 8;
const WORKERS = 2;

/**
 * Reads everything in ONE repeatable-read snapshot: timers keep firing after the traffic stops (trials of a few
 * seconds), and a check that read the entities, then their histories a moment later, saw a timer's commit in the
 * history but not in the row it had read before (a false drift, seen with seed 2).
 */
export async function checkInvariants(db: postgres.Sql, ledger: Ledger, facts: Facts): Promise<InvariantResult[]> {
  return (await db.begin('isolation level repeatable read read only', (sql) => check(sql, ledger, facts))) as InvariantResult[];
}

async function check(sql: postgres.TransactionSql, ledger: Ledger, facts: Facts): Promise<InvariantResult[]> {
  const results: InvariantResult[] = [];
  const list = (rows: readonly unknown[]) => rows.slice(0, 10).map((r) => JSON.stringify(r));

  // 1. Every acknowledged transition is in the history, under its key (and its id and seq when answered).
  const committed = new Map<string, { id: string; seq: number }>();
  for (const row of await sql<{ entity_id: string; idempotency_key: string; id: string; seq: number }[]>`
    SELECT entity_id, idempotency_key, id::text, seq FROM tollgate.transitions WHERE idempotency_key IS NOT NULL`) {
    committed.set(`${row.entity_id} ${row.idempotency_key}`, { id: row.id, seq: row.seq });
  }
  const lost = ledger.acks.filter((a) => {
    const row = committed.get(`${a.id} ${a.key}`);
    return !row || (a.transitionId !== null && row.id !== a.transitionId) || (a.seq !== null && row.seq !== a.seq);
  });
  results.push({ name: 'acknowledged transitions lost', figure: `${lost.length} of ${ledger.acks.length}`, ok: lost.length === 0, details: list(lost) });

  // 2. No refusal the client was given turned out to have committed.
  const falseRefusals = ledger.refusals.filter((r) => committed.has(`${r.id} ${r.key}`));
  results.push({ name: 'refusals that had committed', figure: `${falseRefusals.length} of ${ledger.refusals.length}`, ok: falseRefusals.length === 0, details: list(falseRefusals) });

  // 3. Versions and seqs gapless: seqs are 1..version for every entity.
  const gaps = await sql`
    SELECT e.machine, e.id, e.version, count(t.*)::int AS transitions, max(t.seq) AS max_seq
    FROM tollgate.entities e LEFT JOIN tollgate.transitions t ON t.machine = e.machine AND t.entity_id = e.id
    GROUP BY e.machine, e.id, e.version HAVING count(t.*) <> e.version OR max(t.seq) <> e.version`;
  const [{ entities = 0, transitions = 0 } = {}] = await sql<{ entities: number; transitions: number }[]>`
    SELECT (SELECT count(*)::int FROM tollgate.entities) AS entities, (SELECT count(*)::int FROM tollgate.transitions) AS transitions`;
  results.push({ name: 'entities with a gap in versions or seqs', figure: `${gaps.length} of ${entities} (${transitions} transitions)`, ok: gaps.length === 0, details: list(gaps) });

  // 4. Replaying each entity's history through its machine gives its stored states and snapshot.
  const drifted = await replayAll(sql);
  results.push({ name: 'entities whose replay drifts from the stored snapshot', figure: `${drifted.length} of ${entities}`, ok: drifted.length === 0, details: drifted.slice(0, 10) });

  // 5. Every effect completed or failed; a failed one with a declared compensation compensated; follow-ups sent.
  const effects = await sql<{ status: string; n: number }[]>`SELECT status, count(*)::int AS n FROM tollgate.effects GROUP BY status`;
  const byStatus = Object.fromEntries(effects.map((e) => [e.status, e.n]));
  const compensations = Object.entries(machines).flatMap(([machine, d]) => Object.keys((d as AnyMachineDefinition).compensations ?? {}).map((type) => `${machine}/${type}`));
  const stuck = await sql`
    SELECT id, machine, type, status, compensated, follow_up_outcome FROM tollgate.effects
    WHERE status NOT IN ('completed', 'failed')
       OR (follow_up IS NOT NULL AND follow_up_outcome IS NULL)
       OR (status = 'failed' AND NOT compensated AND (machine || '/' || type) = ANY(${compensations}))`;
  const total = effects.reduce((sum, e) => sum + e.n, 0);
  results.push({ name: 'effects stuck or failed without compensation', figure: `${stuck.length} of ${total} (${byStatus.completed ?? 0} completed, ${byStatus.failed ?? 0} failed)`, ok: stuck.length === 0, details: list(stuck) });

  // 6. Handler runs per effect id above one (the demo provider counts calls per idempotency key, and charges once):
  // only for runs in flight at a fault that cut a run from its recorded outcome, so at most that many in flight.
  const doubles = await sql<{ key: string; calls: number }[]>`
    SELECT idempotency_key AS key, calls FROM tollgate.demo_charges WHERE calls > 1
    UNION ALL SELECT effect_id, calls FROM tollgate.demo_emails WHERE calls > 1`;
  const allowed = facts.redeliveryFaults * WORKER_CONCURRENCY * WORKERS;
  results.push({
    name: 'effects whose handler ran more than once',
    figure: `${doubles.length} (allowed: in flight at ${facts.redeliveryFaults} faults that can cut a run from its outcome, at most ${allowed})${doubles.length ? `: ${doubles.slice(0, 5).map((d) => `${d.key} x${d.calls}`).join(', ')}` : ''}`,
    ok: doubles.length <= allowed,
    details: list(doubles),
  });

  // 7. Every timer due fired exactly once (one transition under its id as key) or was cancelled (none).
  const timers = await sql<{ id: string; status: string; fired: number }[]>`
    SELECT t.id, t.status, (SELECT count(*)::int FROM tollgate.transitions x WHERE x.machine = t.machine AND x.entity_id = t.entity_id AND x.idempotency_key = t.id) AS fired
    FROM tollgate.timers t WHERE t.due_at < now() - interval '5 seconds'`;
  const wrong = timers.filter((t) => (t.status === 'fired' ? t.fired !== 1 : t.status === 'scheduled' ? true : t.fired !== 0));
  const counts = timers.reduce<Record<string, number>>((acc, t) => ({ ...acc, [t.status]: (acc[t.status] ?? 0) + 1 }), {});
  results.push({ name: 'due timers not fired exactly once or cancelled', figure: `${wrong.length} of ${timers.length} (${Object.entries(counts).map(([s, n]) => `${n} ${s}`).join(', ')})`, ok: wrong.length === 0, details: list(wrong) });

  results.push({ name: 'requests with no final answer', figure: String(ledger.unanswered), ok: true });
  return results;
}

/** Entities whose history, replayed through the pure engine, does not end in the stored state and snapshot. */
async function replayAll(sql: postgres.TransactionSql): Promise<string[]> {
  const drifted: string[] = [];
  const stored = await sql<{ machine: string; id: string; snapshot: unknown; state: string }[]>`SELECT machine, id, snapshot, state FROM tollgate.entities`;
  for (const entity of stored) {
    const definition = (machines as Record<string, AnyMachineDefinition>)[entity.machine];
    if (!definition) continue;
    const history = await sql<{ seq: number; event: EventObject & { input?: unknown }; to_state: string; snapshot: unknown; created_at: Date; actor: string | null }[]>`
      SELECT seq, event, to_state, snapshot, created_at, actor FROM tollgate.transitions WHERE machine = ${entity.machine} AND entity_id = ${entity.id} ORDER BY seq`;
    const target = { machine: entity.machine, entityId: entity.id };
    try {
      const [first, ...rest] = history;
      if (!first) throw new Error('no creation');
      let decision = evaluateInitial(definition.machine, first.event.input, target);
      if (decision.state !== first.to_state) throw new Error(`seq 1: replay '${decision.state}', stored '${first.to_state}'`);
      for (const step of rest) {
        const next = evaluate(definition.machine, decision.snapshot, step.event, target);
        if (next.kind !== 'accepted') throw new Error(`seq ${step.seq}: replay refuses '${step.event.type}' (${next.code})`);
        if (next.state !== step.to_state) throw new Error(`seq ${step.seq}: replay '${next.state}', stored '${step.to_state}'`);
        decision = next;
      }
      const replayed = canonical(decision.persisted) as Record<string, unknown>;
      const kept = canonical(entity.snapshot) as Record<string, unknown>;
      if (JSON.stringify(replayed) !== JSON.stringify(kept)) {
        const keys = [...new Set([...Object.keys(replayed), ...Object.keys(kept)])].filter((k) => JSON.stringify(replayed[k]) !== JSON.stringify(kept[k]));
        const last = history[history.length - 1];
        const rowVsHistory = JSON.stringify(canonical(last?.snapshot)) === JSON.stringify(kept) ? 'the row equals the last history snapshot' : `the row differs from the last history snapshot (${JSON.stringify(canonical(last?.snapshot)).slice(0, 200)})`;
        throw new Error(`${rowVsHistory}; row state '${entity.state}'; history ${history.map((h) => `${h.seq}:${h.event.type}->${h.to_state}@${h.created_at.toISOString()} by ${h.actor}`).join(', ')}; final snapshot differs in ${keys.map((k) => `${k}: replay ${JSON.stringify(replayed[k])?.slice(0, 300)} stored ${JSON.stringify(kept[k])?.slice(0, 300)}`).join('; ')} (history: ${history.map((h) => h.event.type).join(', ')})`);
      }
    } catch (error) {
      drifted.push(`${entity.machine}/${entity.id}: ${(error as Error).message}`);
    }
  }
  return drifted;
}

function canonical(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(canonical);
  if (value && typeof value === 'object') return Object.fromEntries(Object.entries(value).sort(([a], [b]) => a.localeCompare(b)).map(([k, v]) => [k, canonical(v)]));
  return value;
}
