/**
 * `tollgate/http`: the HTTP API, as a Fastify plugin to mount in an app ({@link tollgateApi}) or as a whole server
 * ({@link buildServer}), and the API-key helpers both take.
 */
export { tollgateApi } from './plugin.ts';
export type { TollgateApiOptions } from './plugin.ts';
export { buildServer } from './server.ts';
export type { ServerOptions } from './server.ts';
export { parseApiKeys, hashApiKey, generateApiKey, scopes } from './auth.ts';
export type { ApiKeyEntry, AuthOptions, Scope } from './auth.ts';
export type { RateLimitOptions } from './rate-limit.ts';
export type { ReadinessCheck } from './routes/health.ts';
