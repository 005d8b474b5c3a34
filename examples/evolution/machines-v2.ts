import { order, payout, policies } from '../../machines/index.ts';
import { subscriptionV2 } from './subscription-v2.ts';

/** The registry of release 2: the new subscription (with its migration) and the unchanged order and payout. */
export const machines = { subscription: subscriptionV2, order, payout };

/** The policy versions are unchanged in release 2. */
export { policies };
