import { describe, expect, it } from 'vitest';
import {
  __unsafe_getAllOwnEventDescriptors,
  initialTransition,
  transition,
  type EventFromLogic,
  type SnapshotFrom,
} from 'xstate';
import { DEFAULT_REVIEW_THRESHOLD_CENTS, payout, payoutMachine, type PayoutInput } from '../../machines/payout.ts';

const RETRY_TIMER = 'xstate.after.retryDelay.payout.retrying';
const REVIEW_TIMER = 'xstate.after.reviewTimeout.payout.review.pending';

type Snapshot = SnapshotFrom<typeof payoutMachine>;
type Event = EventFromLogic<typeof payoutMachine> | { type: typeof RETRY_TIMER } | { type: typeof REVIEW_TIMER };
interface Action {
  type: string;
  params?: unknown;
}

const small: PayoutInput = { payoutId: 'po_1', customerId: 'cus_1', amountCents: 5000, retryDelayMs: 30 };
const large: PayoutInput = { ...small, amountCents: DEFAULT_REVIEW_THRESHOLD_CENTS, reviewTimeoutMs: 60 };

// Timer events are not in the machine's event union; xstate accepts them at runtime all the same.
const send = (snapshot: Snapshot, event: Event) =>
  transition(payoutMachine, snapshot, event as EventFromLogic<typeof payoutMachine>);

function run(input: PayoutInput, ...events: Event[]): [Snapshot, Action[]] {
  let [snapshot, actions]: [Snapshot, Action[]] = initialTransition(payoutMachine, input);
  for (const event of events) [snapshot, actions] = send(snapshot, event);
  return [snapshot, actions];
}

const custom = (actions: Action[]) =>
  actions.filter((a) => !a.type.startsWith('xstate.')).map((a) => ({ type: a.type, params: a.params }));

const transfer = (attempt: number, amountCents = 5000) => ({
  type: 'transferFunds',
  params: { payoutId: 'po_1', customerId: 'cus_1', amountCents, attempt },
});
const email = (template: string) => ({
  type: 'sendEmail',
  params: { customerId: 'cus_1', template, payoutId: 'po_1' },
});
const compliance = (reason: string) => ({
  type: 'notifyCompliance',
  params: { payoutId: 'po_1', amountCents: DEFAULT_REVIEW_THRESHOLD_CENTS, reason },
});

// A delayed raise (a timer to store) and its cancellation, as transition() reports them.
const raised = (id: string, delay: number) =>
  expect.objectContaining({ type: 'xstate.raise', params: expect.objectContaining({ id, delay }) });
const cancelled = (id: string) => expect.objectContaining({ type: 'xstate.cancel', params: { sendId: id } });

const SUBMIT = { type: 'SUBMIT' } as const;
const FAILED = { type: 'TRANSFER_FAILED', reason: 'bank_unavailable' } as const;
const APPROVE = { type: 'APPROVE', reviewerId: 'rev_1' } as const;
const REJECT = { type: 'REJECT', reviewerId: 'rev_1', reason: 'sanctions_hit' } as const;

function expectIllegal(before: Snapshot, event: Event) {
  const [after, actions] = send(before, event);
  expect(after).toBe(before);
  expect(actions).toEqual([]);
  expect(__unsafe_getAllOwnEventDescriptors(before)).not.toContain(event.type);
}

describe('payout: straight through', () => {
  it('a payout under the threshold transfers at once', () => {
    const [snapshot, actions] = run(small, SUBMIT);
    expect(snapshot.value).toBe('processing');
    expect(custom(actions)).toEqual([transfer(1)]);
  });

  it('a successful transfer pays out', () => {
    const [snapshot, actions] = run(small, SUBMIT, { type: 'TRANSFER_SUCCEEDED', transferId: 'tr_1' });
    expect(snapshot.value).toBe('paid');
    expect(snapshot.status).toBe('done');
    expect(snapshot.context.transferId).toBe('tr_1');
    expect(custom(actions)).toEqual([email('payout_paid')]);
  });
});

