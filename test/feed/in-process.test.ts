import { afterEach, describe, expect, it } from 'vitest';
import type { LifecycleEvent } from '../../src/feed/event.ts';
import { consumerStore } from '../../src/store/consumer-store.ts';
import { backends, testRuntime } from '../support/databases.ts';
import { eventually } from '../support/processes.ts';
import { feedMachines, stopFeeds, testFeed } from './support.ts';
import { testAccess } from '../../src/runtime/test-access.ts';

afterEach(stopFeeds);

describe.each(backends())('lifecycle feed, in-process consumers (%s)', (backend) => {
  it('delivers every committed transition as a lifecycle event, with the context when asked', { timeout: 60_000 }, async () => {
    const tg = await testRuntime(backend, { machines: feedMachines });
    const got: LifecycleEvent[] = [];
    tg.onTransition('audit', (e) => void got.push(e), { withContext: true });
    testFeed(tg);
    await eventually(async () => (await consumerStore(testAccess(tg).client, testAccess(tg).schema).list()).length === 1, 20_000, 'consumer row');
    await tg.create('ticket', 't-1', {}, { actor: 'alice' });
    const sent = await tg.send('ticket', 't-1', { type: 'NOTE', text: 'hi' }, { idempotencyKey: 'k1' });
    await tg.send('ticket', 't-1', { type: 'CLOSE' });
    await eventually(() => got.length === 3, 20_000, 'three events');
    expect(got.map((e) => [e.seq, e.from, e.to, e.event.type])).toEqual([
      [1, null, 'open', 'xstate.init'],
      [2, 'open', 'open', 'NOTE'],
      [3, 'open', 'closed', 'CLOSE'],
    ]);
    const note = got[1] as LifecycleEvent;
    expect(note).toMatchObject({
      id: sent.transition.id,
      type: 'ticket.transitioned',
      machine: 'ticket',
      entityId: 't-1',
      event: { type: 'NOTE', text: 'hi' },
      machineVersion: 1,
      policyVersion: null,
      context: { notes: 1 },
    });
    expect(got[0]?.actor).toBe('alice');
    expect(Date.parse(note.at)).toBeGreaterThan(0);
  });

});

describe.runIf(backends().includes('postgres'))('lifecycle feed, in-process consumers (postgres)', () => {
  const backend = 'postgres';
  it('selects by machine, event type and state', async () => {
    const tg = await testRuntime(backend, { machines: feedMachines });
    const byMachine: LifecycleEvent[] = [];
    const byEvent: LifecycleEvent[] = [];
    const byState: LifecycleEvent[] = [];
    tg.onTransition('cases', (e) => void byMachine.push(e), { machines: ['case'] });
    tg.onTransition('closes', (e) => void byEvent.push(e), { events: ['CLOSE'] });
    tg.onTransition('closed', (e) => void byState.push(e), { states: ['closed'] });
    testFeed(tg);
    await eventually(async () => (await consumerStore(testAccess(tg).client, testAccess(tg).schema).list()).length === 3, 5000, 'consumer rows');
    await tg.create('ticket', 'a', {});
    await tg.create('case', 'b', {});
    await tg.send('ticket', 'a', { type: 'CLOSE' });
    await tg.send('ticket', 'a', { type: 'REOPEN' });
    await tg.send('case', 'b', { type: 'NOTE', text: 'x' });
    await eventually(() => byMachine.length === 2 && byEvent.length === 1 && byState.length === 2, 10_000, 'selected events');
    expect(byMachine.map((e) => `${e.machine}:${e.seq}`)).toEqual(['case:1', 'case:2']);
    expect(byEvent.map((e) => e.event.type)).toEqual(['CLOSE']);
    expect(byState.map((e) => e.event.type)).toEqual(['CLOSE', 'REOPEN']);
    expect(byEvent[0]?.context).toBeUndefined();
  });

  it('resumes after a restart at its cursor: nothing skipped', async () => {
    const tg = await testRuntime(backend, { machines: feedMachines });
    const got: LifecycleEvent[] = [];
    tg.onTransition('resume', (e) => void got.push(e));
    const first = testFeed(tg);
    await eventually(async () => (await consumerStore(testAccess(tg).client, testAccess(tg).schema).list()).length === 1, 5000, 'consumer row');
    await tg.create('ticket', 'r', {});
    await eventually(() => got.length === 1, 10_000, 'first event');
    await first.stop();
    await tg.send('ticket', 'r', { type: 'CLOSE' });
    await tg.send('ticket', 'r', { type: 'REOPEN' });
    testFeed(tg);
    await eventually(() => new Set(got.map((e) => e.id)).size === 3, 10_000, 'events after the restart');
    expect([...new Set(got.map((e) => e.seq))]).toEqual([1, 2, 3]);
  });
});
