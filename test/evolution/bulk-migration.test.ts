import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/clock.ts';
import { machines } from '../../machines/index.ts';
import { machines as release2 } from '../../examples/evolution/machines-v2.ts';
import { migrateEntities } from '../../src/runtime/migrate-entities.ts';
import { quoteIdent } from '../../src/store/sql-client.ts';
import { backends, type Backend } from '../support/databases.ts';
import { releaseDatabase } from '../support/evolution.ts';
import { DAY, start } from '../support/subscriptions.ts';
import { testAccess } from '../../src/runtime/test-access.ts';

const ids = (prefix: string, n: number) => Array.from({ length: n }, (_, i) => `${prefix}${String(i).padStart(2, '0')}`);
const graceIds = ids('g', 20);
const activeIds = ids('a', 20);

describe.each(backends())('bulk migration under concurrent traffic on %s', (backend: Backend) => {
  let db: Awaited<ReturnType<typeof releaseDatabase>>;
  const clock = new ManualClock(start);
  beforeAll(async () => {
    db = await releaseDatabase(backend);
    const v1 = await db.open(machines, clock);
    for (const id of [...graceIds, ...activeIds]) {
      await v1.create('subscription', id, { customerId: `c-${id}`, plan: 'pro', gracePeriodMs: 4 * DAY });
      await v1.send('subscription', id, { type: 'UPGRADE', paymentMethodId: 'pm' });
    }
    clock.advance(DAY);
    for (const id of graceIds) await v1.send('subscription', id, { type: 'PAYMENT_FAILED' });
    clock.advance(DAY);
  }, 180_000);
  afterAll(() => db.close());

  it('no transition lost or doubled, versions gapless with one $migrated row each, timers those of the states the entities are in', async () => {
    const v2 = await db.open(release2, clock);
    const rounds = 4;
    const recovered = graceIds.slice(0, 10);
    // Traffic to the same entities while the bulk run goes: renewals of the active ones, recoveries of half the grace ones.
    const traffic = (async () => {
      const sent: Array<Promise<unknown>> = [];
      for (let round = 0; round < rounds; round++) {
        for (const id of activeIds) sent.push(v2.send('subscription', id, { type: 'RENEW' }, { idempotencyKey: `renew-${id}-${round}` }));
        if (round === 1) for (const id of recovered) sent.push(v2.send('subscription', id, { type: 'PAYMENT_SUCCEEDED', chargeId: `ch-${id}` }, { idempotencyKey: `paid-${id}` }));
        await Promise.all(sent.splice(0));
      }
    })();
    const [report] = await Promise.all([migrateEntities(testAccess(v2).context, 'subscription', { batch: 5, concurrency: backend === 'pglite' ? 1 : 4 }), traffic]);
    expect(report).toMatchObject({ total: 40, failed: 0, stopped: false });
    expect(report.migrated + report.alreadyMigrated).toBe(40);

    const s = quoteIdent(testAccess(v2).schema);
    const rows = await testAccess(v2).client.query<{ id: string; version: number; machine_version: number; seqs: number[]; events: string[] }>(
      `SELECT e.id, e.version, e.machine_version, to_jsonb(array_agg(t.seq ORDER BY t.seq)) AS seqs, to_jsonb(array_agg(t.event_type ORDER BY t.seq)) AS events
       FROM ${s}.entities e JOIN ${s}.transitions t ON t.machine = e.machine AND t.entity_id = e.id WHERE e.machine = 'subscription' GROUP BY e.id, e.version, e.machine_version`,
    );
    expect(rows).toHaveLength(40);
    for (const row of rows) {
      expect(row.machine_version, row.id).toBe(2);
      expect(row.seqs, row.id).toEqual(Array.from({ length: row.version }, (_, i) => i + 1));
      expect(row.events.filter((e) => e === '$migrated'), row.id).toHaveLength(1);
      const expected = activeIds.includes(row.id) ? { RENEW: rounds, PAYMENT_SUCCEEDED: 0 } : { RENEW: 0, PAYMENT_SUCCEEDED: recovered.includes(row.id) ? 1 : 0 };
      expect({ RENEW: row.events.filter((e) => e === 'RENEW').length, PAYMENT_SUCCEEDED: row.events.filter((e) => e === 'PAYMENT_SUCCEEDED').length }, row.id).toEqual(expected);
      // The migration came before any event release 2 evaluated.
      const migratedAt = row.events.indexOf('$migrated');
      expect(row.events.slice(migratedAt + 1).every((e) => e !== 'UPGRADE' && e !== 'PAYMENT_FAILED'), row.id).toBe(true);
    }

    const timers = await testAccess(v2).client.query<{ entity_id: string; send_id: string; due_at: Date }>(
      `SELECT entity_id, send_id, due_at FROM ${s}.timers WHERE machine = 'subscription' AND status = 'scheduled' ORDER BY entity_id`,
    );
    const stillInGrace = graceIds.filter((id) => !recovered.includes(id));
    expect(timers.map((t) => t.entity_id)).toEqual(stillInGrace);
    for (const t of timers) {
      expect(t.send_id).toBe('xstate.after.firstNotice.subscription.grace.first_notice');
      expect(new Date(t.due_at).getTime()).toBe(start + DAY + 2 * DAY); // grace entered at start + 1 day, first notice half of 4 days
    }
    for (const id of stillInGrace.slice(0, 3)) expect((await v2.get('subscription', id)).state).toBe('grace.first_notice');
    for (const id of recovered.slice(0, 3)) expect((await v2.get('subscription', id)).state).toBe('active');
  }, 180_000);
});
