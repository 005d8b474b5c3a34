import { order, payout, policies } from '../../machines/index.ts';
import { subscriptionV2WithoutMigration } from './subscription-v2.ts';

/** Release 2 as first written, without the migration of `grace`: `tollgate deploy-check` fails on it. */
export const machines = { subscription: subscriptionV2WithoutMigration, order, payout };

/** The policy versions are unchanged in release 2. */
export { policies };
