import type { Freeze, FreezeScope } from './rows.ts';
import { quoteIdent, type SqlClient } from './sql-client.ts';

/** What every process applies now: the active policy version per machine and the freezes not lifted. */
export interface GovernanceRows {
  readonly policies: ReadonlyMap<string, string>;
  readonly freezes: readonly Freeze[];
  /** The mode each machine switched at run time runs in (`shadow` | `enforce`; store/shadow-store.ts writes them). */
  readonly modes: ReadonlyMap<string, string>;
}

/** A row of `policy_switches`. */
export interface PolicySwitchRow {
  readonly id: number;
  readonly machine: string;
  readonly from_version: string | null;
  readonly to_version: string;
  readonly actor: string;
  readonly reason: string;
  readonly at: Date;
}

/** A row of `active_policies`. */
export interface ActivePolicyRow {
  readonly machine: string;
  readonly version: string;
  readonly activated_at: Date;
  readonly activated_by: string;
  readonly reason: string;
}

/** A row of `freezes`. */
export interface FreezeRow {
  readonly id: string;
  readonly machine: string;
  readonly events: string[] | null;
  readonly states: string[] | null;
  readonly exceptions: string[] | null;
  readonly reason: string;
  readonly until: Date | null;
  readonly created_by: string;
  readonly created_at: Date;
  readonly lifted_at: Date | null;
  readonly lifted_by: string | null;
  readonly lift_reason: string | null;
}

/** A freeze to write. */
export interface NewFreeze extends FreezeScope {
  readonly until: Date | null;
  readonly actor: string;
  readonly at: Date;
}

/** The statements of policies and freezes over one schema. Every change is followed by a NOTIFY (after its commit). */
export interface GovernanceStore {
  /** The NOTIFY channel every process listens on. */
  readonly channel: string;
  read(): Promise<GovernanceRows>;
  /** Makes `version` the active policy of each machine that has none yet (recorded as a switch from nothing). */
  ensureActive(initial: ReadonlyArray<{ machine: string; version: string }>, actor: string, at: Date): Promise<void>;
  activate(machine: string, version: string, actor: string, reason: string, at: Date): Promise<PolicySwitchRow>;
  activePolicies(): Promise<ActivePolicyRow[]>;
  switches(machine: string | undefined, limit: number): Promise<PolicySwitchRow[]>;
  createFreeze(freeze: NewFreeze): Promise<FreezeRow>;
  /** Lifts a freeze not lifted yet; undefined if there is no such freeze, the row as it is if it was lifted already. */
  liftFreeze(id: string, actor: string, reason: string, at: Date): Promise<FreezeRow | undefined>;
  freezes(includeLifted: boolean): Promise<FreezeRow[]>;
}

const asList = (value: readonly string[] | null) => (value === null ? null : JSON.stringify(value));

