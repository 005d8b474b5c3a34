import type { LifecycleEvent } from '../feed/event.ts';
import { TollgateError } from '../errors.ts';

/** An in-process consumer of the lifecycle feed (`tg.onTransition`). Throwing (or rejecting) has the event retried. */
export type TransitionHandler = (event: LifecycleEvent) => void | Promise<void>;

/** What an in-process consumer selects and how hard it is retried. */
export interface TransitionHandlerOptions {
  /** Only these machines. Default: all. */
  readonly machines?: readonly string[];
  /** Only these event types. Default: all. */
  readonly events?: readonly string[];
  /** Only transitions into or out of these states (or states inside them). Default: all. */
  readonly states?: readonly string[];
  /** Add the context after the transition to each event. Default false. */
  readonly withContext?: boolean;
  /** Attempts before an event is dead-lettered (`tollgate consumers redeliver` retries it). Default 10. */
  readonly maxAttempts?: number;
}

/** A handler registered under a consumer name. */
export interface RegisteredTransitionHandler {
  readonly name: string;
  readonly handler: TransitionHandler;
  readonly options: TransitionHandlerOptions;
}

/** Registers `handler` as consumer `name` in `handlers` (the runtime context's; the feed process reads it). */
export function registerTransitionHandler(
  handlers: Map<string, RegisteredTransitionHandler>,
  name: string,
  handler: TransitionHandler,
  options: TransitionHandlerOptions = {},
): void {
  if (typeof handler !== 'function') {
    throw new TollgateError('TG_INVALID_ARGUMENT', `onTransition('${name}'): the handler must be a function.`, { argument: 'handler' });
  }
  handlers.set(checkConsumerName(name), { name, handler, options });
}

/** Consumer names: letters, digits and `_ . -`, 1 to 100. */
export function checkConsumerName(name: unknown): string {
  if (typeof name !== 'string' || !/^[A-Za-z0-9_.-]{1,100}$/.test(name)) {
    throw new TollgateError('TG_INVALID_ARGUMENT', `A consumer name is 1 to 100 letters, digits, '_', '.' or '-'; got ${JSON.stringify(name)}.`, {
      argument: 'name',
    });
  }
  return name;
}
