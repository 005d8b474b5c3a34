import { describe, expect, it } from 'vitest';
import { backends } from '../support/databases.ts';
import { activeSubscription, footprint, subscriptionRuntime } from '../support/subscriptions.ts';
import { testAccess } from '../../src/runtime/test-access.ts';

// A trigger makes one table refuse the row the commit writes last or in the middle; the commit is one statement,
// so the entity update and every other row written before the failure must vanish with it.
const failures = [
  { table: 'effects', when: "NEW.type = 'sendEmail'" },
  { table: 'transitions', when: "NEW.event_type = 'PAUSE'" },
  { table: 'timers', when: 'true' },
] as const;

describe.each(backends())('atomic commit on %s', (backend) => {
  it.each(failures)('a failure forced while inserting into $table leaves no trace', async ({ table, when }) => {
    const { tg } = await subscriptionRuntime(backend);
    await activeSubscription(tg, 's1');
    const s = `"${testAccess(tg).schema}"`;
    await testAccess(tg).client.exec(`
      CREATE FUNCTION ${s}.fail_${table}() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN IF ${when} THEN RAISE EXCEPTION 'forced failure in ${table}'; END IF; RETURN NEW; END; $$;
      CREATE TRIGGER fail_${table} BEFORE INSERT ON ${s}.${table} FOR EACH ROW EXECUTE FUNCTION ${s}.fail_${table}();
    `);
    const before = await footprint(tg, 'subscription', 's1');
    // PAUSE writes a transition and a sendEmail effect; PAYMENT_FAILED writes a timer (grace) too.
    const event = table === 'timers' ? { type: 'PAYMENT_FAILED' as const } : { type: 'PAUSE' as const };

    await expect(tg.send('subscription', 's1', event)).rejects.toThrow(`forced failure in ${table}`);

    expect(await footprint(tg, 'subscription', 's1')).toEqual(before);
    // The runtime is still consistent after the failure: the next send commits on top of the old version.
    await testAccess(tg).client.exec(`DROP TRIGGER fail_${table} ON ${s}.${table}`);
    const next = await tg.send('subscription', 's1', event);
    expect(next.entity.version).toBe(before.entity.version + 1);
  });

  it('the history is append-only: the database refuses to rewrite or delete a transition', async () => {
    const { tg } = await subscriptionRuntime(backend);
    await activeSubscription(tg, 's1');
    const s = `"${testAccess(tg).schema}"`;
    await expect(testAccess(tg).client.query(`UPDATE ${s}.transitions SET to_state = 'canceled'`)).rejects.toThrow(/append-only/);
    await expect(testAccess(tg).client.query(`DELETE FROM ${s}.transitions`)).rejects.toThrow(/append-only/);
    expect(await tg.history('subscription', 's1')).toHaveLength(2);
  });
});
