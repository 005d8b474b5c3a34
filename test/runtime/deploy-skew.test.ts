import type { Tollgate } from '../../src/runtime/create-tollgate.ts';
import { describe, expect, it } from 'vitest';
import { isTollgateError } from '../../src/errors.ts';
import { gadgetRelease1, gadgetRelease2, sprocketRelease1, sprocketRelease2, widgetRelease1, widgetRelease2 } from '../fixtures/widget-releases.ts';
import { testRuntime } from '../support/databases.ts';
import { testAccess } from '../../src/runtime/test-access.ts';

describe('the gate during a rolling deploy', () => {
  it('refuses, retryably and writing nothing, an event for an entity a newer machine version wrote', async () => {
    const newer = await testRuntime('postgres', { machines: { widget: widgetRelease2 }, maxConnections: 2 });
    const older = await testRuntime('postgres', { machines: { widget: widgetRelease1 }, maxConnections: 2, schema: testAccess(newer).schema });
    await newer.create('widget', 'w1', {});
    const error = await older.send('widget', 'w1', { type: 'GO' }).catch((e: unknown) => e);
    expect(isTollgateError(error, 'TG_MACHINE_VERSION_AHEAD')).toBe(true);
    expect(error).toMatchObject({ retryable: true, status: 503, details: { machineVersion: 2, runtimeMachineVersion: 1 } });
    expect(await newer.get('widget', 'w1')).toMatchObject({ state: 'waiting', version: 1, machineVersion: 2 });
    expect(await newer.rejections('widget', 'w1')).toEqual([]);
    // The newer release applies it.
    expect((await newer.send('widget', 'w1', { type: 'GO' })).entity.state).toBe('done');
  });

  it('an event type only the newer release has, for an entity that release wrote, is 503 retryable (not a final 422)', async () => {
    const newer = await testRuntime('postgres', { machines: { widget: widgetRelease2 }, maxConnections: 2 });
    const older = await testRuntime('postgres', { machines: { widget: widgetRelease1 }, maxConnections: 2, schema: testAccess(newer).schema });
    await newer.create('widget', 'p1', {});
    const error = await older.send('widget', 'p1', { type: 'PING' } as never).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'TG_MACHINE_VERSION_AHEAD', status: 503, retryable: true });
    const invalidCounted = /tollgate_rejections_total\{[^}]*code="TG_INVALID_EVENT"[^}]*\} 1/;
    expect(await older.metricsText()).not.toMatch(invalidCounted);
    // For an entity of its own version the older release still calls it what it is, and counts it.
    await older.create('widget', 'p1-old', {});
    expect(await older.send('widget', 'p1-old', { type: 'PING' } as never).catch((e: unknown) => e)).toMatchObject({ code: 'TG_INVALID_EVENT' });
    expect(await older.metricsText()).toMatch(invalidCounted);
  });

  it('an entity in a state only the newer release has is 503 retryable (not a final 500 TG_SNAPSHOT_INCOMPATIBLE)', async () => {
    const newer = await testRuntime('postgres', { machines: { gadget: gadgetRelease2 }, maxConnections: 2 });
    const older = await testRuntime('postgres', { machines: { gadget: gadgetRelease1 }, maxConnections: 2, schema: testAccess(newer).schema });
    await newer.create('gadget', 'g1', {});
    await newer.send('gadget', 'g1', { type: 'HOLD' });
    expect(await older.send('gadget', 'g1', { type: 'GO' }).catch((e: unknown) => e)).toMatchObject({ code: 'TG_MACHINE_VERSION_AHEAD', status: 503, retryable: true });
  });

  it('a retry of a request the newer release committed replays, whether or not the older process cached the entity', async () => {
    const newer = await testRuntime('postgres', { machines: { widget: widgetRelease2 }, maxConnections: 2 });
    const older = await testRuntime('postgres', { machines: { widget: widgetRelease1 }, maxConnections: 2, schema: testAccess(newer).schema });
    await newer.create('widget', 'p2', {});
    await newer.send('widget', 'p2', { type: 'GO' }, { idempotencyKey: 'k1' });
    expect(await older.send('widget', 'p2', { type: 'GO' }, { idempotencyKey: 'k1' })).toMatchObject({ replayed: true });
    await older.get('widget', 'p2'); // a read caches the entity (machine version 2)
    expect(await older.send('widget', 'p2', { type: 'GO' }, { idempotencyKey: 'k1' })).toMatchObject({ replayed: true });
  });

  it('a retry of a request the newer release committed into a state only it has is 503 retryable, cached or not (not a final 500)', async () => {
    const newer = await testRuntime('postgres', { machines: { sprocket: sprocketRelease2 }, maxConnections: 2 });
    const older = await testRuntime('postgres', { machines: { sprocket: sprocketRelease1 }, maxConnections: 2, schema: testAccess(newer).schema });
    for (const id of ['s1', 's2']) {
      await newer.create('sprocket', id, {});
      await newer.send('sprocket', id, { type: 'GO' }, { idempotencyKey: 'k1' }); // waiting -> held, a state only release 2 has
    }
    await newer.send('sprocket', 's1', { type: 'GO' }); // held -> done, which release 1 can restore
    await older.get('sprocket', 's1'); // cached in the older process
    for (const id of ['s1', 's2']) {
      const retried = await older.send('sprocket', id, { type: 'GO' }, { idempotencyKey: 'k1' }).catch((e: unknown) => e);
      expect(retried, id).toMatchObject({ code: 'TG_MACHINE_VERSION_AHEAD', status: 503, retryable: true });
    }
  });

  it('a dry run of an event only the newer release knows, for an entity it wrote, is the same retryable refusal', async () => {
    const newer = await testRuntime('postgres', { machines: { widget: widgetRelease2 }, maxConnections: 2 });
    const older = await testRuntime('postgres', { machines: { widget: widgetRelease1 }, maxConnections: 2, schema: testAccess(newer).schema });
    await newer.create('widget', 'd1', {});
    expect(await (older as never as Tollgate).dryRun('widget', 'd1', { type: 'PING' }).catch((e: unknown) => e)).toMatchObject({ code: 'TG_MACHINE_VERSION_AHEAD' });
    expect(await (older as never as Tollgate).dryRun('widget', 'd1', { type: 'GO' }).catch((e: unknown) => e)).toMatchObject({ code: 'TG_MACHINE_VERSION_AHEAD' });
  });

  it('after a rollback, acceptNewerMachineVersions lets the older release write what the newer one touched', async () => {
    const newer = await testRuntime('postgres', { machines: { widget: widgetRelease2 }, maxConnections: 2 });
    const rolledBack = await testRuntime('postgres', { machines: { widget: widgetRelease1 }, maxConnections: 2, schema: testAccess(newer).schema, acceptNewerMachineVersions: true });
    await newer.create('widget', 'p3', {});
    expect(await rolledBack.send('widget', 'p3', { type: 'GO' })).toMatchObject({ entity: { state: 'done', machineVersion: 1 } });
  });

  it('an older version entity is taken by the newer release as before', async () => {
    const older = await testRuntime('postgres', { machines: { widget: widgetRelease1 }, maxConnections: 2 });
    const newer = await testRuntime('postgres', { machines: { widget: widgetRelease2 }, maxConnections: 2, schema: testAccess(older).schema });
    await older.create('widget', 'w2', {});
    expect(await newer.send('widget', 'w2', { type: 'PING' })).toMatchObject({ entity: { state: 'done', machineVersion: 2 } });
  });
});
