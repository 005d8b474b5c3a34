import { isTollgateError } from '../errors.ts';
import { UsageError } from './args.ts';

/** The command's exit codes. */
export const exitCodes = { ok: 0, rejected: 1, usage: 2, unreachable: 3 } as const;

/** A problem+json answer of the API, as an error the CLI reports by its code. */
export class ProblemError extends Error {
  override readonly name = 'ProblemError';
  constructor(
    readonly code: string,
    readonly status: number,
    detail: string,
  ) {
    super(detail);
  }
}

/** A service (database, Redis, the API) that cannot be reached: exit 3. */
export class UnreachableError extends Error {
  override readonly name = 'UnreachableError';
}

// Codes that mean "a service is not there", not "your request was refused".
const unreachableCodes = new Set(['TG_DATABASE_UNAVAILABLE', 'TG_NOT_READY', 'TG_DATA_DIR_LOCKED', 'TG_CLOSED']);
const networkCodes = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EHOSTUNREACH', 'ECONNRESET', 'ETIMEDOUT', 'EAI_AGAIN', 'CONNECT_TIMEOUT', 'ENETUNREACH']);

/** Prints `error` as one line on stderr and returns the exit code it deserves. */
export function report(error: unknown, write: (line: string) => void = (line) => process.stderr.write(`${line}\n`)): number {
  const oneLine = (text: string) => text.replace(/\s*\n\s*/g, ' ').trim();
  if (error instanceof UsageError) {
    write(`tollgate: ${oneLine(error.message)}`);
    return exitCodes.usage;
  }
  if (error instanceof UnreachableError || isUnreachable(error)) {
    write(`tollgate: cannot reach a service: ${oneLine(describe(error))}`);
    return exitCodes.unreachable;
  }
  if (error instanceof ProblemError || isTollgateError(error)) {
    // A coded error whose cause is a refused connection (TG_DATABASE_UNAVAILABLE) is caught above.
    const code = error.code;
    write(`tollgate: ${code}: ${oneLine(error.message)}`);
    return unreachableCodes.has(code) ? exitCodes.unreachable : exitCodes.rejected;
  }
  write(`tollgate: ${oneLine(describe(error))}`);
  return exitCodes.rejected;
}

// The message plus the innermost cause's (`fetch failed` says nothing; `connect ECONNREFUSED ...` does).
function describe(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  let inner: unknown = error;
  for (let depth = 0; inner instanceof Error && inner.cause instanceof Error && depth < 5; depth++) inner = inner.cause;
  const detail = inner instanceof Error && inner !== error ? (inner.message || (inner as { code?: string }).code || '') : '';
  const message = error.message.replace(/\.$/, '');
  return detail && !message.includes(detail) ? `${message}: ${detail}` : message;
}

/** Whether the error (or a cause) is a refused or failed network connection. */
export function isUnreachable(error: unknown): boolean {
  for (let e: unknown = error, depth = 0; e && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && networkCodes.has(code)) return true;
    if (e instanceof AggregateError && e.errors.some(isUnreachable)) return true;
  }
  return false;
}
