import { beforeAll, describe, expect, it } from 'vitest';
import type { EventOf, Tollgate } from '../../src/index.ts';
import type { machines } from '../../machines/index.ts';
import {
  subscriptionIllegal,
  subscriptionLegal,
  subscriptionStates,
  type ContractEvent,
  type SubscriptionSituation,
} from '../contracts/subscription-contract.ts';
import { backends } from '../support/databases.ts';
import { footprint, subscriptionRuntime } from '../support/subscriptions.ts';
import { testAccess } from '../../src/runtime/test-access.ts';

type Tg = Tollgate<typeof machines>;
let counter = 0;

/** Sends a contract event the way production does: caller events through send(), delayed ones as their timer. */
async function deliver(tg: Tg, id: string, event: ContractEvent) {
  if (!event.type.startsWith('xstate.after.')) return tg.send('subscription', id, event as EventOf<(typeof machines)['subscription']>);
  const timer = (await tg.timers('subscription', id)).find((t) => t.eventType === event.type && t.status === 'scheduled');
  return testAccess(tg).send('subscription', id, event, { internal: true, firedTimerId: timer?.id, idempotencyKey: timer?.id });
}

async function reach(tg: Tg, situation: SubscriptionSituation): Promise<string> {
  const id = `contract-${++counter}`;
  const { input, path } = subscriptionStates[situation];
  await tg.create('subscription', id, input);
  for (const event of path) await deliver(tg, id, event);
  expect((await tg.get('subscription', id)).value).toEqual(subscriptionStates[situation].value);
  return id;
}

describe.each(backends())('subscription contract through the runtime on %s', (backend) => {
  let tg: Tg;
  beforeAll(async () => {
    ({ tg } = await subscriptionRuntime(backend));
  });

  it.each(subscriptionLegal.map((row) => [`${row.from} --${row.event.type}--> ${row.to}`, row] as const))('legal: %s', async (_name, row) => {
    const id = await reach(tg, row.from);
    const before = await footprint(tg, 'subscription', id);

    const result = await deliver(tg, id, row.event);

    expect(result.entity.value).toEqual(subscriptionStates[row.to].value);
    expect(result.entity.version).toBe(before.entity.version + 1);
    const after = await footprint(tg, 'subscription', id);
    expect(after.entity.value).toEqual(subscriptionStates[row.to].value);
    expect(after.history).toHaveLength(before.history.length + 1);
    const written = after.effects.filter((e) => e.transitionId === result.transition.id).map((e) => ({ type: e.type, params: e.params }));
    expect(written).toEqual(row.effects);
    expect(after.effects).toHaveLength(before.effects.length + row.effects.length);
    expect(after.effects.every((e) => e.status === 'pending')).toBe(true);
  });

  it.each(subscriptionIllegal.map((row) => [`${row.from} x ${row.event.type}`, row] as const))('illegal: %s', async (_name, row) => {
    const id = await reach(tg, row.from);
    const before = await footprint(tg, 'subscription', id);
    const rejectionsBefore = await tg.rejections('subscription', id);

    const error = await deliver(tg, id, row.event).catch((e: unknown) => e);

    expect(error).toMatchObject({ code: 'TG_ILLEGAL_TRANSITION', details: { machine: 'subscription', entityId: id, event: row.event.type } });
    expect(await footprint(tg, 'subscription', id)).toEqual(before);
    const rejections = await tg.rejections('subscription', id);
    expect(rejections).toHaveLength(rejectionsBefore.length + 1);
    expect(rejections.at(-1)).toMatchObject({ code: 'TG_ILLEGAL_TRANSITION', eventType: row.event.type });
  });
});
