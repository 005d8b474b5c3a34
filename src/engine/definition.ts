import type { AnyMachineSnapshot, AnyStateMachine, StateMachine, StateValue } from 'xstate';
import type { z } from 'zod';

/**
 * One lifecycle registered with tollgate: the XState machine, its version, and the schemas that guard what
 * enters it. Side effects are the machine's *custom actions* (declared in `setup({ actions })`); tollgate never
 * runs them inside a transition, it writes them to the outbox.
 *
 * @example
 * export const subscription = defineMachine({
 *   machine: subscriptionMachine,
 *   version: 1,
 *   input: z.strictObject({ customerId: z.string(), plan: z.string() }),
 *   events: { CANCEL: z.strictObject({}) },
 *   compensations: { chargePayment: 'PAYMENT_FAILED' },
 * });
 */
export interface MachineDefinition<
  TMachine extends AnyStateMachine = AnyStateMachine,
  TInput extends z.ZodType = z.ZodType,
  TEvents extends Record<string, z.ZodType> = Record<string, z.ZodType>,
> {
  /** The XState v5 machine, built with `setup(...).createMachine(...)`. */
  readonly machine: TMachine;
  /**
   * Integer version, at least 1. Stored with every entity and transition; bump it when a change to the machine
   * makes old snapshots mean something else.
   */
  readonly version: number;
  /** Schema of `create`'s input (what the machine's `context` factory receives as `input`). */
  readonly input: TInput;
  /**
   * Schema of the machine's context. Optional: `create` builds the context from the input, so only entities that
   * arrive with a context of their own need it: `tollgate import` checks each imported context against it (and
   * stores what it parses to, defaults applied). Default: none (an imported context must be a JSON object whose
   * fields the machine's delays can read).
   */
  readonly context?: z.ZodType;
  /**
   * Schema of each event type a caller may send, keyed by event type, describing the payload *without* `type`.
   * Event types not listed here are refused with `TG_INVALID_EVENT`. Delayed events (`after`) are internal and
   * never listed.
   */
  readonly events: TEvents;
  /**
   * Effect type -> event type sent through the gate when that effect fails for good (compensation), e.g.
   * `{ chargePayment: 'PAYMENT_FAILED' }`. Default: none.
   */
  readonly compensations?: Readonly<Record<string, string>>;
  /**
   * How tollgate runs the machine until a switch is recorded (`tollgate mode`, `tg.setMode`): `enforce` (the gate
   * decides every transition) or `shadow` (a legacy system still writes the entities: `send` and `create` are
   * refused with TG_MACHINE_SHADOWED, `tg.observe` checks and mirrors what the legacy system reports). After the
   * first switch the recorded mode applies to every process. See docs/adoption.md. Default: `enforce`.
   */
  readonly mode?: MachineMode;
  /**
   * Shadow mode's options. `effects`: the effect types still emitted when an observed transition is legal (the
   * legacy system does the others' work itself). Default: none (no effect is emitted in shadow mode).
   *
   * @example
   * shadow: { effects: ['sendEmail'] }
   */
  readonly shadow?: { readonly effects?: readonly string[] };
  /** One line shown in listings. Default: none. */
  readonly description?: string;
  /**
   * Single-hop snapshot migrations, keyed by the version they migrate *from*: `migrations[n]` turns a persisted
   * snapshot of version `n` into one valid for version `n + 1`. An entity of version `n` is carried to `version`
   * by applying `n`, `n + 1`, ... in order; a missing hop means "the snapshot is valid as it is". Entities are
   * migrated lazily on their next event (a `$migrated` history row in the same commit) or in bulk with
   * `tollgate entities migrate`. See docs/evolution.md (it also maps this onto XState v6's `migrateSnapshot`).
   * Default: none.
   *
   * @example
   * migrations: { 1: (s) => (s.value === 'grace' ? { ...s, value: { grace: 'first_notice' } } : s) }
   */
  readonly migrations?: Readonly<Record<number, SnapshotMigration>>;
  /**
   * Defaults for path testing (`pathTests`, `tollgate test-paths <machine>` without `--options`): a create input,
   * sample payloads and a state identity that make the machine's paths generate; several entries run as input
   * variants. Default: none (the input `{}`, payloads derived from the event schemas, states told apart by value
   * and context, falling back to value alone when that graph does not close).
   */
  readonly pathTesting?: PathTestDefaults | readonly PathTestDefaults[];
}

/** Who writes a machine's entities: tollgate's gate (`enforce`) or a legacy system that tollgate observes (`shadow`). */
export type MachineMode = 'shadow' | 'enforce';

/** A payload without `type` (or with it: a `type` that disagrees with the key is an error). */
export type SamplePayload = Readonly<Record<string, unknown>>;

