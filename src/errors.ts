/**
 * The one registry of tollgate's coded errors. Every error a caller can see has a stable code, an HTTP status
 * and a retry class; `docs/errors.md` lists the same codes (a test keeps the two in step). Codes are never reused.
 */
export const errorRegistry = {
  TG_UNKNOWN_MACHINE: { status: 404, retryable: false, title: 'Unknown machine' },
  TG_ENTITY_NOT_FOUND: { status: 404, retryable: false, title: 'Entity not found' },
  TG_ENTITY_EXISTS: { status: 409, retryable: false, title: 'Entity already exists' },
  TG_INVALID_EVENT: { status: 400, retryable: false, title: 'Invalid event' },
  TG_INVALID_INPUT: { status: 400, retryable: false, title: 'Invalid input' },
  TG_INVALID_ARGUMENT: { status: 400, retryable: false, title: 'Invalid argument' },
  TG_ILLEGAL_TRANSITION: { status: 409, retryable: false, title: 'Illegal transition' },
  TG_GUARD_REJECTED: { status: 409, retryable: false, title: 'Guard rejected the event' },
  TG_IDEMPOTENCY_KEY_REUSED: { status: 422, retryable: false, title: 'Idempotency key reused' },
  TG_VERSION_CONFLICT: { status: 409, retryable: true, title: 'Version conflict' },
  TG_TIMER_SETTLED: { status: 409, retryable: false, title: 'Timer no longer scheduled' },
  TG_MACHINE_VERSION_AHEAD: { status: 503, retryable: true, title: 'Entity written by a newer machine version' },
  TG_SNAPSHOT_INCOMPATIBLE: { status: 500, retryable: false, title: 'Snapshot incompatible with machine' },
  TG_MACHINE_UNSUPPORTED: { status: 500, retryable: false, title: 'Machine uses an unsupported feature' },
  TG_MACHINE_FAULT: { status: 422, retryable: false, title: 'Machine threw while evaluating the event' },
  TG_POLICY_DENIED: { status: 403, retryable: false, title: 'Denied by policy' },
  TG_INVALID_OPTIONS: { status: 500, retryable: false, title: 'Invalid options' },
  TG_DATA_DIR_LOCKED: { status: 503, retryable: false, title: 'Data directory locked' },
  TG_DATABASE_UNAVAILABLE: { status: 503, retryable: true, title: 'Database unavailable' },
  TG_CLOSED: { status: 503, retryable: false, title: 'Runtime closed' },
  TG_NO_TRANSPORT: { status: 503, retryable: false, title: 'No queue transport attached' },
  TG_EVENT_FAILED: { status: 503, retryable: true, title: 'Queued event failed' },
  TG_ENQUEUE_TIMEOUT: { status: 504, retryable: true, title: 'Queued event outcome not yet known' },
  TG_BAD_REQUEST: { status: 400, retryable: false, title: 'Bad request' },
  TG_UNAUTHENTICATED: { status: 401, retryable: false, title: 'Unauthenticated' },
  TG_FORBIDDEN: { status: 403, retryable: false, title: 'Forbidden' },
  TG_NOT_FOUND: { status: 404, retryable: false, title: 'Not found' },
  TG_PAYLOAD_TOO_LARGE: { status: 413, retryable: false, title: 'Payload too large' },
  TG_UNSUPPORTED_MEDIA_TYPE: { status: 415, retryable: false, title: 'Unsupported media type' },
  TG_RATE_LIMITED: { status: 429, retryable: true, title: 'Rate limited' },
  TG_NOT_READY: { status: 503, retryable: true, title: 'Not ready' },
  TG_INTERNAL: { status: 500, retryable: false, title: 'Internal error' },
  TG_MIGRATION_FAILED: { status: 500, retryable: false, title: 'Snapshot migration failed' },
  TG_TIMER_DELAY_OUT_OF_RANGE: { status: 422, retryable: false, title: 'Timer delay out of range' },
  TG_HEADERS_TOO_LARGE: { status: 431, retryable: false, title: 'Request headers too large' },
  TG_REQUEST_TIMEOUT: { status: 408, retryable: true, title: 'Request timeout' },
  TG_FROZEN: { status: 423, retryable: true, title: 'Frozen' },
  TG_POLICY_UNAVAILABLE: { status: 503, retryable: true, title: 'Policy unavailable' },
  TG_FREEZE_NOT_FOUND: { status: 404, retryable: false, title: 'Freeze not found' },
  TG_CONSUMER_NOT_FOUND: { status: 404, retryable: false, title: 'Feed consumer not found' },
  TG_CONSUMER_EXISTS: { status: 409, retryable: false, title: 'Feed consumer exists' },
  TG_OVERRIDE_REFUSED: { status: 409, retryable: false, title: 'Override refused' },
  TG_EFFECT_NOT_FOUND: { status: 404, retryable: false, title: 'Effect not found' },
  TG_EFFECT_NOT_FAILED: { status: 409, retryable: false, title: 'Effect not failed' },
  TG_WAIT_TIMEOUT: { status: 408, retryable: true, title: 'Entity did not reach the state in time' },
  TG_IMPORT_INVALID_RECORD: { status: 400, retryable: false, title: 'Import record invalid' },
  TG_IMPORT_INVALID_STATE: { status: 422, retryable: false, title: 'Imported state invalid' },
  TG_IMPORT_INVALID_CONTEXT: { status: 422, retryable: false, title: 'Imported context invalid' },
  TG_IMPORT_CONFLICT: { status: 409, retryable: false, title: 'Imported entity differs from the stored one' },
  TG_MACHINE_SHADOWED: { status: 409, retryable: false, title: 'Machine in shadow mode' },
  TG_MACHINE_ENFORCED: { status: 409, retryable: false, title: 'Machine in enforce mode' },
  TG_INVALID_OBSERVATION: { status: 400, retryable: false, title: 'Invalid observation' },
} as const satisfies Record<string, ErrorSpec>;

