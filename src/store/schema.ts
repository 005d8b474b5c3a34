import { sql } from 'drizzle-orm';
import {
  bigint,
  bigserial,
  boolean,
  index,
  integer,
  jsonb,
  pgSchema,
  primaryKey,
  text,
  timestamp,
  uniqueIndex,
  uuid,
} from 'drizzle-orm/pg-core';

/**
 * The tables in a Postgres schema named `name`. drizzle-kit generates the migrations from the default
 * (`tollgate`); `migrate()` rewrites the schema name when another is configured.
 */
export function createTables(name: string) {
  const schema = pgSchema(name);
  const ts = (column: string) => timestamp(column, { withTimezone: true, mode: 'date' });

  const entities = schema.table(
    'entities',
    {
      machine: text('machine').notNull(),
      id: text('id').notNull(),
      machineVersion: integer('machine_version').notNull(),
      snapshot: jsonb('snapshot').notNull(),
      /** Leaf state paths, sorted, comma-separated (see engine/state-value.ts). */
      state: text('state').notNull(),
      /** Optimistic lock: the seq of the entity's last transition. */
      version: integer('version').notNull(),
      stateEnteredAt: ts('state_entered_at').notNull(),
      createdAt: ts('created_at').notNull(),
      updatedAt: ts('updated_at').notNull(),
    },
    (t) => [
      primaryKey({ columns: [t.machine, t.id] }),
      // With the entry time: the entities of a state over its dwell limit are one range of it (store/stuck-entities.ts).
      index('entities_machine_state_entered_idx').on(t.machine, t.state, t.stateEnteredAt),
    ],
  );

  const transitions = schema.table(
    'transitions',
    {
      id: uuid('id').primaryKey(),
      machine: text('machine').notNull(),
      entityId: text('entity_id').notNull(),
      seq: integer('seq').notNull(),
      eventType: text('event_type').notNull(),
      event: jsonb('event').notNull(),
      fromState: text('from_state'),
      toState: text('to_state').notNull(),
      /** The persisted snapshot after this transition: what an idempotent replay returns. */
      snapshot: jsonb('snapshot').notNull(),
      stateEnteredAt: ts('state_entered_at').notNull(),
      idempotencyKey: text('idempotency_key'),
      fingerprint: text('fingerprint').notNull(),
      machineVersion: integer('machine_version').notNull(),
      policyVersion: text('policy_version'),
      actor: text('actor'),
      createdAt: ts('created_at').notNull(),
      /**
       * The id of the transaction that committed the row (`pg_current_xact_id()` as a number), set by the column's
       * default: the commit statement does not name it. The lifecycle feed reads history in this order, only below
       * the oldest transaction still running, so a row that commits late is never passed over (src/store/consumer-store.ts, `read`).
       */
      xid: bigint('xid', { mode: 'bigint' }).notNull().default(sql`(pg_current_xact_id()::text)::bigint`),
    },
    // No other index may lead with `machine`: while the table is small every such index costs the same to the
    // planner, and the gate's cached generic plans (made on the first commits) would keep answering its lookups by
    // entity and key with whichever won the tie, reading every transition of the machine per commit once the table
    // has grown (test/store/plan-stability.test.ts).
    (t) => [
      uniqueIndex('transitions_entity_seq_uq').on(t.machine, t.entityId, t.seq),
      uniqueIndex('transitions_entity_key_uq').on(t.machine, t.entityId, t.idempotencyKey),
      // BRIN: history is append-only, so xid follows the physical order; a BRIN index costs next to nothing per
      // insert (a btree would be one more index write per commit) and the feed's reads hit its unsummarized tail.
      index('transitions_xid_brin').using('brin', t.xid),
    ],
  );

  const effects = schema.table(
    'effects',
    {
      /** `<transition id>-e<index>`: stable across retries; the idempotency key handed to outside providers. */
      id: text('id').primaryKey(),
      transitionId: uuid('transition_id').notNull(),
      machine: text('machine').notNull(),
      entityId: text('entity_id').notNull(),
      seq: integer('seq').notNull(),
      idx: integer('idx').notNull(),
      type: text('type').notNull(),
      params: jsonb('params').notNull(),
      /** pending | dispatched | completed | failed */
      status: text('status').notNull().default('pending'),
      attempts: integer('attempts').notNull().default(0),
      result: jsonb('result'),
      error: jsonb('error'),
      compensated: boolean('compensated').notNull().default(false),
      createdAt: ts('created_at').notNull(),
      dispatchedAt: ts('dispatched_at'),
      completedAt: ts('completed_at'),
      /** The event the worker sends through the gate after the handler (follow-up or compensation), keyed by the effect id. */
      followUp: jsonb('follow_up'),
      /** What the gate answered for `follow_up` (committed, replayed, or the rejection code); null while unsent. */
      followUpOutcome: jsonb('follow_up_outcome'),
      /** How many times an operator sent the failed effect back to pending; its job id carries it (effect-job.ts). */
      retries: integer('retries').notNull().default(0),
      /** Each such retry: who, why, when, and the failure it replaced (`[{ by, reason, at, attempts, error, followUp, followUpOutcome }]`). */
      retryLog: jsonb('retry_log').notNull().default(sql`'[]'::jsonb`),
    },
    (t) => [
      index('effects_entity_idx').on(t.machine, t.entityId, t.seq),
      index('effects_pending_idx').on(t.createdAt).where(sql`status = 'pending'`),
      index('effects_dispatched_idx').on(t.dispatchedAt).where(sql`status = 'dispatched'`),
      index('effects_follow_up_idx').on(t.completedAt).where(sql`follow_up IS NOT NULL AND follow_up_outcome IS NULL`),
      // The inspector's effect statuses per state: only unsettled and failed effects, which stay few.
      index('effects_open_idx').on(t.machine, t.status).where(sql`status <> 'completed'`),
    ],
  );

  const timers = schema.table(
    'timers',
    {
      /** `<transition id>-t<index>`. */
      id: text('id').primaryKey(),
      machine: text('machine').notNull(),
      entityId: text('entity_id').notNull(),
      transitionId: uuid('transition_id').notNull(),
      /** XState's id of the delayed event; what a later `xstate.cancel` names. */
      sendId: text('send_id').notNull(),
      event: jsonb('event').notNull(),
      dueAt: ts('due_at').notNull(),
      /** scheduled | fired | cancelled | stale */
      status: text('status').notNull().default('scheduled'),
      createdAt: ts('created_at').notNull(),
      armedAt: ts('armed_at'),
      settledAt: ts('settled_at'),
    },
    (t) => [
      index('timers_entity_idx').on(t.machine, t.entityId, t.sendId),
      index('timers_due_idx').on(t.dueAt).where(sql`status = 'scheduled'`),
    ],
  );

  const rejections = schema.table(
    'rejections',
    {
      id: bigserial('id', { mode: 'number' }).primaryKey(),
      machine: text('machine').notNull(),
      entityId: text('entity_id').notNull(),
      state: text('state'),
      eventType: text('event_type').notNull(),
      event: jsonb('event'),
      code: text('code').notNull(),
      message: text('message').notNull(),
      idempotencyKey: text('idempotency_key'),
      actor: text('actor'),
      at: ts('at').notNull(),
    },
    (t) => [
      index('rejections_entity_idx').on(t.machine, t.entityId),
      index('rejections_at_idx').on(t.at),
      // The inspector's refusals of the last minutes per (state, event) of one machine.
      index('rejections_machine_at_idx').on(t.machine, t.at),
    ],
  );

  /**
   * Named durable subscriptions to the lifecycle feed (src/feed/): where to deliver, what to select, and the cursor:
   * every transition ordered at or before `(cursor_xid, cursor_seq, cursor_id)` was delivered (or dead-lettered).
   */
  const feedConsumers = schema.table('feed_consumers', {
    name: text('name').primaryKey(),
    /** webhook | nats | in_process */
    sink: text('sink').notNull(),
    /** Webhook URL or NATS server URL; null for in_process. */
    target: text('target'),
    /** Webhook signing secret (HMAC-SHA256); null for the other sinks. */
    secret: text('secret'),
    /** Only these machines / event types / states (null: all). */
    machines: jsonb('machines'),
    events: jsonb('events'),
    states: jsonb('states'),
    withContext: boolean('with_context').notNull().default(false),
    /** Delivery attempts before an event is dead-lettered. */
    maxAttempts: integer('max_attempts').notNull().default(10),
    /** active | paused */
    status: text('status').notNull().default('active'),
    cursorXid: bigint('cursor_xid', { mode: 'bigint' }).notNull(),
    cursorSeq: integer('cursor_seq').notNull().default(0),
    cursorId: uuid('cursor_id').notNull().default(sql`'00000000-0000-0000-0000-000000000000'`),
    /** Which feed process delivers for it, until when; the token fences a process that lost the lease. */
    leaseOwner: text('lease_owner'),
    leaseToken: text('lease_token'),
    leaseUntil: ts('lease_until'),
    delivered: bigint('delivered', { mode: 'number' }).notNull().default(0),
    retried: bigint('retried', { mode: 'number' }).notNull().default(0),
    deadLettered: bigint('dead_lettered', { mode: 'number' }).notNull().default(0),
    lastDeliveredAt: ts('last_delivered_at'),
    lastError: text('last_error'),
    createdAt: ts('created_at').notNull(),
    updatedAt: ts('updated_at').notNull(),
  });

  /**
   * Events a consumer could not deliver after its attempts, and the events of the same entity behind them (held
   * back so the entity's order holds), until `consumers redeliver`.
   */
  const feedDeadLetters = schema.table(
    'feed_dead_letters',
    {
      consumer: text('consumer').notNull(),
      transitionId: uuid('transition_id').notNull(),
      machine: text('machine').notNull(),
      entityId: text('entity_id').notNull(),
      seq: integer('seq').notNull(),
      attempts: integer('attempts').notNull(),
      /** The last failure, or `held behind <transition id>`. */
      error: text('error').notNull(),
      /** dead | redeliver (asked for by `consumers redeliver`, taken by the consumer's feed process) */
      status: text('status').notNull().default('dead'),
      at: ts('at').notNull(),
    },
    (t) => [
      primaryKey({ columns: [t.consumer, t.transitionId] }),
      index('feed_dead_letters_entity_idx').on(t.consumer, t.machine, t.entityId, t.seq),
    ],
  );

  /** Feed processes alive now (a heartbeat each), so they can split the consumers evenly. */
  const feedProcesses = schema.table('feed_processes', {
    id: text('id').primaryKey(),
    seenAt: ts('seen_at').notNull(),
  });

  /** The policy version each machine applies now (policy/registry.ts): switched at run time, one row per machine. */
  const activePolicies = schema.table('active_policies', {
    machine: text('machine').primaryKey(),
    version: text('version').notNull(),
    activatedAt: ts('activated_at').notNull(),
    activatedBy: text('activated_by').notNull(),
    reason: text('reason').notNull(),
  });

  /** Every policy switch: who, when, why, from, to. Append-only by convention (nothing updates it). */
  const policySwitches = schema.table(
    'policy_switches',
    {
      id: bigserial('id', { mode: 'number' }).primaryKey(),
      machine: text('machine').notNull(),
      fromVersion: text('from_version'),
      toVersion: text('to_version').notNull(),
      actor: text('actor').notNull(),
      reason: text('reason').notNull(),
      at: ts('at').notNull(),
    },
    (t) => [index('policy_switches_machine_idx').on(t.machine, t.id)],
  );

  /**
   * The mode a machine runs in now, when it was switched at run time (runtime/shadow.ts): `shadow` (the legacy system
   * writes; tollgate observes) or `enforce`. No row: the definition's `mode` (default `enforce`).
   */
  const machineModes = schema.table('machine_modes', {
    machine: text('machine').primaryKey(),
    mode: text('mode').notNull(),
    switchedAt: ts('switched_at').notNull(),
    switchedBy: text('switched_by').notNull(),
    reason: text('reason').notNull(),
  });

  /** Every mode switch: who, when, why, from, to. Append-only by convention, like `policy_switches`. */
  const modeSwitches = schema.table(
    'mode_switches',
    {
      id: bigserial('id', { mode: 'number' }).primaryKey(),
      machine: text('machine').notNull(),
      fromMode: text('from_mode').notNull(),
      toMode: text('to_mode').notNull(),
      actor: text('actor').notNull(),
      reason: text('reason').notNull(),
      at: ts('at').notNull(),
    },
    (t) => [index('mode_switches_machine_idx').on(t.machine, t.id)],
  );

  /**
   * Transitions a legacy system reported while the machine was in shadow mode (`tg.observe`), each with tollgate's
   * verdict: legal | illegal | diverged | unknown-entity. Read by `tollgate shadow-report`.
   */
  const shadowObservations = schema.table(
    'shadow_observations',
    {
      id: bigserial('id', { mode: 'number' }).primaryKey(),
      machine: text('machine').notNull(),
      entityId: text('entity_id').notNull(),
      /** The caller's observation key: a second report under it is answered from this row. */
      observationKey: text('observation_key'),
      fingerprint: text('fingerprint').notNull(),
      eventType: text('event_type').notNull(),
      event: jsonb('event').notNull(),
      /** Where the legacy system says the entity was (null: not said). */
      fromState: text('from_state'),
      /** Where the legacy system put it. */
      toState: text('to_state').notNull(),
      /** Where tollgate's mirror was (null: no mirror, unknown-entity). */
      mirrorState: text('mirror_state'),
      /** Where the machine would have gone from the mirror (null: it would have refused, or no mirror). */
      expectedState: text('expected_state'),
      verdict: text('verdict').notNull(),
      /** The code tollgate would have refused with (illegal), or null. */
      code: text('code'),
      reason: text('reason'),
      observedAt: ts('observed_at').notNull(),
      recordedAt: ts('recorded_at').notNull(),
    },
    (t) => [
      uniqueIndex('shadow_observations_key_uq').on(t.machine, t.entityId, t.observationKey),
      index('shadow_observations_report_idx').on(t.machine, t.observedAt),
    ],
  );

  /** Freezes (policy/freezes.ts): while one matches, the gate refuses the event with TG_FROZEN. */
  const freezes = schema.table(
    'freezes',
    {
      id: text('id').primaryKey(),
      machine: text('machine').notNull(),
      /** Event types frozen; null: every event. */
      events: jsonb('events'),
      /** States (leaf-path prefixes) frozen; null: every state. */
      states: jsonb('states'),
      /** Event types that go on despite the freeze (support-safe actions). */
      exceptions: jsonb('exceptions'),
      reason: text('reason').notNull(),
      /** The freeze ends by itself at this time; null: until lifted. */
      until: ts('until'),
      createdBy: text('created_by').notNull(),
      createdAt: ts('created_at').notNull(),
      liftedAt: ts('lifted_at'),
      liftedBy: text('lifted_by'),
      liftReason: text('lift_reason'),
    },
    (t) => [index('freezes_active_idx').on(t.machine).where(sql`lifted_at IS NULL`)],
  );

  /**
   * Which state an entity may be moved to from which by an override (store/legality.ts): every (from, to) pair one
   * event can take, per machine version, generated from the machine's graph at migrate and at start.
   */
  const legalTransitions = schema.table(
    'legal_transitions',
    {
      machine: text('machine').notNull(),
      machineVersion: integer('machine_version').notNull(),
      fromState: text('from_state').notNull(),
      toState: text('to_state').notNull(),
    },
    (t) => [primaryKey({ columns: [t.machine, t.machineVersion, t.fromState, t.toState] })],
  );

  /** Every direct write of an entity made under `tollgate.override`: who, why, before and after. */
  const overrides = schema.table(
    'overrides',
    {
      id: bigserial('id', { mode: 'number' }).primaryKey(),
      machine: text('machine').notNull(),
      entityId: text('entity_id').notNull(),
      dbUser: text('db_user').notNull(),
      reason: text('reason').notNull(),
      /** The new state was not reachable in one event (allowed by `tollgate.override_illegal`). */
      illegal: boolean('illegal').notNull(),
      before: jsonb('before').notNull(),
      after: jsonb('after').notNull(),
      at: ts('at').notNull(),
    },
    (t) => [index('overrides_entity_idx').on(t.machine, t.entityId)],
  );

  /**
   * Entities per (machine, state), exact, without scanning entities: what `stateCounts` and the inspector read at
   * any fleet size. Not written by the gate: triggers on `entities` append signed moves to `state_count_deltas`
   * (no row every writer updates, so no lock two commits wait on), and a compaction folds them in here
   * (store/state-counts.ts). A count is this row's `n` plus its machine's and state's deltas.
   */
  const stateCounts = schema.table(
    'state_counts',
    {
      machine: text('machine').notNull(),
      state: text('state').notNull(),
      n: bigint('n', { mode: 'number' }).notNull(),
    },
    (t) => [primaryKey({ columns: [t.machine, t.state] })],
  );

  /**
   * Signed moves between states not yet folded into `state_counts`: `-1` for the state an entity left, `+1` for the
   * one it entered (a bulk insert writes one row per state with its count). Append-only for writers, no index:
   * an insert is one heap row, and the table holds only what the last compaction has not taken.
   */
  const stateCountDeltas = schema.table('state_count_deltas', {
    machine: text('machine').notNull(),
    state: text('state').notNull(),
    n: bigint('n', { mode: 'number' }).notNull(),
  });

  /**
   * `tollgate audit`'s checkpoint (src/audit/): the version of each entity it last audited and what it found there
   * (null: nothing). A later run replays only entities whose version moved, and carries the findings of the others.
   */
  const auditCheckpoints = schema.table(
    'audit_checkpoints',
    {
      machine: text('machine').notNull(),
      entityId: text('entity_id').notNull(),
      version: integer('version').notNull(),
      /** The drift found at that version (`[{ kind, detail, seq }]`); null when clean. */
      findings: jsonb('findings'),
      auditedAt: ts('audited_at').notNull(),
    },
    (t) => [primaryKey({ columns: [t.machine, t.entityId] }), index('audit_checkpoints_drift_idx').on(t.machine).where(sql`findings IS NOT NULL`)],
  );

  /** The last audit run's drift per (machine, kind): what `tollgate_audit_drift_entities` shows. */
  const auditDrift = schema.table(
    'audit_drift',
    {
      machine: text('machine').notNull(),
      kind: text('kind').notNull(),
      /** Entities with drift of this kind. */
      entities: integer('entities').notNull(),
      at: ts('at').notNull(),
    },
    (t) => [primaryKey({ columns: [t.machine, t.kind] })],
  );

  return {
    schema,
    entities,
    stateCounts,
    stateCountDeltas,
    transitions,
    effects,
    timers,
    rejections,
    activePolicies,
    policySwitches,
    machineModes,
    modeSwitches,
    shadowObservations,
    freezes,
    legalTransitions,
    overrides,
    auditCheckpoints,
    auditDrift,
    feedConsumers,
    feedDeadLetters,
    feedProcesses,
  };
}

/** The tables under the default schema name; what drizzle-kit reads. */
export const {
  schema,
  entities,
  stateCounts,
  stateCountDeltas,
  transitions,
  effects,
  timers,
  rejections,
  activePolicies,
  policySwitches,
  machineModes,
  modeSwitches,
  shadowObservations,
  freezes,
  legalTransitions,
  overrides,
  auditCheckpoints,
  auditDrift,
  feedConsumers,
  feedDeadLetters,
  feedProcesses,
} =
  createTables('tollgate');
