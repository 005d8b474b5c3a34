/**
 * What every system of the peers bench shares: the outside provider (charges and emails recorded by idempotency
 * key in their own database, as a payment API would), the signals a lifecycle waits on (handler started,
 * follow-up committed, email sent), CPU readings of processes and Postgres backends, and the lifecycle itself.
 */
import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import postgres from 'postgres';

/** What each system under test provides to the lifecycle driver. */
export interface System {
  readonly name: string;
  /** Creates subscription `id` (the lifecycle's first event). */
  create(id: string, key: string): Promise<void>;
  /** Sends `event` to `id` with idempotency key `key`; resolves when the system has accepted (committed) it. */
  send(id: string, event: { type: string; [k: string]: unknown }, key: string): Promise<void>;
  /** What the system answers to an event the machine forbids in the current state (a short description). */
  illegal(id: string): Promise<string>;
  /** CPU seconds used so far by the system's own processes outside this one (servers, Postgres backends). */
  serverCpuSeconds(): Promise<number>;
  close(): Promise<void>;
}

/** A point in time on this process's clock, in ms. */
export const now = () => performance.now();

/**
 * One-shot signals keyed by name (`charge:<system>:<id>`): the first fire wins, later fires are ignored (a retried
 * handler), a wait that comes after the fire resolves at once with the fire's time.
 */
export class Signals {
  readonly #fired = new Map<string, number>();
  readonly #waiting = new Map<string, (at: number) => void>();

  fire(key: string, at = now()): void {
    if (this.#fired.has(key)) return;
    this.#fired.set(key, at);
    const resolve = this.#waiting.get(key);
    if (resolve) {
      this.#waiting.delete(key);
      resolve(at);
    }
  }

  wait(key: string, timeoutMs = 60_000): Promise<number> {
    const at = this.#fired.get(key);
    if (at !== undefined) {
      this.#fired.delete(key);
      return Promise.resolve(at);
    }
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#waiting.delete(key);
        reject(new Error(`no ${key} within ${timeoutMs} ms`));
      }, timeoutMs);
      this.#waiting.set(key, (t) => {
        clearTimeout(timer);
        this.#fired.delete(key);
        resolve(t);
      });
    });
  }
}

export const signals = new Signals();

/**
 * The outside world every system's handlers call: a provider that records one charge (or email) per idempotency
 * key, counting calls, in its own database (not part of any system; its backends are not counted for any).
 * A real provider would be remote; here it is a table, the same for all.
 */
export class Provider {
  readonly sql: postgres.Sql;
  constructor(url: string) {
    this.sql = postgres(url, { max: 8, onnotice: () => {} });
  }

  async migrate(): Promise<void> {
    await this.sql.unsafe(`
      CREATE TABLE IF NOT EXISTS charges (system text NOT NULL, idempotency_key text NOT NULL, entity_id text NOT NULL, calls int NOT NULL DEFAULT 1, PRIMARY KEY (system, idempotency_key));
      CREATE TABLE IF NOT EXISTS emails (system text NOT NULL, idempotency_key text NOT NULL, entity_id text NOT NULL, calls int NOT NULL DEFAULT 1, PRIMARY KEY (system, idempotency_key));`);
  }

  /** Charges once per (system, key); fires `charge:<system>:<entity>` when the handler reaches the provider. */
  async charge(system: string, key: string, entityId: string): Promise<string> {
    signals.fire(`charge:${system}:${entityId}`);
    await this.sql.unsafe(
      `INSERT INTO charges (system, idempotency_key, entity_id) VALUES ($1, $2, $3) ON CONFLICT (system, idempotency_key) DO UPDATE SET calls = charges.calls + 1`,
      [system, key, entityId],
      { prepare: true },
    );
    return `ch_${key}`;
  }

  async email(system: string, key: string, entityId: string): Promise<void> {
    await this.sql.unsafe(
      `INSERT INTO emails (system, idempotency_key, entity_id) VALUES ($1, $2, $3) ON CONFLICT (system, idempotency_key) DO UPDATE SET calls = emails.calls + 1`,
      [system, key, entityId],
      { prepare: true },
    );
    signals.fire(`email:${system}:${entityId}`);
  }

