import type { FastifyInstance } from 'fastify';
import { TollgateError } from '../errors.ts';
import type { Tollgate } from '../runtime/create-tollgate.ts';
import type { ApiKeyEntry } from './auth.ts';
import { registerApi, type ApiOptions } from './server.ts';

/** Options of the {@link tollgateApi} plugin. */
export interface TollgateApiOptions extends Omit<ApiOptions, 'auth'> {
  /** The runtime whose API this is. The app owns it: close it after the app. Required. */
  readonly tollgate: Tollgate;
  /**
   * Who may call: the API keys (`parseApiKeys(...)`, entries as `tollgate keys new` prints them), or `'open'`
   * for no keys, in which case only loopback clients are answered. Required.
   */
  readonly keys: readonly ApiKeyEntry[] | 'open';
  /** Where the routes are mounted (fastify's own register option), e.g. `/tollgate`. Default: the root. */
  readonly prefix?: string;
}

/**
 * tollgate's HTTP API as a Fastify plugin, for an app that serves its own routes beside it. Encapsulated: its
 * error handler (problem+json), JSON body rules and authentication apply to its routes only.
 *
 * @example
 * import Fastify from 'fastify';
 * import { tollgateApi, parseApiKeys } from 'tollgate/http';
 * const app = Fastify();
 * await app.register(tollgateApi, { tollgate: tg, keys: parseApiKeys(process.env.TOLLGATE_API_KEYS!, 'TOLLGATE_API_KEYS'), prefix: '/tollgate' });
 */
export async function tollgateApi(app: FastifyInstance, options: TollgateApiOptions): Promise<void> {
  const { tollgate, keys, prefix: _prefix, ...rest } = options;
  if (tollgate === null || typeof tollgate !== 'object' || typeof tollgate.send !== 'function') {
    throw new TollgateError('TG_INVALID_OPTIONS', "tollgateApi: option 'tollgate' is required: the runtime createTollgate returned.", { field: 'tollgate' });
  }
  if (keys !== 'open' && !Array.isArray(keys)) {
    throw new TollgateError('TG_INVALID_OPTIONS', "tollgateApi: option 'keys' is required: the API keys (parseApiKeys), or 'open' for loopback clients only.", { field: 'keys' });
  }
  await registerApi(app, tollgate, { ...rest, auth: keys === 'open' ? { mode: 'open' } : { mode: 'keys', keys } }, 'tollgateApi');
}
