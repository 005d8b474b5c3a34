import { __unsafe_getAllOwnEventDescriptors, type AnyMachineSnapshot } from 'xstate';

/**
 * The event types the snapshot's active state configuration has a transition for (guarded or not), including
 * delayed `xstate.after.*` events. Wraps XState's internal `__unsafe_getAllOwnEventDescriptors` so that the one
 * use of an unstable API sits behind a name of ours with its own test (test/engine/accepted-events.test.ts):
 * if an XState upgrade changes it, that test fails first.
 */
export function acceptedEventTypes(snapshot: AnyMachineSnapshot): string[] {
  if (snapshot.status !== 'active') return [];
  return [...new Set(__unsafe_getAllOwnEventDescriptors(snapshot))];
}

/** Accepted event types a caller can send (without the internal delayed `xstate.*` ones). */
export function nextEvents(snapshot: AnyMachineSnapshot): string[] {
  return acceptedEventTypes(snapshot).filter((type) => !type.startsWith('xstate.'));
}
