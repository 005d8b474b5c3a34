import { describe, expect, it } from 'vitest';
import {
  __unsafe_getAllOwnEventDescriptors,
  initialTransition,
  transition,
  type EventFromLogic,
  type SnapshotFrom,
} from 'xstate';
import {
  DEFAULT_AMOUNT_CENTS,
  DEFAULT_GRACE_PERIOD_MS,
  DEFAULT_TRIAL_PERIOD_MS,
  subscription,
  subscriptionMachine,
  type SubscriptionInput,
} from '../../machines/subscription.ts';
import {
  GRACE_TIMER,
  TRIAL_TIMER,
  subscriptionAllEventTypes,
  subscriptionEventTypes,
  subscriptionIllegal,
  subscriptionLegal,
  subscriptionStates,
  type ContractEvent,
  type SubscriptionSituation,
} from '../contracts/subscription-contract.ts';

type Snapshot = SnapshotFrom<typeof subscriptionMachine>;
interface Action {
  type: string;
  params?: unknown;
}

// Timer events are not in the machine's event union; xstate accepts them at runtime all the same.
const send = (snapshot: Snapshot, event: ContractEvent) =>
  transition(subscriptionMachine, snapshot, event as EventFromLogic<typeof subscriptionMachine>);

const custom = (actions: Action[]) =>
  actions.filter((a) => !a.type.startsWith('xstate.')).map((a) => ({ type: a.type, params: a.params }));

function reach(name: SubscriptionSituation): Snapshot {
  const { input, path } = subscriptionStates[name];
  let [snapshot] = initialTransition(subscriptionMachine, input);
  for (const event of path) [snapshot] = send(snapshot, event);
  return snapshot;
}

// A delayed raise (a timer to store) and its cancellation, as transition() reports them.
const raised = (id: string, delay: number) =>
  expect.objectContaining({ type: 'xstate.raise', params: expect.objectContaining({ id, delay }) });
const cancelled = (id: string) => expect.objectContaining({ type: 'xstate.cancel', params: { sendId: id } });

const situations = Object.keys(subscriptionStates) as SubscriptionSituation[];

describe('subscription contract', () => {
  it.each(situations)('%s is reachable by its path', (name) => {
    expect(reach(name).value).toEqual(subscriptionStates[name].value);
  });

  it.each(subscriptionLegal.map((row) => [row.from, row.event.type, row] as const))(
    '%s + %s is legal',
    (_from, _type, row) => {
      const [next, actions] = send(reach(row.from), row.event);
      expect(next.value).toEqual(subscriptionStates[row.to].value);
      expect(custom(actions)).toEqual(row.effects);
    },
  );

  it.each(subscriptionIllegal.map((pair) => [pair.from, pair.event.type, pair] as const))(
    '%s + %s is illegal',
    (_from, _type, pair) => {
      const before = reach(pair.from);
      const [next, actions] = send(before, pair.event);
      expect(next).toBe(before);
      expect(actions).toEqual([]);
    },
  );

  // The runtime tells "illegal" from "guard rejected" by the accepted descriptors: an illegal pair must not be
  // accepted-with-a-false-guard.
  it.each(situations)('%s accepts exactly its legal event types', (name) => {
    const legal = new Set(subscriptionLegal.filter((row) => row.from === name).map((row) => row.event.type));
    const accepted = new Set(__unsafe_getAllOwnEventDescriptors(reach(name)) as string[]);
    expect(accepted).toEqual(legal);
  });

  it('covers every (situation, event) pair exactly once', () => {
    const keys = [...subscriptionLegal, ...subscriptionIllegal].map((p) => `${p.from}/${p.event.type}`);
    expect(new Set(keys).size).toBe(keys.length);
    expect(keys).toHaveLength(situations.length * subscriptionAllEventTypes.length);
  });

  it('lists exactly the definition events', () => {
    expect(Object.keys(subscription.events).sort()).toEqual([...subscriptionEventTypes].sort());
  });

  it('canceled is final', () => {
    expect(reach('canceled').status).toBe('done');
  });
});

