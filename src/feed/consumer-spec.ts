import { TollgateError } from '../errors.ts';
import { checkConsumerName } from '../runtime/transition-handlers.ts';
import type { ConsumerSpec, ConsumerStatus, RewindTarget } from '../store/consumer-store.ts';
import { natsTarget } from './sinks/nats.ts';

/** What `consumers add` and `POST /v1/consumers` take. */
export interface ConsumerInput {
  readonly name: string;
  /** Exactly one of webhook (with secret) and nats. */
  readonly webhook?: string;
  readonly secret?: string;
  readonly nats?: string;
  readonly machines?: readonly string[];
  readonly events?: readonly string[];
  readonly states?: readonly string[];
  readonly withContext?: boolean;
  /** Default 10. */
  readonly maxAttempts?: number;
}

function invalid(argument: string, message: string): TollgateError {
  return new TollgateError('TG_INVALID_ARGUMENT', message, { argument });
}

/** Checks an add request against the registered machines; the spec to store, or TG_INVALID_ARGUMENT saying what is wrong. */
export function consumerSpecOf(input: ConsumerInput, machines: readonly string[]): ConsumerSpec {
  const name = checkConsumerName(input.name);
  if ((input.webhook === undefined) === (input.nats === undefined)) throw invalid('sink', `Consumer '${name}' needs exactly one of a webhook URL or a NATS URL.`);
  let target: string;
  if (input.webhook !== undefined) {
    const url = URL.canParse(input.webhook) ? new URL(input.webhook) : undefined;
    if (!url || (url.protocol !== 'http:' && url.protocol !== 'https:')) throw invalid('webhook', `'${input.webhook}' is not an http(s) URL.`);
    if (!input.secret || input.secret.length < 8) throw invalid('secret', `A webhook consumer needs a signing secret of at least 8 characters (--secret).`);
    target = input.webhook;
  } else {
    try {
      natsTarget(input.nats as string);
    } catch (error) {
      throw invalid('nats', (error as Error).message);
    }
    target = input.nats as string;
  }
  for (const machine of input.machines ?? []) {
    if (!machines.includes(machine)) throw invalid('machines', `No machine named '${machine}' is registered. Registered: ${machines.join(', ')}.`);
  }
  const list = (l: readonly string[] | undefined) => (l === undefined || l.length === 0 ? null : [...l]);
  const maxAttempts = input.maxAttempts ?? 10;
  if (!Number.isInteger(maxAttempts) || maxAttempts < 1 || maxAttempts > 1000) throw invalid('maxAttempts', `maxAttempts must be a whole number from 1 to 1000; got ${maxAttempts}.`);
  return {
    name,
    sink: input.webhook !== undefined ? 'webhook' : 'nats',
    target,
    secret: input.webhook !== undefined ? (input.secret as string) : null,
    machines: list(input.machines),
    events: list(input.events),
    states: list(input.states),
    withContext: input.withContext ?? false,
    maxAttempts,
  };
}

/** A consumer as `consumers list` and `GET /v1/consumers` show it: never its secret. */
export interface ConsumerView {
  readonly name: string;
  readonly sink: ConsumerStatus['sink'];
  readonly target: string | null;
  readonly machines: string[] | null;
  readonly events: string[] | null;
  readonly states: string[] | null;
  readonly withContext: boolean;
  readonly maxAttempts: number;
  readonly status: ConsumerStatus['status'];
  /** The cursor's transaction id: `rewind --to <position>` takes it. */
  readonly position: string;
  readonly behind: number;
  readonly lagSeconds: number;
  readonly delivered: number;
  readonly retried: number;
  readonly deadLettered: number;
  readonly deadLetters: number;
  readonly lastError: string | null;
  readonly lastDeliveredAt: string | null;
  readonly leaseOwner: string | null;
}

export function toConsumerView(c: ConsumerStatus): ConsumerView {
  const live = c.lease_until !== null && c.lease_owner !== null;
  return {
    name: c.name,
    sink: c.sink,
    target: c.target,
    machines: c.machines,
    events: c.events,
    states: c.states,
    withContext: c.with_context,
    maxAttempts: c.max_attempts,
    status: c.status,
    position: c.cursor_xid,
    behind: c.behind,
    lagSeconds: Math.round(c.lag_seconds * 1000) / 1000,
    delivered: c.delivered,
    retried: c.retried,
    deadLettered: c.dead_lettered,
    deadLetters: c.dead_letters,
    lastError: c.last_error,
    lastDeliveredAt: c.last_delivered_at === null ? null : new Date(c.last_delivered_at).toISOString(),
    leaseOwner: live ? c.lease_owner : null,
  };
}

/** Where `rewind --to` points: `beginning`, a position (digits, as `consumers list` shows it) or a time (ISO 8601). */
export function rewindTargetOf(to: string): RewindTarget {
  if (to === 'beginning') return 'beginning';
  if (/^\d+$/.test(to)) return { position: to };
  const time = Date.parse(to);
  if (Number.isNaN(time)) throw invalid('to', `'${to}' is neither a time (ISO 8601), a position (digits) nor 'beginning'.`);
  return { time: new Date(time) };
}
