import { TollgateError } from '../errors.ts';

const maxIdLength = 200;

function hasControlCharacter(value: string): boolean {
  for (let i = 0; i < value.length; i++) {
    const code = value.charCodeAt(i);
    if (code < 0x20 || code === 0x7f) return true;
  }
  return false;
}

/** Entity ids and idempotency keys: non-empty strings of at most 200 characters, no control characters. */
export function checkIdentifier(kind: 'entity id' | 'idempotency key' | 'actor', value: unknown, machine: string): string {
  if (typeof value !== 'string' || value.length === 0 || value.length > maxIdLength || hasControlCharacter(value)) {
    const shown = typeof value === 'string' ? `'${value.slice(0, 40)}${value.length > 40 ? '…' : ''}' (${value.length} characters)` : typeof value;
    throw new TollgateError(
      'TG_INVALID_ARGUMENT',
      `The ${kind} for machine '${machine}' must be a string of 1 to ${maxIdLength} characters without control characters; got ${shown}.`,
      { machine, argument: kind },
    );
  }
  return value;
}
