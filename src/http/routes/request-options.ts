import type { FastifyRequest } from 'fastify';
import type { Caller } from '../auth.ts';

/** The Idempotency-Key header, if sent (the runtime checks its length and characters). */
export function idempotencyKeyOf(request: FastifyRequest): string | undefined {
  const value = request.headers['idempotency-key'];
  return Array.isArray(value) ? value.join(', ') : value;
}

/** Recorded as the transition's actor: the API key's name. */
export function actorOf(caller: Caller): string | undefined {
  return caller.name ?? undefined;
}
