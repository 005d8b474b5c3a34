/**
 * What `tollgate audit` can find wrong with an entity, one stable name per check (docs/governance.md lists them).
 *
 * - `snapshot`: the stored snapshot is not what replaying the entity's history through its machine gives.
 * - `history`: a history row's recorded outcome (target state, effects, timers) is not what the machine decides for
 *   its event in the state before it: a row edited, or effects of a transition added or removed.
 * - `head`: the latest history row does not match the entity (its seq, state or machine version).
 * - `state`: the `state` column does not name the state the snapshot is in.
 * - `unknown-state`: the entity is in a state its machine version does not have.
 * - `replay-failed`: the history cannot be replayed (the machine threw, a stored snapshot does not restore).
 * - `override`, `illegal-override`: a person moved the entity outside the gate (legal: to a state one event reaches).
 * - `orphan-effect`, `orphan-timer`: an effect or timer row with no committed transition of that entity behind it.
 * - `missing-follow-up`: a completed effect's follow-up event was never answered by the gate.
 * - `stale-timer`: a scheduled timer of a state the entity has left.
 */
export type DriftKind =
  | 'snapshot'
  | 'history'
  | 'head'
  | 'state'
  | 'unknown-state'
  | 'replay-failed'
  | 'override'
  | 'illegal-override'
  | 'orphan-effect'
  | 'orphan-timer'
  | 'missing-follow-up'
  | 'stale-timer';

/** Every kind, in report order. */
export const driftKinds: readonly DriftKind[] = [
  'snapshot',
  'history',
  'head',
  'state',
  'unknown-state',
  'replay-failed',
  'illegal-override',
  'override',
  'orphan-effect',
  'orphan-timer',
  'missing-follow-up',
  'stale-timer',
];

/** One thing found wrong with one entity. */
export interface DriftFinding {
  readonly kind: DriftKind;
  /** What and where, in words: `seq 3 (UPGRADE in trial): recorded active, the machine gives trial`. */
  readonly detail: string;
  /** The history row concerned, when one is. */
  readonly seq?: number;
}

/** The findings of one entity. */
export interface EntityDrift {
  readonly machine: string;
  readonly entityId: string;
  readonly findings: readonly DriftFinding[];
}