  /** Per system: entities charged, charge rows (one per entity when nothing was charged twice), calls beyond the first. */
  async chargesOf(system: string, entityPrefix: string) {
    const [row] = await this.sql<Array<{ entities: number; rows: number; extra: number; emails: number }>>`
      SELECT (SELECT count(DISTINCT entity_id)::int FROM charges WHERE system = ${system} AND entity_id LIKE ${entityPrefix + '%'}) AS entities,
             (SELECT count(*)::int FROM charges WHERE system = ${system} AND entity_id LIKE ${entityPrefix + '%'}) AS rows,
             (SELECT coalesce(sum(calls - 1), 0)::int FROM charges WHERE system = ${system} AND entity_id LIKE ${entityPrefix + '%'}) AS extra,
             (SELECT count(*)::int FROM emails WHERE system = ${system} AND entity_id LIKE ${entityPrefix + '%'}) AS emails`;
    return row!;
  }

  close(): Promise<void> {
    return this.sql.end();
  }
}

/** CPU seconds (user + system) a process has used so far, from /proc (NaN when it is gone or there is no /proc). */
export function processCpuSeconds(pid: number | undefined): number {
  if (pid === undefined) return NaN;
  try {
    const after = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    // utime, stime, cutime, cstime: fields 14-17 of stat, 12-15 after the command name; 100 ticks per second.
    return (Number(after[11]) + Number(after[12]) + Number(after[13]) + Number(after[14])) / 100;
  } catch {
    return NaN;
  }
}

/** CPU seconds used so far by all Postgres backends connected to the databases `names` (read from /proc). */
export async function backendsCpuSeconds(monitor: postgres.Sql, names: readonly string[]): Promise<Map<number, number>> {
  const rows = await monitor<Array<{ pid: number }>>`SELECT pid FROM pg_stat_activity WHERE datname = ANY(${names as string[]}) AND pid <> pg_backend_pid()`;
  const seconds = new Map<number, number>();
  for (const { pid } of rows) {
    const s = processCpuSeconds(pid);
    if (Number.isFinite(s)) seconds.set(pid, s);
  }
  return seconds;
}

/** The load average (1, 5, 15 minutes) as printed. */
export function loadAverage(): string {
  try {
    return readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
  } catch {
    return 'n/a';
  }
}

/** What one lifecycle measured, in ms. */
export interface LifecycleTimes {
  /** create, UPGRADE, CANCEL: call -> accepted. */
  accepted: [number, number, number];
  /** UPGRADE accepted -> the charge handler reached the provider (0 when it started before the answer arrived). */
  handlerStarted: number;
  /** UPGRADE accepted -> PAYMENT_SUCCEEDED committed. */
  followUp: number;
}

/**
 * One subscription's lifecycle on `system`: create, UPGRADE (one charge effect; its handler's follow-up
 * PAYMENT_SUCCEEDED), then CANCEL once the follow-up is committed (one email effect), done when the email is sent.
 */
export async function lifecycle(system: System, id: string): Promise<LifecycleTimes> {
  const t0 = now();
  await system.create(id, `create-${id}`);
  const t1 = now();
  await system.send(id, { type: 'UPGRADE', paymentMethodId: 'pm_1' }, `upgrade-${id}`);
  const accepted = now();
  const started = await signals.wait(`charge:${system.name}:${id}`);
  const paid = await signals.wait(`paid:${system.name}:${id}`);
  const t2 = now();
  await system.send(id, { type: 'CANCEL' }, `cancel-${id}`);
  const t3 = now();
  await signals.wait(`email:${system.name}:${id}`);
  return { accepted: [t1 - t0, accepted - t1, t3 - t2], handlerStarted: Math.max(0, started - accepted), followUp: Math.max(0, paid - accepted) };
}

/**
 * The same lifecycle with every request delivered twice at once with the same key (a client retrying on a
 * timeout): the provider must see one charge and one email per entity.
 */
export async function duplicatedLifecycle(system: System, id: string): Promise<void> {
  await Promise.all([system.create(id, `create-${id}`), system.create(id, `create-${id}`)]);
  const upgrade = { type: 'UPGRADE', paymentMethodId: 'pm_1' };
  await Promise.all([system.send(id, upgrade, `upgrade-${id}`), system.send(id, upgrade, `upgrade-${id}`)]);
  await signals.wait(`paid:${system.name}:${id}`);
  await Promise.all([system.send(id, { type: 'CANCEL' }, `cancel-${id}`), system.send(id, { type: 'CANCEL' }, `cancel-${id}`)]);
  await signals.wait(`email:${system.name}:${id}`);
  await signals.wait(`charge:${system.name}:${id}`);
}