/** The governance statements for schema `schemaName`. */
export function governanceStore(client: SqlClient, schemaName: string): GovernanceStore {
  const s = quoteIdent(schemaName);
  const channel = `${schemaName}_governance`;
  // The NOTIFY goes out after the change committed (a notification inside it would hold the notify-queue lock
  // through the commit, outbox-notifier.ts). Lost, it costs the readers' poll (at most 1 s), never the change.
  const notify = () => client.query(`SELECT pg_notify($1::text, '')`, [channel]).then(() => {}, () => {});
  return {
    channel,
    async read() {
      const [row] = await client.query<{ policies: Array<{ machine: string; version: string }>; freezes: FreezeRow[]; modes: Array<{ machine: string; mode: string }> }>(
        `SELECT (SELECT coalesce(json_agg(json_build_object('machine', machine, 'version', version)), '[]'::json) FROM ${s}.active_policies) AS policies,
                (SELECT coalesce(json_agg(f), '[]'::json) FROM ${s}.freezes f WHERE lifted_at IS NULL) AS freezes,
                (SELECT coalesce(json_agg(json_build_object('machine', machine, 'mode', mode)), '[]'::json) FROM ${s}.machine_modes) AS modes`,
      );
      return {
        policies: new Map((row?.policies ?? []).map((p) => [p.machine, p.version])),
        modes: new Map((row?.modes ?? []).map((m) => [m.machine, m.mode])),
        freezes: (row?.freezes ?? []).map((f) => ({
          id: f.id,
          machine: f.machine,
          events: f.events,
          states: f.states,
          except: f.exceptions,
          reason: f.reason,
          until: f.until === null ? null : new Date(f.until).getTime(),
        })),
      };
    },
    async ensureActive(initial, actor, at) {
      if (initial.length === 0) return;
      const rows = await client.query(
        `WITH wanted AS (SELECT * FROM jsonb_to_recordset($1::text::jsonb) AS w(machine text, version text)),
         added AS (
           INSERT INTO ${s}.active_policies (machine, version, activated_at, activated_by, reason)
           SELECT machine, version, $3::timestamptz, $2::text, 'first registered' FROM wanted
           ON CONFLICT (machine) DO NOTHING
           RETURNING machine, version)
         INSERT INTO ${s}.policy_switches (machine, from_version, to_version, actor, reason, at)
         SELECT machine, NULL, version, $2::text, 'first registered', $3::timestamptz FROM added RETURNING id`,
        [JSON.stringify(initial), actor, at],
      );
      if (rows.length > 0) await notify();
    },
    async activate(machine, version, actor, reason, at) {
      const row = await client.transaction(async (tx) => {
        const [before] = await tx.query<{ version: string }>(`SELECT version FROM ${s}.active_policies WHERE machine = $1::text FOR UPDATE`, [machine]);
        await tx.query(
          `INSERT INTO ${s}.active_policies (machine, version, activated_at, activated_by, reason) VALUES ($1::text, $2::text, $3::timestamptz, $4::text, $5::text)
           ON CONFLICT (machine) DO UPDATE SET version = EXCLUDED.version, activated_at = EXCLUDED.activated_at,
             activated_by = EXCLUDED.activated_by, reason = EXCLUDED.reason`,
          [machine, version, at, actor, reason],
        );
        const [inserted] = await tx.query<PolicySwitchRow>(
          `INSERT INTO ${s}.policy_switches (machine, from_version, to_version, actor, reason, at)
           VALUES ($1::text, $2::text, $3::text, $4::text, $5::text, $6::timestamptz) RETURNING id::int AS id, machine, from_version, to_version, actor, reason, at`,
          [machine, before?.version ?? null, version, actor, reason, at],
        );
        return inserted as PolicySwitchRow;
      });
      await notify();
      return row;
    },
    activePolicies: () => client.query<ActivePolicyRow>(`SELECT * FROM ${s}.active_policies ORDER BY machine`),
    switches: (machine, limit) =>
      client.query<PolicySwitchRow>(
        `SELECT id::int AS id, machine, from_version, to_version, actor, reason, at FROM ${s}.policy_switches
         WHERE $1::text IS NULL OR machine = $1::text ORDER BY id DESC LIMIT $2::int`,
        [machine ?? null, limit],
      ),
    async createFreeze(f) {
      const [row] = await client.query<FreezeRow>(
        `INSERT INTO ${s}.freezes (id, machine, events, states, exceptions, reason, until, created_by, created_at)
         VALUES ($1::text, $2::text, $3::text::jsonb, $4::text::jsonb, $5::text::jsonb, $6::text, $7::timestamptz, $8::text, $9::timestamptz) RETURNING *`,
        [f.id, f.machine, asList(f.events), asList(f.states), asList(f.except), f.reason, f.until, f.actor, f.at],
      );
      await notify();
      return row as FreezeRow;
    },
    async liftFreeze(id, actor, reason, at) {
      const [lifted] = await client.query<FreezeRow>(
        `UPDATE ${s}.freezes SET lifted_at = $2::timestamptz, lifted_by = $3::text, lift_reason = $4::text
         WHERE id = $1::text AND lifted_at IS NULL RETURNING *`,
        [id, at, actor, reason],
      );
      if (lifted) {
        await notify();
        return lifted;
      }
      return (await client.query<FreezeRow>(`SELECT * FROM ${s}.freezes WHERE id = $1::text`, [id]))[0];
    },
    freezes: (includeLifted) =>
      client.query<FreezeRow>(`SELECT * FROM ${s}.freezes WHERE $1::boolean OR lifted_at IS NULL ORDER BY created_at, id`, [includeLifted]),
  };
}