describe('subscription timers', () => {
  const base: SubscriptionInput = { customerId: 'cus_1', plan: 'basic' };

  it('the trial delay comes from context', () => {
    const [, actions] = initialTransition(subscriptionMachine, { ...base, trialPeriodMs: 1234 });
    expect(actions).toContainEqual(raised(TRIAL_TIMER, 1234));
  });

  it('the grace delay comes from context', () => {
    const [trial] = initialTransition(subscriptionMachine, { ...base, gracePeriodMs: 4321 });
    const [active] = transition(subscriptionMachine, trial, { type: 'UPGRADE', paymentMethodId: 'pm_1' });
    const [grace, actions] = transition(subscriptionMachine, active, { type: 'PAYMENT_FAILED' });
    expect(grace.value).toBe('grace');
    expect(actions).toContainEqual(raised(GRACE_TIMER, 4321));
  });

  it('delays default to 14 and 7 days', () => {
    const [snapshot] = initialTransition(subscriptionMachine, base);
    expect(snapshot.context.trialPeriodMs).toBe(DEFAULT_TRIAL_PERIOD_MS);
    expect(snapshot.context.gracePeriodMs).toBe(DEFAULT_GRACE_PERIOD_MS);
    expect(DEFAULT_TRIAL_PERIOD_MS).toBe(14 * 24 * 3600_000);
    expect(DEFAULT_GRACE_PERIOD_MS).toBe(7 * 24 * 3600_000);
  });

  it('trial expiry without a payment method cancels with a trial_expired email', () => {
    const [trial] = initialTransition(subscriptionMachine, base);
    const [next, actions] = send(trial, { type: TRIAL_TIMER });
    expect(next.value).toBe('canceled');
    expect(next.status).toBe('done');
    expect(custom(actions)).toEqual([
      { type: 'sendEmail', params: { customerId: 'cus_1', template: 'trial_expired' } },
    ]);
  });

  it('trial expiry with a payment method converts with one charge', () => {
    const [trial] = initialTransition(subscriptionMachine, { ...base, paymentMethodId: 'pm_1' });
    const [next, actions] = send(trial, { type: TRIAL_TIMER });
    expect(next.value).toBe('active');
    expect(custom(actions)).toEqual([
      {
        type: 'chargePayment',
        params: { customerId: 'cus_1', amountCents: 1000, paymentMethodId: 'pm_1', reason: 'trial_converted' },
      },
    ]);
  });

  it('leaving the trial early cancels its timer', () => {
    const [trial] = initialTransition(subscriptionMachine, base);
    const [, actions] = transition(subscriptionMachine, trial, { type: 'CANCEL' });
    expect(actions).toContainEqual(cancelled(TRIAL_TIMER));
  });
});

describe('subscription context', () => {
  it('prices by plan, then falls back to the default', () => {
    const price = (input: SubscriptionInput) => initialTransition(subscriptionMachine, input)[0].context.amountCents;
    expect(price({ customerId: 'c', plan: 'pro' })).toBe(2900);
    expect(price({ customerId: 'c', plan: 'unheard-of' })).toBe(DEFAULT_AMOUNT_CENTS);
    expect(price({ customerId: 'c', plan: 'constructor' })).toBe(DEFAULT_AMOUNT_CENTS);
    expect(price({ customerId: 'c', plan: 'pro', amountCents: 5 })).toBe(5);
  });

  it('records payments', () => {
    let [snapshot] = initialTransition(subscriptionMachine, { customerId: 'c', plan: 'pro' });
    [snapshot] = transition(subscriptionMachine, snapshot, { type: 'UPGRADE', paymentMethodId: 'pm' });
    [snapshot] = transition(subscriptionMachine, snapshot, { type: 'PAYMENT_SUCCEEDED', chargeId: 'ch_1' });
    [snapshot] = transition(subscriptionMachine, snapshot, { type: 'PAYMENT_SUCCEEDED' });
    expect(snapshot.context).toMatchObject({ payments: 2, lastChargeId: null });
  });

  it('survives a JSON round trip mid-life', () => {
    const grace = reach('grace');
    const restored = subscriptionMachine.resolveState(JSON.parse(JSON.stringify(grace)));
    const [next, actions] = transition(subscriptionMachine, restored, { type: 'PAYMENT_SUCCEEDED' });
    expect(next.value).toBe('active');
    expect(custom(actions)).toEqual([]);
  });

  it('every effect param is plain JSON', () => {
    for (const row of subscriptionLegal) {
      const [, actions] = send(reach(row.from), row.event);
      for (const effect of custom(actions)) expect(JSON.parse(JSON.stringify(effect))).toEqual(effect);
    }
  });
});

describe('subscription schemas', () => {
  it('input rejects unknown keys and non-positive delays', () => {
    expect(subscription.input.safeParse({ customerId: 'c', plan: 'p' }).success).toBe(true);
    expect(subscription.input.safeParse({ customerId: 'c', plan: 'p', extra: 1 }).success).toBe(false);
    expect(subscription.input.safeParse({ customerId: 'c', plan: 'p', trialPeriodMs: 0 }).success).toBe(false);
    expect(subscription.input.safeParse({ customerId: 'c', plan: 'p', gracePeriodMs: 1.5 }).success).toBe(false);
  });

  it('event payloads are strict', () => {
    expect(subscription.events.UPGRADE.safeParse({ paymentMethodId: 'pm' }).success).toBe(true);
    expect(subscription.events.UPGRADE.safeParse({}).success).toBe(false);
    expect(subscription.events.RENEW.safeParse({ amountCents: 1 }).success).toBe(false);
  });

  it('declares chargePayment compensation', () => {
    expect(subscription.compensations).toEqual({ chargePayment: 'PAYMENT_FAILED' });
  });
});
