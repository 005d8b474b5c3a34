import { order, payout } from '../../machines/index.ts';
import { subscriptionV2WithoutMigration } from './subscription-v2.ts';

/** Release 2 as first written, without the migration of `grace`: `tollgate deploy-check` fails on it. */
export const machines = { subscription: subscriptionV2WithoutMigration, order, payout };
