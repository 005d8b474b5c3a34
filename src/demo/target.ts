import { isTollgateError } from '../errors.ts';
import type { Tollgate } from '../runtime/create-tollgate.ts';
import type { EffectView, TransitionView } from '../runtime/views.ts';

/** A subscription event the demo sends (the demo's `subscription` machine, machines/subscription.ts, accepts them). */
export type DemoEvent =
  | { readonly type: 'UPGRADE'; readonly paymentMethodId: string }
  | { readonly type: 'RENEW' | 'PAUSE' | 'RESUME' }
  | { readonly type: 'PAYMENT_SUCCEEDED'; readonly chargeId: string }
  | { readonly type: 'PAYMENT_FAILED'; readonly reason: string }
  | { readonly type: 'CANCEL'; readonly reason?: string };

/** How one request ended: committed (or answered from its idempotency key), or refused with a code. */
export type DemoAnswer = { readonly replayed: boolean } | { readonly code: string };

/** The history and effect fields the integrity checks read. */
export type DemoTransition = Pick<TransitionView, 'id' | 'eventType' | 'fromState' | 'toState' | 'idempotencyKey'>;
export type DemoEffect = Pick<EffectView, 'transitionId' | 'type' | 'params'>;

/** Where the demo sends its traffic: an embedded runtime, or a running server over HTTP. */
export interface DemoTarget {
  /** For the summary line: `embedded PGlite`, `http://127.0.0.1:3000`, ... */
  readonly where: string;
  create(id: string, input: { customerId: string; plan: string }, idempotencyKey: string): Promise<DemoAnswer>;
  send(id: string, event: DemoEvent, idempotencyKey: string): Promise<DemoAnswer>;
  history(id: string): Promise<DemoTransition[]>;
  effects(id: string): Promise<DemoEffect[]>;
  /** The gate's conflict retries so far, if the target exposes them. */
  conflictRetries(): Promise<number | undefined>;
}

/** Sums a Prometheus counter over its labels. */
export function sumMetric(text: string, name: string): number {
  return [...text.matchAll(new RegExp(`^${name}(?:\\{[^}]*\\})? (\\d+)`, 'gm'))].reduce((total, m) => total + Number(m[1]), 0);
}

/** The demo against a runtime in this process. Coded refusals are answers; anything else is a bug and throws. */
export function runtimeTarget(tg: Tollgate, where: string): DemoTarget {
  const answer = async (request: Promise<{ replayed: boolean }>): Promise<DemoAnswer> => {
    try {
      return { replayed: (await request).replayed };
    } catch (error) {
      if (isTollgateError(error)) return { code: error.code };
      throw error;
    }
  };
  return {
    where,
    create: (id, input, idempotencyKey) => answer(tg.create('subscription', id, input, { idempotencyKey })),
    send: (id, event, idempotencyKey) => answer(tg.send('subscription', id, event, { idempotencyKey })),
    history: async (id) => [...(await tg.history('subscription', id, { limit: 1000 }))],
    effects: async (id) => [...(await tg.effects('subscription', id))],
    conflictRetries: async () => sumMetric(await tg.metricsText(), 'tollgate_conflict_retries_total'),
  };
}
