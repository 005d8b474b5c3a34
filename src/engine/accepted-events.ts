import { __unsafe_getAllOwnEventDescriptors, type AnyMachineSnapshot } from 'xstate';

/**
 * The event descriptors the snapshot's active state configuration has a transition for (guarded or not),
 * including delayed `xstate.after.*` events and wildcard patterns (`'*'`, `'foo.*'`). Wraps XState's internal
 * `__unsafe_getAllOwnEventDescriptors` so that the one use of an unstable API sits behind a name of ours with its
 * own test (test/engine/engine.test.ts, 'acceptedEventTypes'): if an XState upgrade changes it, that test fails first.
 */
export function acceptedEventTypes(snapshot: AnyMachineSnapshot): string[] {
  if (snapshot.status !== 'active') return [];
  return [...new Set(__unsafe_getAllOwnEventDescriptors(snapshot))];
}

/** Whether a descriptor is a pattern (`'*'` or `'foo.*'`) rather than one event type. */
export function isWildcard(descriptor: string): boolean {
  return descriptor === '*' || descriptor.endsWith('.*');
}

/**
 * Whether `eventType` matches `descriptor` as XState v5 matches them: the same type; `'*'`, any type; `'a.b.*'`,
 * every type whose dot-separated tokens start with `a`, `b` (`'a.b'` itself included).
 */
export function matchesDescriptor(eventType: string, descriptor: string): boolean {
  if (descriptor === eventType || descriptor === '*') return true;
  if (!descriptor.endsWith('.*')) return false;
  const pattern = descriptor.split('.');
  const tokens = eventType.split('.');
  for (let i = 0; i < pattern.length; i++) {
    if (pattern[i] === '*') return i === pattern.length - 1;
    if (pattern[i] !== tokens[i]) return false;
  }
  return true;
}

/** Whether some accepted descriptor of the snapshot matches `eventType` (legality, before guards). */
export function handlesEvent(snapshot: AnyMachineSnapshot, eventType: string): boolean {
  return acceptedEventTypes(snapshot).some((descriptor) => matchesDescriptor(eventType, descriptor));
}

/**
 * The event types a caller can send now (guards not evaluated): the state's own event types, then those of
 * `callerEvents` (the machine's declared events) that one of its wildcard descriptors matches. Internal
 * `xstate.*` events and the patterns themselves are never listed.
 */
export function nextEvents(snapshot: AnyMachineSnapshot, callerEvents: readonly string[]): string[] {
  const descriptors = acceptedEventTypes(snapshot).filter((type) => !type.startsWith('xstate.'));
  const exact = descriptors.filter((type) => !isWildcard(type));
  const patterns = descriptors.filter(isWildcard);
  if (patterns.length === 0) return exact;
  const matched = callerEvents.filter((type) => !exact.includes(type) && patterns.some((pattern) => matchesDescriptor(type, pattern)));
  return [...exact, ...matched];
}
