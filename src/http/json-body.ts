import type { FastifyInstance } from 'fastify';
import { TollgateError } from '../errors.ts';

/** Deepest nesting of arrays and objects a body may have. */
export const maxJsonDepth = 64;

/**
 * Makes `application/json` the only body type (anything else is 415) and refuses, as TG_BAD_REQUEST, JSON that
 * Postgres cannot store or that would cost deep recursion later: U+0000 and unpaired surrogates (jsonb refuses
 * both, which would otherwise surface as a database error at commit) and nesting deeper than {@link maxJsonDepth}.
 * Prototype-poisoning keys (`__proto__`, `constructor.prototype`) are refused by fastify's own parser.
 */
export function registerJsonBody(app: FastifyInstance, bodyLimit: number): void {
  const parseJson = app.getDefaultJsonParser('error', 'error');
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('application/json', { parseAs: 'string', bodyLimit }, (request, body, done) => {
    parseJson(request, body as string, (error, value) => {
      if (error) return done(error, undefined);
      const problem = storableProblem(value);
      if (problem) return done(new TollgateError('TG_BAD_REQUEST', `The JSON body ${problem}.`), undefined);
      done(null, value);
    });
  });
}

// An unpaired surrogate: a high one not followed by a low one, or a low one not preceded by a high one.
// eslint-disable-next-line no-control-regex -- finding U+0000 is the point
const badText = /\u0000|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/** Why `value` cannot be accepted, or undefined. Iterative, so a hostile depth cannot overflow the stack. */
export function storableProblem(value: unknown): string | undefined {
  const stack: Array<{ value: unknown; depth: number }> = [{ value, depth: 0 }];
  while (stack.length > 0) {
    const { value: current, depth } = stack.pop() as { value: unknown; depth: number };
    if (typeof current === 'string') {
      if (badText.test(current)) return 'contains U+0000 or an unpaired surrogate, which cannot be stored';
      continue;
    }
    if (typeof current !== 'object' || current === null) continue;
    if (depth >= maxJsonDepth) return `is nested deeper than ${maxJsonDepth} levels`;
    for (const [key, child] of Object.entries(current)) {
      if (!Array.isArray(current) && badText.test(key)) return 'has a key with U+0000 or an unpaired surrogate';
      stack.push({ value: child, depth: depth + 1 });
    }
  }
  return undefined;
}