interface ErrorSpec {
  /** HTTP status the API answers with. */
  readonly status: number;
  /** Whether the same request may succeed if simply tried again later. */
  readonly retryable: boolean;
  /** Short human title (the problem+json `title`). */
  readonly title: string;
}

/** Every code tollgate can raise. */
export type TollgateErrorCode = keyof typeof errorRegistry;

/** Structured facts about an error: which machine, entity, state and event it concerns. */
export interface ErrorDetails {
  readonly machine?: string;
  readonly entityId?: string;
  readonly state?: string;
  readonly event?: string;
  readonly [key: string]: unknown;
}

/**
 * The error every tollgate API throws for a known condition. Branch on `code`, never on `message`.
 *
 * @example
 * try { await tg.send('subscription', 'sub-1', { type: 'RESUME' }); }
 * catch (e) { if (isTollgateError(e, 'TG_ILLEGAL_TRANSITION')) console.log(e.details.state); }
 */
export class TollgateError extends Error {
  override readonly name = 'TollgateError';
  readonly code: TollgateErrorCode;
  readonly status: number;
  readonly retryable: boolean;
  readonly details: ErrorDetails;

  constructor(code: TollgateErrorCode, message: string, details: ErrorDetails = {}, options?: { cause?: unknown }) {
    super(message, options);
    const spec = errorRegistry[code];
    this.code = code;
    this.status = spec.status;
    this.retryable = spec.retryable;
    this.details = details;
  }

  /** A plain JSON form, safe to log and to send to clients. */
  toJSON(): { code: TollgateErrorCode; message: string; status: number; retryable: boolean; details: ErrorDetails } {
    return { code: this.code, message: this.message, status: this.status, retryable: this.retryable, details: this.details };
  }
}

/** Narrows `error` to a TollgateError, optionally of one code. */
export function isTollgateError<C extends TollgateErrorCode>(
  error: unknown,
  code?: C,
): error is TollgateError & { code: C } {
  return error instanceof TollgateError && (code === undefined || error.code === code);
}

/** `subscription/sub-1`: how messages name an entity. */
export function entityRef(machine: string, entityId: string): string {
  return `${machine}/${entityId}`;
}
