import { TollgateError, entityRef } from '../errors.ts';
import type { LiveHub } from './live-hub.ts';
import type { EntityView } from './views.ts';

/** Whether a stored state string (`a.x,b.y`) is `state` or inside it, in any parallel region. */
export function isInState(stored: string, state: string): boolean {
  return stored.split(',').some((leaf) => leaf === state || leaf.startsWith(`${state}.`));
}

/**
 * Resolves with the entity once it is in `state` (or inside it): at once if it is now, else after the commit that
 * takes it there, made by any process (the live hub sees other processes' commits within about a second).
 * TG_WAIT_TIMEOUT after `timeoutMs`, naming the state it is in then.
 */
export async function waitForState(
  get: () => Promise<EntityView>,
  hub: LiveHub,
  target: { readonly machine: string; readonly id: string },
  state: string,
  timeoutMs: number,
): Promise<EntityView> {
  let signalled = false;
  let timedOut = false;
  let wake = () => {};
  const signal = () => {
    signalled = true;
    wake();
  };
  // Watch before reading, so a commit between the read and the watch is not missed.
  const unwatch = hub.watch({ machine: target.machine, entityId: target.id }, (t) => {
    if (isInState(t.toState, state)) signal();
  });
  const timer = setTimeout(() => {
    timedOut = true;
    signal();
  }, timeoutMs);
  try {
    for (;;) {
      signalled = false;
      const entity = await get();
      if (isInState(entity.state, state)) return entity;
      if (timedOut) {
        throw new TollgateError(
          'TG_WAIT_TIMEOUT',
          `${entityRef(target.machine, target.id)} did not reach state '${state}' within ${timeoutMs} ms; it is in '${entity.state}'.`,
          { machine: target.machine, entityId: target.id, state: entity.state, waitFor: state },
        );
      }
      if (!signalled) await new Promise<void>((resolve) => (wake = resolve));
    }
  } finally {
    clearTimeout(timer);
    unwatch();
  }
}