/**
 * Sample payloads per event type, for the events the paths send. One payload, several (each becomes its own edge
 * of the graph, e.g. one that passes a guard and one that does not), or a function of the snapshot for payloads
 * that must match the context (an amount equal to the order's). Types not listed get a payload derived from the
 * definition's zod schema when that is trivial (`z.strictObject({})` -> `{}`, a required string -> `'sample'`).
 */
export type EventSamples = Readonly<
  Record<string, SamplePayload | readonly SamplePayload[] | ((snapshot: AnyMachineSnapshot) => readonly SamplePayload[])>
>;

/** What a machine definition may carry for its own path tests (see `MachineDefinition.pathTesting`). */
export interface PathTestDefaults {
  /** The `create` input of every path's entity. Default `{}`. */
  readonly input?: unknown;
  /** Sample payloads per event type. Default: derived from the definition's schemas. */
  readonly events?: EventSamples;
  /**
   * State identity for the graph walk. Default: value + context, which never ends when the context grows without
   * bound (a counter); the walk then falls back to value alone and says so. E.g. `(s) => JSON.stringify(s.value)`.
   */
  readonly serializeState?: (snapshot: AnyMachineSnapshot) => string;
  /**
   * `shortest` (default): one shortest path per reachable state. `transitions`: those plus, for every accepted
   * edge, the shortest path to its source and the edge, so every transition is driven. `simple`: shortest plus
   * every simple path (can be many).
   */
  readonly paths?: 'shortest' | 'transitions' | 'simple';
}

/**
 * A persisted XState snapshot as stored (parsed JSON): `value`, `context`, `status`, `historyValue` and whatever
 * else XState keeps. A migration receives a copy it may change and returns the snapshot for the next version.
 */
export interface PersistedSnapshot {
  value: StateValue;
  context: Record<string, unknown>;
  status?: string;
  historyValue?: Record<string, unknown>;
  [key: string]: unknown;
}

/** One hop of a snapshot migration: a snapshot of version n in, one of version n + 1 out. Must not throw. */
export type SnapshotMigration = (snapshot: PersistedSnapshot) => PersistedSnapshot;

/** Any registered machine definition. */
export type AnyMachineDefinition = MachineDefinition<AnyStateMachine, z.ZodType, Record<string, z.ZodType>>;

/** Machines by name: the value passed to `createTollgate({ machines })`. */
export type MachineRegistry = Readonly<Record<string, AnyMachineDefinition>>;

/** Identity function that keeps the definition's precise types for `send()`'s event typing. */
export function defineMachine<
  TMachine extends AnyStateMachine,
  TInput extends z.ZodType,
  TEvents extends Record<string, z.ZodType>,
>(definition: MachineDefinition<TMachine, TInput, TEvents>): MachineDefinition<TMachine, TInput, TEvents> {
  return definition;
}

// zod infers `z.strictObject({})` as Record<string, never>, which would make `{ type } & payload` uninhabitable.
type Payload<S extends z.ZodType> = string extends keyof z.input<S> ? unknown : z.input<S>;

/** The events a caller may send to a machine: `{ type }` plus that type's payload. */
export type EventOf<TDef> =
  TDef extends MachineDefinition<AnyStateMachine, z.ZodType, infer TEvents>
    ? { [K in keyof TEvents & string]: { type: K } & Payload<TEvents[K]> }[keyof TEvents & string]
    : never;

/** The input `create` accepts for a machine. */
export type InputOf<TDef> = TDef extends MachineDefinition<AnyStateMachine, infer TInput> ? z.input<TInput> : never;

/** The actions a machine's `setup({ actions })` declares, as `{ type, params }` (xstate's own action union). */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- matching xstate's 15-parameter class, only to read one
type ActionsOfMachine<M> = M extends StateMachine<any, any, any, any, infer A, any, any, any, any, any, any, any, any, any, any> ? A : never;

type ActionsOf<R extends MachineRegistry> = { [K in keyof R]: ActionsOfMachine<R[K]['machine']> }[keyof R];

/**
 * The effect types a handler may be registered for: the custom actions the registry's machines declare in
 * `setup({ actions })`. Any string for a registry whose machines are not known precisely (`MachineRegistry`).
 * (Actions that are `assign(...)` also type-check; registering one is refused when the handler is registered.)
 */
export type EffectTypeOf<R extends MachineRegistry> = string extends keyof R ? string : ActionsOf<R>['type'] & string;

/**
 * The params an effect handler of `T` receives: the second parameter of the action's declaration in
 * `setup({ actions: { chargePayment: (_, params: ChargeParams) => {} } })`. `unknown` for a registry whose
 * machines are not known precisely (narrow it, or type the runtime with its machines).
 */
export type EffectParamsOf<R extends MachineRegistry, T extends string> = string extends keyof R
  ? unknown
  : Extract<ActionsOf<R>, { type: T }>['params'];
