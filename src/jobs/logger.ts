import { pino } from 'pino';

/** The part of a pino logger tollgate's processes use (pass your own pino instance, or a child). */
export interface ProcessLogger {
  error(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  info(obj: object, msg: string): void;
}

let fallback: ProcessLogger | undefined;

/** pino at `TOLLGATE_LOG_LEVEL` (default `info`), created on first use. */
export function defaultLogger(): ProcessLogger {
  fallback ??= pino({ name: 'tollgate', level: process.env.TOLLGATE_LOG_LEVEL ?? 'info' });
  return fallback;
}
