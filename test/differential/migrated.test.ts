/**
 * Differential fidelity on migrated entities: random sequences whose first part the older release ran (events only:
 * the history an entity had at the deploy) and whose rest runs, after the entity's migration (lazily by the rest's
 * first event, or in bulk), through the new release, against ONE long-lived actor of the new version that was sent
 * the whole sequence from the same input. After the migration and after every command the persisted snapshot, the
 * effects and the pending timers must be what the new version's actor has: a migration that leaves anything else
 * (another state, a lost history value or context field, a timer re-armed from the wrong time) is a Divergence.
 *
 * Only events both versions answer alike (accepted by both, or refused by both with the same code) go into the older
 * release's part, decided by XState alone (never by the migration under test): past the first one they answer
 * differently, the entity's history would mean something else in the new version.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AnyMachineSnapshot } from 'xstate';
import { machines } from '../../machines/index.ts';
import { machines as release2 } from '../../examples/evolution/machines-v2.ts';
import { ManualClock, isTollgateError, type Tollgate } from '../../src/index.ts';
import type { AnyMachineDefinition, MachineRegistry } from '../../src/engine/definition.ts';
import { migrateEntities } from '../../src/runtime/migrate-entities.ts';
import { oracleInitial, oracleStep } from '../../src/testing/oracle.ts';
import { ticketEvents, ticketInputs, ticketRelease1, ticketRelease2 } from '../fixtures/ticket-releases.ts';
import { backends, type Backend } from '../support/databases.ts';
import { releaseDatabase } from '../support/evolution.ts';
import { commandsArbitrary, runDifferential, scenarioCommands, type Command, type DifferentialSpec, type MigratedStart, type SampleEvent } from './harness.ts';
import { testAccess } from '../../src/runtime/test-access.ts';

interface Pair {
  readonly older: MachineRegistry;
  readonly newer: MachineRegistry;
  readonly spec: DifferentialSpec;
  /** Hand-written cases: the older release's events, then the commands after the deploy. */
  readonly cases: ReadonlyArray<{ readonly input: number; readonly before: readonly string[]; readonly after: readonly string[] }>;
  readonly runs: Readonly<Record<Backend, number>>;
}

const pairs: Pair[] = [
  {
    older: machines,
    newer: release2,
    spec: {
      name: 'subscription',
      definition: release2.subscription,
      inputs: [
        { customerId: 'c1', plan: 'pro', paymentMethodId: 'pm_0', trialPeriodMs: 5000, gracePeriodMs: 3000 },
        { customerId: 'c2', plan: 'basic', trialPeriodMs: 4000, gracePeriodMs: 2000 },
      ],
      events: [
        { type: 'UPGRADE', paymentMethodId: 'pm_1' },
        { type: 'PAYMENT_SUCCEEDED', chargeId: 'ch_1' },
        { type: 'PAYMENT_FAILED', reason: 'declined' },
        { type: 'CANCEL', reason: 'user' },
        { type: 'RENEW' },
        { type: 'PAUSE' },
        { type: 'RESUME' },
      ],
    },
    cases: [
      { input: 0, before: ['UPGRADE', 'PAYMENT_FAILED'], after: ['tick', 'tick'] }, // first, then final notice
      { input: 0, before: ['UPGRADE', 'PAYMENT_FAILED'], after: ['PAYMENT_SUCCEEDED', 'PAYMENT_FAILED', 'tick'] },
      { input: 1, before: ['PAUSE', 'RESUME'], after: ['tick', 'UPGRADE'] },
    ],
    runs: { postgres: 30, pglite: 8 },
  },
  {
    older: { ticket: ticketRelease1 },
    newer: { ticket: ticketRelease2 },
    spec: { name: 'ticket', definition: ticketRelease2, inputs: ticketInputs, events: ticketEvents as unknown as SampleEvent[] },
    cases: [
      { input: 0, before: ['ASSIGN', 'BLOCK', 'HOLD'], after: ['RESUME', 'tick', 'BLOCK', 'tick'] }, // history to the renamed state
      { input: 0, before: ['ASSIGN', 'BLOCK', 'HOLD'], after: ['tick'] }, // the shorter hold, re-armed from when it began
      { input: 0, before: ['ASSIGN', 'BLOCK'], after: ['tick', 'HOLD', 'RESUME'] }, // the new nudge, armed from the block
    ],
    runs: { postgres: 30, pglite: 8 },
  },
];

/** The longest run of `events` both versions answer alike, from the same input, by XState alone. */
function neutralPrefix(older: AnyMachineDefinition, newer: AnyMachineDefinition, input: unknown, events: readonly SampleEvent[]): SampleEvent[] {
  let a: AnyMachineSnapshot = oracleInitial(older.machine, input).snapshot;
  let b: AnyMachineSnapshot = oracleInitial(newer.machine, input).snapshot;
  const kept: SampleEvent[] = [];
  for (const event of events) {
    const x = a.status === 'active' ? oracleStep(older.machine, a, event) : undefined;
    const y = b.status === 'active' ? oracleStep(newer.machine, b, event) : undefined;
    if (x?.accepted !== y?.accepted || x?.refusal !== y?.refusal) break;
    if (x?.refusal === 'TG_MACHINE_FAULT') break;
    kept.push(event);
    if (x && y) [a, b] = [x.snapshot, y.snapshot];
  }
  return kept;
}

