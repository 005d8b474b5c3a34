import postgres from 'postgres';
import { describe, expect, it } from 'vitest';
import { quoteIdent } from '../../src/store/sql-client.ts';
import { compactAfterMoves, createStateCounts } from '../../src/store/state-counts.ts';
import { backends, postgresAvailable, testDatabaseUrl } from '../support/databases.ts';
import { activeSubscription, subscriptionRuntime } from '../support/subscriptions.ts';
import { testAccess } from '../../src/runtime/test-access.ts';

type Runtime = Awaited<ReturnType<typeof subscriptionRuntime>>['tg'];

/** What a scan of entities says: the truth the maintained counts must equal. */
async function scanned(tg: Runtime): Promise<Record<string, number>> {
  const rows = await testAccess(tg).client.query<{ state: string; n: number }>(
    `SELECT state, count(*)::int AS n FROM ${quoteIdent(testAccess(tg).schema)}.entities WHERE machine = 'subscription' GROUP BY state`,
  );
  return Object.fromEntries(rows.map((r) => [r.state, r.n]));
}

async function unfolded(tg: Runtime): Promise<number> {
  const [row] = await testAccess(tg).client.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${quoteIdent(testAccess(tg).schema)}.state_count_deltas`);
  return row?.n ?? -1;
}

// PGlite opens and migrates a database per runtime: tens of seconds on a loaded machine.
describe.each(backends())('state counts on %s', { timeout: 90_000 }, (backend) => {
  it('stay equal to a scan of entities through creates, moves, self-transitions, overrides, bulk writes and deletes', async () => {
    const { tg } = await subscriptionRuntime(backend);
    const s = quoteIdent(testAccess(tg).schema);
    await activeSubscription(tg, 'a');
    await activeSubscription(tg, 'b');
    await tg.create('subscription', 'c', { customerId: 'c', plan: 'pro' });
    await tg.send('subscription', 'b', { type: 'PAUSE' });
    await tg.send('subscription', 'a', { type: 'RENEW' }); // active -> active: no move
    expect(await tg.stateCounts('subscription')).toEqual({ active: 1, 'paused.idle': 1, trial: 1 });
    expect(await tg.stateCounts('subscription')).toEqual(await scanned(tg));

    // A person's repair goes around the gate: the triggers count it all the same.
    await tg.governance.override({ machine: 'subscription', id: 'c', state: 'canceled', reason: 'customer asked by phone' });
    expect(await tg.stateCounts('subscription')).toEqual({ active: 1, 'paused.idle': 1, canceled: 1 });

    // A bulk load (as bench/inspector.ts writes) and a delete, in single statements.
    await testAccess(tg).client.query(
      `INSERT INTO ${s}.entities (machine, id, machine_version, snapshot, state, version, state_entered_at, created_at, updated_at)
       SELECT 'subscription', 'bulk-' || g, 1, '{}'::jsonb, CASE WHEN g % 3 = 0 THEN 'grace' ELSE 'trial' END, 1, now(), now(), now()
       FROM generate_series(1, 300) AS g, (SELECT set_config('tollgate.gate', 'on', true)) AS gate`,
    );
    await testAccess(tg).client.query(
      `DELETE FROM ${s}.entities WHERE machine = 'subscription' AND id LIKE 'bulk-1%' AND set_config('tollgate.gate', 'on', true) = 'on'`,
    );
    expect(await tg.stateCounts('subscription')).toEqual(await scanned(tg));
    expect((await tg.stateCounts('subscription')).grace).toBeGreaterThan(50);
    expect(await tg.machineStats('subscription')).toMatchObject({ stateCounts: await scanned(tg) });
  });

  it(`fold their moves once a read sums ${compactAfterMoves} or more, and a recount rebuilds them`, async () => {
    const { tg } = await subscriptionRuntime(backend);
    const s = quoteIdent(testAccess(tg).schema);
    await testAccess(tg).client.query(
      `INSERT INTO ${s}.entities (machine, id, machine_version, snapshot, state, version, state_entered_at, created_at, updated_at)
       SELECT 'subscription', 'e-' || g, 1, '{}'::jsonb, 'trial', 1, now(), now(), now()
       FROM generate_series(1, ${compactAfterMoves}) AS g, (SELECT set_config('tollgate.gate', 'on', true)) AS gate`,
    );
    // Every row moves: two signed moves each.
    await testAccess(tg).client.query(`UPDATE ${s}.entities SET state = 'active' WHERE set_config('tollgate.gate', 'on', true) = 'on'`);
    expect(await unfolded(tg)).toBeGreaterThanOrEqual(2 * compactAfterMoves);
    expect(await tg.stateCounts('subscription')).toEqual({ active: compactAfterMoves });
    expect(await unfolded(tg)).toBe(0); // that read folded them
    expect(await tg.stateCounts('subscription')).toEqual({ active: compactAfterMoves });

    // Written with the triggers off, the counts are wrong until a recount.
    await testAccess(tg).client.transaction(async (tx) => {
      await tx.query(`ALTER TABLE ${s}.entities DISABLE TRIGGER entities_count_moved`);
      await tx.query(`UPDATE ${s}.entities SET state = 'grace' WHERE id IN ('e-1', 'e-2') AND set_config('tollgate.gate', 'on', true) = 'on'`);
      await tx.query(`ALTER TABLE ${s}.entities ENABLE TRIGGER entities_count_moved`);
    });
    expect(await tg.stateCounts('subscription')).toEqual({ active: compactAfterMoves });
    await createStateCounts(testAccess(tg).client, testAccess(tg).schema).recount();
    expect(await tg.stateCounts('subscription')).toEqual({ active: compactAfterMoves - 2, grace: 2 });
  });
});

describe.runIf(postgresAvailable())('state counts under concurrent writers', () => {
  it('never make a commit wait for another commit into the same state (no shared counter row)', async () => {
    const { tg } = await subscriptionRuntime('postgres');
    await tg.create('subscription', 'held', { customerId: 'h', plan: 'pro' });
    await tg.create('subscription', 'free', { customerId: 'f', plan: 'pro' });
    const other = postgres(await testDatabaseUrl(), { max: 1, onnotice: () => {} });
    try {
      // Another writer moves one entity into `active` and holds its transaction open...
      let release = () => {};
      const released = new Promise<void>((resolve) => (release = resolve));
      const holding = other.begin(async (sql) => {
        await sql.unsafe(`UPDATE ${quoteIdent(testAccess(tg).schema)}.entities SET state = 'active' WHERE id = 'held' AND set_config('tollgate.gate', 'on', true) = 'on'`);
        await released;
      });
      await new Promise((r) => setTimeout(r, 200));
      // ...and the gate still moves another one into `active` at once.
      const t0 = performance.now();
      await tg.send('subscription', 'free', { type: 'UPGRADE', paymentMethodId: 'pm' });
      expect(performance.now() - t0).toBeLessThan(2000);
      release();
      await holding;
      expect(await tg.stateCounts('subscription')).toEqual({ active: 2 });
    } finally {
      await other.end();
    }
  });
});