describe('payout: compliance review', () => {
  it('a payout at the threshold goes to review', () => {
    const [snapshot, actions] = run(large, SUBMIT);
    expect(snapshot.value).toEqual({ review: 'pending' });
    expect(custom(actions)).toEqual([compliance('review_requested')]);
    expect(actions).toContainEqual(raised(REVIEW_TIMER, 60));
  });

  it('the threshold comes from context', () => {
    expect(run({ ...small, reviewThresholdCents: 5000 }, SUBMIT)[0].value).toEqual({ review: 'pending' });
    expect(run({ ...small, reviewThresholdCents: 5001 }, SUBMIT)[0].value).toBe('processing');
  });

  it('approval starts the transfer and records the reviewer', () => {
    const [snapshot, actions] = run(large, SUBMIT, APPROVE);
    expect(snapshot.value).toBe('processing');
    expect(snapshot.context.reviewerId).toBe('rev_1');
    expect(custom(actions)).toEqual([transfer(1, DEFAULT_REVIEW_THRESHOLD_CENTS)]);
    expect(actions).toContainEqual(cancelled(REVIEW_TIMER));
  });

  it('escalates on request or when the review window ends', () => {
    const [byHand, handActions] = run(large, SUBMIT, { type: 'ESCALATE' });
    expect(byHand.value).toEqual({ review: 'escalated' });
    expect(custom(handActions)).toEqual([compliance('escalated')]);

    const [byTimer, timerActions] = run(large, SUBMIT, { type: REVIEW_TIMER });
    expect(byTimer.value).toEqual({ review: 'escalated' });
    expect(custom(timerActions)).toEqual([compliance('review_timeout')]);
  });

  it('an escalated review can be approved', () => {
    const [snapshot, actions] = run(large, SUBMIT, { type: 'ESCALATE' }, APPROVE);
    expect(snapshot.value).toBe('processing');
    expect(custom(actions)).toEqual([transfer(1, DEFAULT_REVIEW_THRESHOLD_CENTS)]);
  });

  it.each([
    ['pending', [SUBMIT]],
    ['escalated', [SUBMIT, { type: 'ESCALATE' }]],
  ] as const)('rejection from review.%s is final', (_sub, path) => {
    const [snapshot, actions] = run(large, ...path, REJECT);
    expect(snapshot.value).toBe('rejected');
    expect(snapshot.status).toBe('done');
    expect(custom(actions)).toEqual([email('payout_rejected')]);
  });
});

describe('payout: retries', () => {
  it('a failed transfer waits the retry delay from context, then transfers again', () => {
    const [retrying, failActions] = run(small, SUBMIT, FAILED);
    expect(retrying.value).toBe('retrying');
    expect(retrying.context.lastError).toBe('bank_unavailable');
    expect(custom(failActions)).toEqual([]);
    expect(failActions).toContainEqual(raised(RETRY_TIMER, 30));

    const [processing, retryActions] = send(retrying, { type: RETRY_TIMER });
    expect(processing.value).toBe('processing');
    expect(custom(retryActions)).toEqual([transfer(2)]);
  });

  it('gives up after maxAttempts transfers (default 3)', () => {
    const events: Event[] = [SUBMIT, FAILED, { type: RETRY_TIMER }, FAILED, { type: RETRY_TIMER }];
    let [snapshot, actions]: [Snapshot, Action[]] = initialTransition(payoutMachine, small);
    const transfers: unknown[] = [];
    for (const event of events) {
      [snapshot, actions] = send(snapshot, event);
      transfers.push(...custom(actions).filter((a) => a.type === 'transferFunds'));
    }
    expect(transfers).toEqual([transfer(1), transfer(2), transfer(3)]);

    const [failed, failedActions] = send(snapshot, FAILED);
    expect(failed.value).toBe('failed');
    expect(failed.status).toBe('done');
    expect(failed.context.attempts).toBe(3);
    expect(custom(failedActions)).toEqual([email('payout_failed')]);
  });

  it('maxAttempts 1 fails on the first failure', () => {
    expect(run({ ...small, maxAttempts: 1 }, SUBMIT, FAILED)[0].value).toBe('failed');
  });
});

describe('payout: illegal events', () => {
  it('TRANSFER_FAILED while waiting to retry', () => expectIllegal(run(small, SUBMIT, FAILED)[0], FAILED));
  it('APPROVE while processing', () => expectIllegal(run(small, SUBMIT)[0], APPROVE));
  it('SUBMIT twice', () => expectIllegal(run(large, SUBMIT)[0], SUBMIT));
  it('ESCALATE an escalated review', () =>
    expectIllegal(run(large, SUBMIT, { type: 'ESCALATE' })[0], { type: 'ESCALATE' }));
  it('TRANSFER_SUCCEEDED before submission', () => expectIllegal(run(small)[0], { type: 'TRANSFER_SUCCEEDED' }));
  it('anything once paid', () => {
    const [paid] = run(small, SUBMIT, { type: 'TRANSFER_SUCCEEDED' });
    for (const event of [FAILED, SUBMIT, REJECT] as const) expectIllegal(paid, event);
  });
});

describe('payout: definition', () => {
  it('declares the transferFunds compensation, handled while processing', () => {
    expect(payout.compensations).toEqual({ transferFunds: 'TRANSFER_FAILED' });
    expect(__unsafe_getAllOwnEventDescriptors(run(small, SUBMIT)[0])).toContain('TRANSFER_FAILED');
  });

  it('input and payloads are strict', () => {
    expect(payout.input.safeParse(small).success).toBe(true);
    expect(payout.input.safeParse({ ...small, maxAttempts: 0 }).success).toBe(false);
    expect(payout.events.REJECT.safeParse({ reviewerId: 'r' }).success).toBe(false);
    expect(payout.events.SUBMIT.safeParse({ amountCents: 1 }).success).toBe(false);
  });
});
