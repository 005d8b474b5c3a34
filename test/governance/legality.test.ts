import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { machines } from '../../machines/index.ts';
import { legalPairs } from '../../src/engine/legal-pairs.ts';
import { legalityTriggersSql } from '../../src/store/legality-sql.ts';
import { quoteIdent } from '../../src/store/sql-client.ts';
import { backends, testRuntime } from '../support/databases.ts';
import { testAccess } from '../../src/runtime/test-access.ts';

describe('legal pairs', () => {
  it('are the (from, to) pairs one event can take, whatever the guards (both branches of the trial timer), resolving compound and parallel targets', () => {
    const subscription = legalPairs(machines.subscription.machine).map((p) => p.join(' -> '));
    expect(subscription).toEqual(expect.arrayContaining(['trial -> active', 'trial -> canceled', 'active -> paused.idle', 'paused.resuming -> active']));
    expect(subscription).not.toContain('trial -> grace');
    expect(subscription).not.toContain('canceled -> active');
    const order = legalPairs(machines.order.machine).map((p) => p.join(' -> '));
    expect(order).toContain('pending -> paid.invoicing.draft,paid.shipment.awaiting');
  });

  it('the trigger migration is the text of src/store/legality-sql.ts', () => {
    expect(readFileSync(new URL('../../drizzle/0007_legality_triggers.sql', import.meta.url), 'utf8')).toBe(legalityTriggersSql);
  });
});

describe.each(backends())('only the gate writes lifecycle state, on %s', (backend) => {
  it('refuses direct writes, lets an audited override through to a reachable state, and an illegal one only when forced', async () => {
    const tg = await testRuntime(backend, { machines });
    const s = quoteIdent(testAccess(tg).schema);
    const sql = testAccess(tg).client;
    await tg.create('subscription', 'e1', { customerId: 'e1', plan: 'pro' });
    await tg.send('subscription', 'e1', { type: 'UPGRADE', paymentMethodId: 'pm' });

    // A direct write (psql, an admin tool) of state, snapshot or version is refused, naming the entity.
    await expect(sql.query(`UPDATE ${s}.entities SET state = 'canceled' WHERE id = 'e1'`)).rejects.toThrow(/UPDATE of entity subscription\/e1 refused: only the gate writes/);
    await expect(sql.query(`UPDATE ${s}.entities SET version = version + 1 WHERE id = 'e1'`)).rejects.toThrow(/only the gate/);
    await expect(sql.query(`DELETE FROM ${s}.entities WHERE id = 'e1'`)).rejects.toThrow(/DELETE of entity subscription\/e1 refused/);
    await expect(
      sql.query(`INSERT INTO ${s}.entities SELECT machine, 'e2', machine_version, snapshot, state, version, state_entered_at, created_at, updated_at FROM ${s}.entities WHERE id = 'e1'`),
    ).rejects.toThrow(/INSERT of entity subscription\/e2 refused/);
    // Timestamps are not lifecycle state.
    await sql.query(`UPDATE ${s}.entities SET updated_at = now() WHERE id = 'e1'`);

    // An override to a state one event reaches: audited, history kept complete, version bumped.
    await sql.transaction(async (tx) => {
      await tx.query(`SET LOCAL tollgate.override = 'ticket 123: customer asked to pause'`);
      await tx.query(`UPDATE ${s}.entities SET state = 'paused.idle', snapshot = jsonb_set(snapshot, '{value}', '{"paused":"idle"}') WHERE id = 'e1'`);
    });
    expect(await tg.get('subscription', 'e1')).toMatchObject({ state: 'paused.idle', version: 3 });
    const last = (await tg.history('subscription', 'e1')).at(-1);
    expect(last).toMatchObject({ seq: 3, eventType: '$override', fromState: 'active', toState: 'paused.idle', event: { reason: 'ticket 123: customer asked to pause', illegal: false } });
    const [audit] = await sql.query<{ db_user: string; reason: string; illegal: boolean; before: { state: string }; after: { state: string; version: number } }>(
      `SELECT db_user, reason, illegal, before, after FROM ${s}.overrides`,
    );
    expect(audit).toMatchObject({ reason: 'ticket 123: customer asked to pause', illegal: false, before: { state: 'active' }, after: { state: 'paused.idle', version: 3 } });
    expect(audit?.db_user).toBeTruthy();
    // The gate goes on from there.
    expect((await tg.send('subscription', 'e1', { type: 'RESUME' })).entity.state).toBe('paused.resuming');

    // An override to a state no event reaches is refused, unless forced (then audited as illegal).
    await expect(tg.governance.override({ machine: 'subscription', id: 'e1', state: 'trial', reason: 'undo' })).rejects.toMatchObject({ code: 'TG_OVERRIDE_REFUSED' });
    expect((await tg.get('subscription', 'e1')).state).toBe('paused.resuming');
    const forced = await tg.governance.override({ machine: 'subscription', id: 'e1', state: 'trial', reason: 'undo a botched migration', illegal: true });
    expect(forced).toMatchObject({ from: 'paused.resuming', to: 'trial', version: 5 });
    expect(await tg.get('subscription', 'e1')).toMatchObject({ state: 'trial', value: 'trial', version: 5 });
    expect((await sql.query<{ illegal: boolean }>(`SELECT illegal FROM ${s}.overrides ORDER BY id`)).map((r) => r.illegal)).toEqual([false, true]);
  });
});