/** For a lazy migration the first command must be an event the new version accepts: the first sample it does, else none. */
function migratingSend(spec: DifferentialSpec, input: unknown, prefix: readonly SampleEvent[]): Command[] {
  let snapshot = oracleInitial(spec.definition.machine, input).snapshot;
  for (const event of prefix) {
    const step = oracleStep(spec.definition.machine, snapshot, event);
    if (step.accepted) snapshot = step.snapshot;
  }
  const event = spec.events.find((e) => snapshot.status === 'active' && oracleStep(spec.definition.machine, snapshot, e).accepted);
  return event ? [{ kind: 'send', event }] : [];
}

interface Case {
  readonly input: unknown;
  readonly prefix: SampleEvent[];
  readonly after: Command[];
  readonly lazy: boolean;
  id?: string;
  t0?: number;
}

describe.each(backends().flatMap((backend) => pairs.map((pair) => [backend, pair.spec.name] as const)))('%s: differential fidelity on migrated %s entities', (backend: Backend, name: string) => {
  const pair = pairs.find((p) => p.spec.name === name)!;
  const { spec } = pair;
  const older = pair.older[name] as AnyMachineDefinition;
  const seed = process.env.FC_SEED !== undefined ? Number(process.env.FC_SEED) : Math.floor(Math.random() * 0x7fffffff);
  const drawn = fc.sample(fc.tuple(fc.constantFrom(...spec.inputs), commandsArbitrary(spec, 16)), { seed, numRuns: pair.runs[backend] });
  const written = pair.cases.flatMap((c) =>
    [true, false].map((lazy) => ({ input: spec.inputs[c.input], before: scenarioCommands(spec, c.before), after: scenarioCommands(spec, c.after), lazy })),
  );
  const cases: Case[] = [
    ...written,
    ...drawn.map(([input, commands], i) => {
      const cut = Math.floor(commands.length / 2);
      return { input, before: commands.slice(0, cut), after: commands.slice(cut), lazy: i % 2 === 0 };
    }),
  ].map(({ input, before, after, lazy }) => {
    const prefix = neutralPrefix(older, spec.definition, input, before.flatMap((c) => (c.kind === 'send' ? [c.event] : [])));
    const first = after[0];
    const migrates = first?.kind === 'send' && oracleStepAccepts(spec, input, prefix, first.event);
    const send = lazy && !migrates ? migratingSend(spec, input, prefix) : [];
    // An entity no event moves any more (a final state) is migrated by the bulk run only: docs/evolution.md says so.
    return { input, prefix, after: [...send, ...after], lazy: lazy && (migrates || send.length > 0) };
  });
  const clock = new ManualClock(Date.parse('2026-01-01T00:00:00Z'));
  let db: Awaited<ReturnType<typeof releaseDatabase>>;
  let v2: Tollgate;

  beforeAll(async () => {
    db = await releaseDatabase(backend);
    const v1 = (await db.open(pair.older, clock, { snapshotCacheSize: 0 })) as unknown as Tollgate;
    for (const [i, c] of cases.entries()) {
      c.id = `mig-${name}-${i}`;
      c.t0 = clock.now();
      await v1.create(name, c.id, c.input as never);
      for (const event of c.prefix) {
        await v1.send(name, c.id, event as never).catch((error: unknown) => {
          if (!isTollgateError(error) || error.retryable) throw error;
        });
      }
    }
    clock.advance(700); // the deploy, a while later (less than any delay of these machines)
    v2 = (await db.open(pair.newer, clock, { snapshotCacheSize: 0 })) as unknown as Tollgate;
  }, 600_000);
  afterAll(() => db.close());

  const start = (c: Case): MigratedStart => ({ id: c.id!, t0: c.t0!, prefix: c.prefix, lazy: c.lazy });
  const run = async (lazy: boolean) => {
    for (const c of cases.filter((x) => x.lazy === lazy)) {
      await runDifferential(v2, spec, c.input, c.after, undefined, start(c)).catch((error: unknown) => {
        throw new Error(`${error instanceof Error ? error.message : String(error)}\n  (seed ${seed}; older release's events: ${c.prefix.map((e) => e.type).join(', ') || '(none)'})`);
      });
    }
  };

  it('entities the older release wrote, migrated by their next event, go on as the new version would have', () => run(true), 300_000);

  it('migrated in bulk, they are what the new version would have reached, and go on as it would', async () => {
    const report = await migrateEntities(testAccess(v2).context, name, { batch: 5 });
    expect(report).toMatchObject({ failed: 0, stopped: false });
    expect(report.migrated).toBeGreaterThanOrEqual(cases.filter((c) => !c.lazy).length);
    expect((await migrateEntities(testAccess(v2).context, name)).total).toBe(0);
    await run(false);
  }, 300_000);

  it('the older release ran a real history before most deploys', () => {
    expect(cases.filter((c) => c.prefix.length >= 2).length).toBeGreaterThan(cases.length / 3);
  });
});

function oracleStepAccepts(spec: DifferentialSpec, input: unknown, prefix: readonly SampleEvent[], event: SampleEvent): boolean {
  let snapshot = oracleInitial(spec.definition.machine, input).snapshot;
  for (const e of prefix) {
    const step = oracleStep(spec.definition.machine, snapshot, e);
    if (step.accepted) snapshot = step.snapshot;
  }
  return snapshot.status === 'active' && oracleStep(spec.definition.machine, snapshot, event).accepted;
}
