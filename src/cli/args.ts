import { parseArgs, type ParseArgsConfig } from 'node:util';

/** A mistake in how the command was called: exit code 2, with the command's usage line. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

type Options = NonNullable<ParseArgsConfig['options']>;

/** What `parse` returns: flag values by name and the positionals. */
export interface Parsed<O extends Options> {
  readonly flags: { [K in keyof O]?: O[K]['type'] extends 'boolean' ? boolean : string };
  readonly positionals: string[];
}

/**
 * Parses `args` strictly (unknown flags are usage errors) and checks the number of positionals.
 *
 * @example
 * const { flags, positionals } = parse(args, { port: { type: 'string' } }, { min: 0, max: 0, usage: 'tollgate dev [--port N]' });
 */
export function parse<O extends Options>(
  args: string[],
  options: O,
  shape: { readonly min: number; readonly max: number; readonly usage: string },
): Parsed<O> {
  let result;
  try {
    result = parseArgs({ args, options: { ...options, help: { type: 'boolean', short: 'h' } }, allowPositionals: true, allowNegative: true, strict: true });
  } catch (error) {
    throw new UsageError(`${(error as Error).message.replace(/\. To specify a positional.*$/s, '')}. Usage: ${shape.usage}`);
  }
  const { positionals } = result;
  if (positionals.length < shape.min || positionals.length > shape.max) {
    throw new UsageError(`expected ${shape.min === shape.max ? shape.min : `${shape.min} to ${shape.max}`} argument(s), got ${positionals.length}. Usage: ${shape.usage}`);
  }
  return { flags: result.values as Parsed<O>['flags'], positionals };
}

/** Whether `--help` / `-h` was given (checked before parsing, so `--help` works with missing arguments). */
export function wantsHelp(args: readonly string[]): boolean {
  return args.includes('--help') || args.includes('-h');
}

/** A positive integer flag, or `fallback`. */
export function intFlag(value: string | undefined, name: string, fallback: number, min = 1, max = 2 ** 31 - 1): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < min || n > max) throw new UsageError(`--${name} must be an integer from ${min} to ${max}, got '${value}'.`);
  return n;
}

/** Parses a JSON argument, as a usage error when it is not JSON. */
export function jsonArg(value: string, what: string): unknown {
  try {
    return JSON.parse(value);
  } catch (error) {
    throw new UsageError(`${what} is not valid JSON (${(error as Error).message}). Quote it for the shell: '{"type":"CANCEL"}'.`);
  }
}
