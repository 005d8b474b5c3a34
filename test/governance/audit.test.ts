import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { machines } from '../../machines/index.ts';
import type { AuditReport } from '../../src/audit/run-audit.ts';
import { quoteIdent } from '../../src/store/sql-client.ts';
import { backends, testRuntime } from '../support/databases.ts';
import { testAccess } from '../../src/runtime/test-access.ts';

const customer = (id: string) => ({ customerId: `c-${id}`, plan: 'pro' });

/** entity id -> its drift kinds, sorted. */
const kindsOf = (report: AuditReport) =>
  Object.fromEntries(report.entities.map((e) => [e.entityId, [...new Set(e.findings.map((f) => f.kind))].sort()]));

describe.each(backends())('tollgate audit on %s', (backend) => {
  it('is clean on data only the gate wrote, and a second run replays only what changed since', async () => {
    const tg = await testRuntime(backend, { machines });
    for (const id of ['a', 'b', 'c']) {
      await tg.create('subscription', id, customer(id));
      await tg.send('subscription', id, { type: 'UPGRADE', paymentMethodId: 'pm_1' });
    }
    await tg.send('subscription', 'a', { type: 'PAUSE' });
    await tg.send('subscription', 'a', { type: 'RESUME' });
    await expect(tg.send('subscription', 'b', { type: 'RESUME' })).rejects.toMatchObject({ code: 'TG_ILLEGAL_TRANSITION' });

    // An entity adopted from another system starts its history with `$imported`, not a creation: no drift.
    await tg.import('subscription', [{ id: 'imported', state: 'active', context: { customerId: 'c-i', plan: 'pro', paymentMethodId: 'pm_1', trialPeriodMs: 1, gracePeriodMs: 1 } }]);
    await tg.send('subscription', 'imported', { type: 'PAUSE' });

    const first = await tg.governance.audit();
    expect(first).toMatchObject({ audited: 4, unchanged: 0, notReplayed: 0, drift: [], entities: [] });
    expect(first.evaluated).toBe(9); // 3 creations, 3 upgrades, 2 pauses and a resume

    const second = await tg.governance.audit({ machine: 'subscription' });
    expect(second).toMatchObject({ audited: 0, unchanged: 4, drift: [] });

    await tg.send('subscription', 'c', { type: 'CANCEL' });
    const third = await tg.governance.audit({ machine: 'subscription' });
    expect(third).toMatchObject({ audited: 1, unchanged: 3, drift: [] });
    expect(await tg.metricsText()).toMatch(/tollgate_audit_drift_entities\{machine="subscription",kind="snapshot"\} 0/);
  }, 60_000);

  it('finds planted drift by kind, naming the entity: overrides, a stale timer, an edited history row, a tampered snapshot, an orphan effect, an unanswered follow-up', async () => {
    const tg = await testRuntime(backend, { machines });
    const s = quoteIdent(testAccess(tg).schema);
    const sql = testAccess(tg).client;
    for (const id of ['clean', 'overridden', 'illegal', 'edited', 'tampered', 'followup']) {
      await tg.create('subscription', id, customer(id));
      await tg.send('subscription', id, { type: 'UPGRADE', paymentMethodId: 'pm_1' });
    }
    await tg.create('subscription', 'stale', customer('stale'));
    await tg.create('subscription', 'orphan', customer('orphan'));
    await tg.send('subscription', 'edited', { type: 'PAUSE' });

    // A direct write made with the override: state moved, snapshot left as it was.
    await sql.transaction(async (tx) => {
      await tx.query(`SET LOCAL tollgate.override = 'ticket 9: pause by hand'`);
      await tx.query(`UPDATE ${s}.entities SET state = 'paused.idle' WHERE machine = 'subscription' AND id = 'overridden'`);
    });
    // A legal override of a trial entity that leaves the trial's timer scheduled.
    await sql.transaction(async (tx) => {
      await tx.query(`SET LOCAL tollgate.override = 'ticket 10: activate by hand'`);
      await tx.query(`UPDATE ${s}.entities SET state = 'active', snapshot = jsonb_set(snapshot, '{value}', '"active"') WHERE machine = 'subscription' AND id = 'stale'`);
    });
    // An override to a state no event reaches.
    await tg.governance.override({ machine: 'subscription', id: 'illegal', state: 'trial', reason: 'undo a botched import', illegal: true });
    // Writes that bypass the triggers altogether (a superuser's replica-mode script): a history row edited, a snapshot changed.
    await sql.transaction(async (tx) => {
      await tx.query(`SET LOCAL session_replication_role = replica`);
      await tx.query(`UPDATE ${s}.transitions SET event_type = 'RESUME', event = '{"type":"RESUME"}' WHERE machine = 'subscription' AND entity_id = 'edited' AND seq = 2`);
      await tx.query(`UPDATE ${s}.entities SET snapshot = jsonb_set(snapshot, '{context,plan}', '"enterprise"') WHERE machine = 'subscription' AND id = 'tampered'`);
    });
    // An effect row inserted without its transition.
    await sql.query(
      `INSERT INTO ${s}.effects (id, transition_id, machine, entity_id, seq, idx, type, params, created_at)
       VALUES ('planted-e0', $1::uuid, 'subscription', 'orphan', 2, 0, 'chargePayment', '{}', now())`,
      [randomUUID()],
    );
    // A completed effect whose follow-up the gate never answered.
    await sql.query(
      `UPDATE ${s}.effects SET status = 'completed', completed_at = now() - interval '1 hour', follow_up = '{"type":"PAYMENT_SUCCEEDED","chargeId":"ch_1"}'
       WHERE machine = 'subscription' AND entity_id = 'followup'`,
    );

    const report = await tg.governance.audit();
    expect(kindsOf(report)).toEqual({
      overridden: ['override', 'state'],
      stale: ['override', 'stale-timer'],
      illegal: ['illegal-override'],
      edited: ['history'],
      tampered: ['snapshot'],
      orphan: ['orphan-effect'],
      followup: ['missing-follow-up'],
    });
    const finding = (id: string, kind: string) => report.entities.find((e) => e.entityId === id)?.findings.find((f) => f.kind === kind)?.detail;
    expect(finding('overridden', 'override')).toMatch(/seq 3: active -> paused\.idle by \S+: ticket 9: pause by hand/);
    expect(finding('overridden', 'state')).toBe("the state column says 'paused.idle'; the snapshot is in 'active'");
    expect(finding('edited', 'history')).toMatch(/^seq 2 \(RESUME in trial\): recorded accepted -> active, the machine gives refused \(TG_ILLEGAL_TRANSITION\)/);
    expect(finding('tampered', 'snapshot')).toBe('the stored snapshot differs from the replay of its history: context.plan: stored "enterprise", replayed "pro"');
    expect(finding('stale', 'stale-timer')).toMatch(/xstate\.after\.trialPeriod\.subscription\.trial\) is scheduled, but the entity has left its state/);
    expect(report.drift.find((d) => d.kind === 'override')).toMatchObject({ machine: 'subscription', entities: 2, examples: ['overridden', 'stale'] });

    // The next run replays nothing (no version moved) and reports the same, from the checkpoint and the set queries.
    const again = await tg.governance.audit({ machine: 'subscription' });
    expect(again.audited).toBe(0);
    expect(kindsOf(again)).toEqual(kindsOf(report));
    expect(await tg.metricsText()).toMatch(/tollgate_audit_drift_entities\{machine="subscription",kind="override"\} 2/);

    // A write that bypasses the triggers keeps the version, so only a full run replays it again.
    await sql.transaction(async (tx) => {
      await tx.query(`SET LOCAL session_replication_role = replica`);
      await tx.query(`UPDATE ${s}.entities SET snapshot = jsonb_set(snapshot, '{context,plan}', '"gold"') WHERE machine = 'subscription' AND id = 'clean'`);
    });
    expect(kindsOf(await tg.governance.audit({ machine: 'subscription' })).clean).toBeUndefined();
    const full = await tg.governance.audit({ machine: 'subscription', full: true });
    expect(full.audited).toBe(8);
    expect(kindsOf(full).clean).toEqual(['snapshot']);
  }, 60_000);
});
