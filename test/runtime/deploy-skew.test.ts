import { describe, expect, it } from 'vitest';
import { isTollgateError } from '../../src/errors.ts';
import { widgetRelease1, widgetRelease2 } from '../fixtures/widget-releases.ts';
import { testRuntime } from '../support/databases.ts';

describe('the gate during a rolling deploy', () => {
  it('refuses, retryably and writing nothing, an event for an entity a newer machine version wrote', async () => {
    const newer = await testRuntime('postgres', { machines: { widget: widgetRelease2 }, maxConnections: 2 });
    const older = await testRuntime('postgres', { machines: { widget: widgetRelease1 }, maxConnections: 2, schema: newer.internals.schema });
    await newer.create('widget', 'w1', {});
    const error = await older.send('widget', 'w1', { type: 'GO' }).catch((e: unknown) => e);
    expect(isTollgateError(error, 'TG_MACHINE_VERSION_AHEAD')).toBe(true);
    expect(error).toMatchObject({ retryable: true, status: 503, details: { machineVersion: 2, runtimeMachineVersion: 1 } });
    expect(await newer.get('widget', 'w1')).toMatchObject({ state: 'waiting', version: 1, machineVersion: 2 });
    expect(await newer.rejections('widget', 'w1')).toEqual([]);
    // The newer release applies it.
    expect((await newer.send('widget', 'w1', { type: 'GO' })).entity.state).toBe('done');
  });

  it('an older version entity is taken by the newer release as before', async () => {
    const older = await testRuntime('postgres', { machines: { widget: widgetRelease1 }, maxConnections: 2 });
    const newer = await testRuntime('postgres', { machines: { widget: widgetRelease2 }, maxConnections: 2, schema: older.internals.schema });
    await older.create('widget', 'w2', {});
    expect(await newer.send('widget', 'w2', { type: 'PING' })).toMatchObject({ entity: { state: 'done', machineVersion: 2 } });
  });
});
