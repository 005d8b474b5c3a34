import type { MachineRegistry } from '../src/engine/definition.ts';
import { order } from './order.ts';
import { payout } from './payout.ts';
import { policies } from './policies.ts';
import { subscription } from './subscription.ts';

export { order, payout, subscription, policies };

/** The built-in lifecycles, by registry name (each machine's `id` equals its name). */
export const machines = { subscription, order, payout } satisfies MachineRegistry;
